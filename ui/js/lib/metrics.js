/**
 * The metric catalogue (`GET /api/metrics`, from `domain/metrics.py`): each metric's label,
 * direction, unit and display format. `loadMetrics()` runs once before the first page renders;
 * views then ask for an entry, a label or a formatted value synchronously. A name outside the
 * catalogue reads as itself, without direction, as a decimal (as the API does).
 */
import { system } from "./api.js";
import { formatDelta, formatValue } from "./format.js";

let entries = new Map();
let catalogue = { primary: "recall_at_100", recall_ks: [10, 50, 100] };
let loading = null;

export function loadMetrics() {
  loading ||= system.metrics().then((served) => {
    catalogue = served;
    entries = new Map(served.metrics.map((m) => [m.name, m]));
  }).catch((error) => {
    loading = null;
    throw error;
  });
  return loading;
}

export function metric(name) {
  return entries.get(name) || { name, label: name, direction: "none", unit: "number", format: "decimal", digits: 4, group: "protocol", source: "final", is_rate: false };
}

export const metricLabel = (name) => metric(name).label;
export const formatMetric = (name, value) => formatValue(metric(name), value);
export const formatMetricDelta = (name, delta) => formatDelta(metric(name), delta);

/** Catalogue entries in display order, filtered by `{ source, group }` when given. */
export function metricsWhere({ source, group } = {}) {
  return [...entries.values()].filter((m) => (!source || m.source === source) && (!group || [].concat(group).includes(m.group)));
}

/** The ks of recall@k and the primary metric. */
export const recallKs = () => catalogue.recall_ks;
export const primaryMetric = () => catalogue.primary;

/** A metric's value in a metrics report: the one place the catalogue's `source` says it lives (last epoch for history). */
export function reportValue(report, name) {
  const { source } = metric(name);
  if (source === "history") {
    const rows = Array.isArray(report?.history) ? report.history : [];
    return rows.length ? rows[rows.length - 1][name] : undefined;
  }
  return report?.[source]?.[name];
}

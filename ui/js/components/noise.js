/** Noise bands in the UI: mean ± std of a seed group, the per-metric "vs previous best" table (decision 065). */
import { h, mount } from "../lib/dom.js";
import { points } from "../lib/format.js";
import { formatMetric, formatMetricDelta, metric, metricLabel, primaryMetric } from "../lib/metrics.js";

/** "34.2% ± 0.8 pp" (rates: std in percentage points), or the value alone without a std. */
export function formatSpread(name, spread) {
  if (!spread) return "—";
  const spec = metric(name);
  if (spread.std == null) return formatMetric(name, spread.mean);
  const std = spec.format === "percent" ? points(spread.std * 100, spec.digits).slice(1) : formatMetric(name, spread.std);
  return `${formatMetric(name, spread.mean)} ± ${std}`;
}

export function seedGroupId(experiment) {
  const s = experiment.sweep;
  return s && s.repeats > 1 ? `${s.sweep_id}/${s.cell_key}` : null;
}

/** The card's seed-group line, filled by `fillSeedGroups` once the groups are known. */
export function seedGroupSlot(experiment) {
  const group = seedGroupId(experiment);
  if (!group) return null;
  const s = experiment.sweep;
  return h("div", { class: "seed-group small", dataset: { seedGroup: group }, title: "Repeats of one configuration on the same split, different initialisation and shuffling" },
    h("span", { class: "badge seed-badge" }, `seed ${s.repeat + 1}/${s.repeats}`),
    h("span", { class: "seed-stats muted" }, " seed group: waiting for completed repeats"));
}

/** Experiment id → `{text: "± 0.8 pp", title}` for `metricName` over each completed seed group (the leaderboard's band). */
export function seedGroupBands(groups, metricName) {
  const bands = new Map();
  const spec = metric(metricName);
  for (const group of groups) {
    const spread = group.metrics?.[metricName];
    if (!spread || spread.std == null) continue;
    const std = spec.format === "percent" ? points(spread.std * 100, spec.digits).slice(1) : formatMetric(metricName, spread.std);
    const band = { text: `± ${std}`, title: `Seed group of ${group.repeats} (Exp #${group.numbers.join(", #")}): ${formatSpread(metricName, spread)} over ${spread.n} completed repeats` };
    for (const id of group.experiment_ids) bands.set(id, band);
  }
  return bands;
}

/** Fill every seed-group slot under `root` from `/api/seed-groups` items. */
export function fillSeedGroups(root, groups) {
  const primary = primaryMetric();
  const byId = new Map(groups.map((g) => [g.id, g]));
  for (const slot of root.querySelectorAll("[data-seed-group]")) {
    const group = byId.get(slot.dataset.seedGroup);
    const stats = slot.querySelector(".seed-stats");
    if (!group || !stats) continue;
    const spread = group.metrics?.[primary];
    const text = spread
      ? ` ${metricLabel(primary)} ${formatSpread(primary, spread)} over ${spread.n} of ${group.repeats} repeats (Exp #${group.numbers.join(", #")})`
      : ` seed group of ${group.repeats}: ${group.completed} completed`;
    if (stats.textContent !== text) stats.textContent = text;
    slot.classList.toggle("seed-group-done", group.completed === group.repeats);
  }
}

const VERDICT_CLASS = { better: "delta-up", worse: "delta-down", within_noise: "muted", unknown: "muted" };

/** The noise table of `/api/experiments/{id}/noise`. */
export function noiseTable(table) {
  if (!table) return null;
  if (!table.rows?.length) return h("p", { class: "muted small" }, table.summary);
  const pp = (v) => points(v, 1, { unit: false });
  // Rates' differences are in percentage points; any other metric's (the loss) in its own units.
  const diff = (r, v) => (metric(r.metric).is_rate ? pp(v) : formatMetricDelta(r.metric, v));
  return h("div", { class: "noise-table" },
    h("p", { class: "small" }, `vs the best other run of this protocol, Exp #${table.previous.number}: differences (recalls in percentage points) with their 95% interval`),
    h("table", { class: "compact" },
      h("thead", {}, h("tr", {}, ["Metric", "This run", `Exp #${table.previous.number}`, "Δ (pp)", "95% interval", "Verdict"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, table.rows.map((r) => h("tr", { dataset: { metric: r.metric, verdict: r.verdict } },
        h("th", { scope: "row" }, r.label), h("td", {}, formatMetric(r.metric, r.value)), h("td", {}, formatMetric(r.metric, r.previous)),
        h("td", { class: VERDICT_CLASS[r.verdict] }, diff(r, r.difference_pp)),
        h("td", { class: "mono small", title: r.interval_source }, r.low_pp == null ? "—" : `[${diff(r, r.low_pp)}, ${diff(r, r.high_pp)}]`),
        h("td", { class: VERDICT_CLASS[r.verdict] }, r.verdict_text))))),
    h("p", { class: "small muted" }, `Interval from: ${[...new Set(table.rows.map((r) => SOURCE_TEXT[r.interval_source] || r.interval_source))].join("; ")}.`));
}

const SOURCE_TEXT = {
  "paired bootstrap over test buyers": "a paired bootstrap over the test buyers both runs share (2,000 resamples)",
  "seed group means (Welch)": "the two runs' seed groups (Δ is the difference of the group means, Welch's interval)",
  "repeats of one seed group": "the spread of their seed group (both runs repeat one configuration)",
  none: "nothing: neither per-buyer hits nor seed groups, so no verdict",
};

/** Replace `host`'s content with the noise table of `experimentId` (nothing when it has none). */
export async function loadNoiseTable(host, experimentId, api) {
  try {
    const table = await api.table(experimentId);
    mount(host, noiseTable(table));
  } catch (error) {
    mount(host, h("p", { class: "muted small" }, `No noise estimate: ${error.message}`));
  }
}

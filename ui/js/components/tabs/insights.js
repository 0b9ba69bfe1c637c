/** Data Insights tab: statistics per split with small histograms and bars, the schema, vocabularies and OOV rates. */
import { experiments } from "../../lib/api.js";
import { h, mount } from "../../lib/dom.js";
import { int, isNum, pct, percentText, plain } from "../../lib/format.js";
import { vocabularies } from "../../lib/results.js";
import { empty, errorState, loading } from "../../lib/states.js";
import { isActive } from "../../lib/status.js";

export function createTab(panel) {
  let lastKey = null;
  let split = null;
  let data = null;

  async function load(experiment) {
    const stats = experiment.stages?.stats?.status;
    const key = `${experiment.status}|${stats}|${experiment.stages?.schema?.status}|${experiment.results ? 1 : 0}`;
    if (key === lastKey) return;
    lastKey = key;
    if (!data) mount(panel, loading("Loading statistics…"));
    try {
      data = await experiments.dataInsights(experiment.id);
      render(experiment);
    } catch (error) {
      mount(panel, errorState(error, () => { lastKey = null; load(experiment); }));
    }
  }

  function render(experiment) {
    const splits = data.statistics?.splits || [];
    if (!splits.some((s) => s.split === split)) split = splits[0]?.split ?? null;
    const current = splits.find((s) => s.split === split);
    const splitSelect = h("select", { id: "insights-split", "aria-label": "Split" }, splits.map((s) => h("option", { value: s.split, selected: s.split === split }, `${s.split} · ${int(s.num_examples)} examples`)));
    splitSelect.addEventListener("change", () => { split = splitSelect.value; render(experiment); });
    const reportLink = data.statistics
      ? h("a", { class: "button", href: data.report_url || experiments.statisticsReportUrl(experiment.id), target: "_blank", rel: "noopener", id: "statistics-report-link" }, "Open full statistics report ↗")
      : null;
    mount(panel,
      h("div", { class: "toolbar", style: { justifyContent: "space-between", marginBottom: "0.5rem" } },
        h("div", { class: "toolbar" }, splits.length ? [h("label", { for: "insights-split" }, "Split"), splitSelect] : null),
        reportLink),
      current ? statistics(current) : empty(isActive(experiment) ? "Statistics are not available yet." : "Statistics are not available.", data.missing?.statistics || (experiment.status === "running" || experiment.status === "submitting" || experiment.status === "pending" ? "They appear when the Stats stage finishes." : "This run produced no statistics.")),
      h("div", { class: "section-title" }, "Vocabularies"),
      vocabularyTable(experiment.results),
      h("div", { class: "section-title" }, "Schema"),
      data.schema?.features?.length ? schemaTable(data.schema) : empty(isActive(experiment) ? "The schema is not available yet." : "The schema is not available.", data.missing?.schema || "It appears when the Schema stage finishes."));
  }

  return { update: load };
}

function missingBar(percent) {
  const cls = percent > 20 ? "bad" : percent > 5 ? "warn" : "";
  return h("div", { class: "bar-cell", title: `${percentText(percent, 1)} missing` }, h("div", { class: ["bar", cls] }, h("span", { style: { width: `${Math.min(100, percent)}%` } })), h("span", { class: "num small" }, percentText(percent, 1)));
}

function histogram(buckets) {
  if (!buckets?.length) return h("span", { class: "muted" }, "—");
  const max = Math.max(...buckets.map((b) => b.count)) || 1;
  const label = `Histogram: ${buckets.length} buckets from ${plain(buckets[0].low)} to ${plain(buckets[buckets.length - 1].high)}`;
  return h("div", { class: "mini-hist", role: "img", "aria-label": label, title: label },
    buckets.map((b) => h("span", { style: { height: `${Math.max(3, (b.count / max) * 100)}%` }, title: `${plain(b.low)} – ${plain(b.high)}: ${int(b.count)}` })));
}

function topValues(values, total) {
  if (!values?.length) return h("span", { class: "muted" }, "—");
  return h("div", { class: "top-values" }, values.slice(0, 5).map((v) => {
    const share = total ? (v.count / total) * 100 : 0;
    return [h("span", { class: "v mono", title: v.value }, v.value), h("div", { class: "bar" }, h("span", { style: { width: `${Math.min(100, share)}%` } })), h("span", { class: "num" }, int(v.count))];
  }));
}

function statistics(s) {
  const numeric = s.numeric_features || [];
  const categorical = s.categorical_features || [];
  return [
    h("div", { class: "section-title" }, `Numeric features (${numeric.length})`),
    numeric.length ? h("div", { class: "table-wrap" }, h("table", { class: "stats-table", dataset: { kind: "numeric" } },
      h("thead", {}, h("tr", {}, ["Feature", "Count", "Missing", "Mean", "Std dev", "Zeros", "Min", "Median", "Max", "Distribution"].map((t) => h("th", {}, t)))),
      h("tbody", {}, numeric.map((f) => h("tr", {},
        h("td", { class: "mono" }, f.name), h("td", { class: "num" }, int(f.count)), h("td", {}, missingBar(f.missing_percent ?? 0)),
        h("td", { class: "num" }, plain(f.mean)), h("td", { class: "num" }, plain(f.std_dev)), h("td", { class: "num" }, percentText(f.zeros_percent ?? 0, 1)),
        h("td", { class: "num" }, plain(f.min)), h("td", { class: "num" }, plain(f.median)), h("td", { class: "num" }, plain(f.max)),
        h("td", {}, histogram(f.histogram))))))) : h("p", { class: "muted" }, "No numeric features."),
    h("div", { class: "section-title" }, `Categorical features (${categorical.length})`),
    categorical.length ? h("div", { class: "table-wrap" }, h("table", { class: "stats-table", dataset: { kind: "categorical" } },
      h("thead", {}, h("tr", {}, ["Feature", "Count", "Missing", "Unique", "Avg length", "Top values"].map((t) => h("th", {}, t)))),
      h("tbody", {}, categorical.map((f) => h("tr", {},
        h("td", { class: "mono" }, f.name), h("td", { class: "num" }, int(f.count)), h("td", {}, missingBar(f.missing_percent ?? 0)),
        h("td", { class: "num" }, int(f.unique)), h("td", { class: "num" }, plain(f.avg_length, 3)),
        h("td", { style: { minWidth: "260px" } }, topValues(f.top_values, f.count))))))) : h("p", { class: "muted" }, "No categorical features."),
  ];
}

function vocabularyTable(results) {
  const rows = vocabularies(results);
  if (!rows.length) return empty("Vocabulary sizes are not available.", "They are reported with the results of a completed run.");
  return h("div", { class: "table-wrap" }, h("table", { class: "vocab-table" },
    h("thead", {}, h("tr", {}, ["Feature", "Tower", "Vocabulary size", "OOV rate (eval)", "Status"].map((t) => h("th", {}, t)))),
    h("tbody", {}, rows.map((r) => {
      const oov = r.oov_rate;
      const status = !isNum(oov) ? ["—", ""] : oov > 0.2 ? ["✗ High OOV", "delta-down"] : oov > 0.05 ? ["⚠ Check", ""] : ["✓ Good", "delta-up"];
      return h("tr", {}, h("td", { class: "mono" }, r.feature), h("td", {}, r.tower || "—"), h("td", { class: "num" }, int(r.size)), h("td", { class: "num" }, pct(oov, 1)), h("td", { class: status[1] }, status[0]));
    }))));
}

/** A readable domain: its values, its range or its name; the proto's field name (`int_domain`) is never shown. */
function domainText(domain) {
  if (!domain) return "—";
  if (domain.values?.length) return `${domain.values.length} values: ${domain.values.slice(0, 6).join(", ")}${domain.values.length > 6 ? ", …" : ""}`;
  if (isNum(domain.min) && isNum(domain.max)) return `${plain(domain.min)} … ${plain(domain.max)}`;
  if (isNum(domain.min)) return `≥ ${plain(domain.min)}`;
  if (isNum(domain.max)) return `≤ ${plain(domain.max)}`;
  if (domain.name) return domain.name;
  return domain.kind === "bool_domain" ? "true / false" : "—";
}

function schemaTable(schema) {
  return h("div", { class: "table-wrap", style: { maxHeight: "360px" } }, h("table", { class: "schema-table" },
    h("thead", {}, h("tr", {}, ["Feature", "Type", "Presence", "Required", "Domain"].map((t) => h("th", {}, t)))),
    h("tbody", {}, schema.features.map((f) => h("tr", {},
      h("td", { class: "mono" }, f.name), h("td", {}, f.type), h("td", {}, f.presence), h("td", {}, f.required ? "Yes" : "No"), h("td", { class: "small" }, domainText(f.domain)))))));
}

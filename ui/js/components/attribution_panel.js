/** The dashboard's attribution panel: which configuration choice moved the metric, by how much beyond noise (decision 068). */
import { noise } from "../lib/decisions_api.js";
import { h, mount } from "../lib/dom.js";
import { field, select, setOptions } from "../lib/forms.js";
import { pct, points } from "../lib/format.js";
import { formatMetric, metricLabel, primaryMetric } from "../lib/metrics.js";
import { empty, errorState, loading } from "../lib/states.js";

const pp = (v) => points(v, 1, { unit: false });

function valueList(metric, p) {
  return h("div", { class: "values" }, p.values.map((v) => h("span", { class: "nowrap", title: v.low == null ? `one run` : `95% interval ${formatMetric(metric, v.low)} – ${formatMetric(metric, v.high)}` },
    h("span", { class: "mono" }, v.value), ": ", h("strong", {}, formatMetric(metric, v.mean)),
    v.low == null ? h("span", { class: "muted" }, " (n=1)") : h("span", { class: "muted" }, ` [${formatMetric(metric, v.low)}, ${formatMetric(metric, v.high)}] n=${v.n}`))));
}

export function attributionTable(data) {
  if (!data.parameters.length) return empty("Nothing to attribute yet.", "Attribution needs completed runs of one protocol that differ in a configuration choice (a sweep makes them).");
  const unit = data.is_rate ? "pp" : "";
  return h("div", { class: "table-wrap", style: { overflowX: "auto" } }, h("table", { class: "attribution", id: "attribution-table" },
    h("thead", {}, h("tr", {}, ["Parameter", "Share of variance", `Effect (best − worst${unit ? `, ${unit}` : ""})`, "Beyond noise?", "Mean per value [95% interval]"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, data.parameters.map((p) => h("tr", { dataset: { parameter: p.parameter } },
      h("th", { scope: "row" }, p.label, p.confounded_with.length ? h("div", { class: "small muted confounded" }, `changed together with ${p.confounded_with.join(", ")}: one effect`) : null),
      h("td", { class: "nowrap" }, h("span", { class: "attribution-bar", style: { width: `${Math.max(2, p.share_of_variance * 120)}px` } }), ` ${pct(p.share_of_variance, 0)}`),
      h("td", { class: "nowrap" }, `${data.is_rate ? pp(p.effect_pp) : formatMetric(data.metric, p.effect)}`,
        h("div", { class: "small muted" }, `${p.best_value} over ${p.worst_value}`),
        p.effect_low_pp == null ? null : h("div", { class: "small muted mono" }, `[${pp(p.effect_low_pp)}, ${pp(p.effect_high_pp)}]`)),
      h("td", { class: p.beyond_noise ? "delta-up" : "muted" }, p.beyond_noise == null ? "no repeats" : p.beyond_noise ? "yes" : "within noise"),
      h("td", {}, valueList(data.metric, p)))))));
}

/** The panel; `scope()` gives the dashboard's `{dataset_id}`. Returns `{element, load}`. */
export function attributionPanel(scope) {
  const primary = primaryMetric();
  const metricSelect = select([[primary, metricLabel(primary)]], { id: "attribution-metric" });
  const protocolSelect = select([], { id: "attribution-protocol" });
  const host = h("div", { id: "attribution" });
  const element = h("section", { class: "panel", "aria-labelledby": "attr-title", id: "attribution-panel" },
    h("header", {}, h("h2", { id: "attr-title" }, "What helped? Attribution"),
      h("div", { class: "inline" }, field("Metric", metricSelect), field("Protocol", protocolSelect))),
    h("p", { class: "small muted" }, "Across the completed runs of one protocol (same data, sample and split): for each configuration choice, the mean per value, its share of the metric's variance (η²), and whether the best value beats the worst beyond run-to-run noise (Welch 95% interval over repeats)."),
    host);

  /** `fresh`: the scope changed, so the protocol is chosen again (the most recent run's). */
  async function load(fresh = false) {
    if (fresh) setOptions(protocolSelect, []);
    mount(host, loading("Attributing…"));
    try {
      const data = await noise.attribution({ metric: metricSelect.value, protocol: protocolSelect.value || undefined, ...scope() });
      setOptions(protocolSelect, data.protocols.map((p) => [p.key, `${p.label} (${p.runs} runs)`]), data.protocol);
      mount(host, h("p", { class: "small" }, `${data.runs} completed runs of this protocol.`), attributionTable(data));
    } catch (error) {
      mount(host, errorState(error, () => load(true)));
    }
  }
  metricSelect.addEventListener("change", () => load());
  protocolSelect.addEventListener("change", () => load());
  return { element, load, metricSelect };
}

/** Overview tab: status and stages, results against the popularity baseline and the previous best, configuration, parameters, failure. */
import { h, mount } from "../../lib/dom.js";
import { dash, dateTime, duration, int, isNum, num, pct, secondsBetween, usd } from "../../lib/format.js";
import { baselineRecall, flatten, isRate, metricLabel, protocol, recall, RECALL_KS, testLoss } from "../../lib/results.js";
import { STAGES } from "../../lib/status.js";
import { crossLabel, featureLabel, splitLabel, towerLabel } from "../labels.js";
import { progressBar } from "../progress_bar.js";

export function createTab(panel) {
  return {
    update(experiment) {
      mount(panel, overview(experiment));
    },
  };
}

function overview(e) {
  return [
    h("div", { class: "section-title" }, "Progress"),
    progressBar(e),
    stageTimes(e),
    e.error ? failure(e.error) : null,
    e.status === "cancelled" ? h("div", { class: "notice warn" }, "This experiment was cancelled; its build or pipeline was stopped.") : null,
    e.results ? resultsBlock(e) : h("div", { class: "section-title" }, "Results"),
    e.results ? null : h("div", { class: "state" }, e.status === "completed" ? "The run finished without results." : "Results appear here when the run completes."),
    h("div", { class: "grid-2" }, h("div", {}, h("div", { class: "section-title" }, "Configuration"), configuration(e)), h("div", {}, h("div", { class: "section-title" }, "Parameters"), parameters(e))),
  ];
}

function stageTimes(e) {
  const total = secondsBetween(e.started_at || e.created_at, e.finished_at);
  const estimate = e.estimate;
  return h("dl", { class: "kv", style: { marginTop: "0.75rem" } },
    h("dt", {}, "Created"), h("dd", {}, dateTime(e.created_at)),
    h("dt", {}, "Started / finished"), h("dd", {}, `${dateTime(e.started_at)} → ${dateTime(e.finished_at)}`),
    h("dt", {}, "Duration"), h("dd", {}, total != null ? duration(total) : "—", estimate ? h("span", { class: "muted" }, ` (estimated ~${duration(estimate.duration_s)} on ${estimate.hardware_tier}, ~${usd(estimate.cost_usd)})`) : null),
    h("dt", {}, "Stage times"), h("dd", {}, STAGES.map((s) => {
      const st = e.stages?.[s.key];
      const took = st?.started_at && st?.finished_at ? secondsBetween(st.started_at, st.finished_at) : null;
      return took != null ? `${s.label} ${duration(took)}${st.cached ? " (cached)" : ""}` : null;
    }).filter(Boolean).join(" · ") || "—"),
  );
}

function failure(error) {
  return h("div", { class: "error-box", role: "alert", style: { marginTop: "1rem" } },
    h("h3", {}, `✗ ${error.title}`),
    error.stage ? h("p", { class: "small muted" }, `Failed in stage ${error.stage} · ${error.code}`) : h("p", { class: "small muted" }, error.code),
    h("p", {}, h("strong", {}, "How to fix: "), error.suggestion),
    error.excerpt ? h("details", {}, h("summary", {}, "Raw error details"), h("pre", {}, error.excerpt)) : null);
}

function resultsBlock(e) {
  const r = e.results;
  const tiles = RECALL_KS.map((k) => {
    const value = recall(r, k);
    const base = baselineRecall(r, k);
    const beats = isNum(value) && isNum(base) ? value - base : null;
    return h("div", { class: "tile", dataset: { metric: `recall_at_${k}` } },
      h("div", { class: "label" }, `Recall@${k}`),
      h("div", { class: "value" }, pct(value)),
      h("div", { class: "sub" }, "popularity ", pct(base),
        beats != null ? h("span", { class: beats >= 0 ? "delta-up" : "delta-down" }, ` (${beats >= 0 ? "+" : "−"}${Math.abs(beats * 100).toFixed(1)} pts)`) : null));
  });
  tiles.push(h("div", { class: "tile" }, h("div", { class: "label" }, "Test loss"), h("div", { class: "value" }, num(testLoss(r), 4))));
  const comparison = e.comparison;
  const proto = protocol(r);
  return [
    h("div", { class: "section-title" }, "Results"),
    h("div", { class: "tiles" }, tiles),
    comparison?.summary ? h("p", { class: comparison.improved ? "delta-up" : comparison.delta_points < 0 ? "delta-down" : "muted", style: { marginTop: "0.6rem" } },
      comparison.summary, isNum(comparison.previous_best) ? h("span", { class: "muted" }, ` (Recall@100 was ${pct(comparison.previous_best)})`) : null) : null,
    proto ? protocolLine(proto, e) : h("p", { class: "small muted" }, `Split: ${splitLabel(e.parameters?.split)}.`),
    allMetrics(r),
  ];
}

function protocolLine(p, e) {
  if (typeof p === "string") return h("p", { class: "small muted" }, p);
  const parts = [
    `Split: ${p.split_strategy ? p.split_strategy : splitLabel(e.parameters?.split)}`,
    isNum(p.corpus_size) ? `ranked against all ${int(p.corpus_size)} candidates` : null,
    p.exclude_seen !== undefined || p.excluding_seen !== undefined ? ((p.exclude_seen ?? p.excluding_seen) ? "items the buyer already has in training excluded" : "items seen in training included") : null,
    isNum(p.test_queries) ? `${int(p.test_queries)} test queries` : null,
    p.description || null,
  ].filter(Boolean);
  return h("p", { class: "small muted", style: { marginTop: "0.4rem" } }, `Protocol — ${parts.join(" · ")}.`);
}

function allMetrics(results) {
  const rows = flatten(results).filter(([name]) => !/mlflow|run_id/.test(name));
  if (!rows.length) return null;
  return h("details", { style: { marginTop: "0.4rem" } },
    h("summary", {}, `All ${rows.length} result values`),
    h("div", { class: "table-wrap", style: { maxHeight: "280px", marginTop: "0.4rem" } },
      h("table", {}, h("tbody", {}, rows.map(([name, value]) => h("tr", {}, h("td", {}, metricLabel(name)), h("td", { class: "mono muted small" }, name), h("td", { class: "num" }, isRate(name) && value <= 1 ? pct(value, 2) : num(value))))))));
}

function configuration(e) {
  const d = e.dataset_snapshot || {};
  const f = e.feature_config_snapshot || {};
  const m = e.model_config_snapshot || {};
  return h("dl", { class: "kv" },
    h("dt", {}, "Dataset"), h("dd", {}, `${dash(d.name)} · ${int(d.row_count)} rows`),
    h("dt", {}, "Feature config"), h("dd", {}, dash(f.name)),
    h("dt", {}, "Buyer features"), h("dd", { class: "mono small" }, (f.query_features || []).map(featureLabel).join(", ") || "—"),
    h("dt", {}, "Product features"), h("dd", { class: "mono small" }, (f.candidate_features || []).map(featureLabel).join(", ") || "—"),
    h("dt", {}, "Crosses"), h("dd", { class: "mono small" }, (f.cross_features || []).map(crossLabel).join(", ") || "none"),
    h("dt", {}, "Model config"), h("dd", {}, dash(m.name)),
    h("dt", {}, "Towers"), h("dd", { class: "mono small" }, `query ${towerLabel(m.query_tower_layers)} · candidate ${towerLabel(m.candidate_tower_layers)}${m.output_dim ? ` · out ${m.output_dim}` : ""}`),
    h("dt", {}, "Optimiser"), h("dd", {}, `${dash(m.optimizer)}, L2 ${dash(m.l2_regularization)}, ${dash(m.activation)}, sampling-bias correction ${m.sampling_bias_correction ? "on" : "off"}`));
}

function parameters(e) {
  const p = e.parameters || {};
  return h("dl", { class: "kv" },
    h("dt", {}, "Data sample"), h("dd", {}, p.sample_percent != null ? `${p.sample_percent}%` : "—"),
    h("dt", {}, "Split"), h("dd", {}, splitLabel(p.split)),
    h("dt", {}, "Epochs"), h("dd", {}, dash(p.epochs)),
    h("dt", {}, "Batch size"), h("dd", {}, dash(p.batch_size)),
    h("dt", {}, "Learning rate"), h("dd", {}, dash(p.learning_rate)),
    h("dt", {}, "Hardware"), h("dd", { style: { textTransform: "capitalize" } }, dash(p.hardware_tier)),
    h("dt", {}, "Seed"), h("dd", {}, dash(p.seed)),
    e.description ? [h("dt", {}, "Description"), h("dd", {}, e.description)] : null);
}

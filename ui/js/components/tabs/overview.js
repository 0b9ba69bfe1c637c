/** Overview tab: status and stages, duration and cost against the estimate, results against the popularity baseline
 * and the previous best, the run's warnings, configuration, parameters, failure. */
import { h, mount } from "../../lib/dom.js";
import { estimateOutcome, outcomeText } from "../../lib/estimates.js";
import { dash, dateTime, duration, int, isNum, pct, secondsBetween, usd } from "../../lib/format.js";
import { formatMetric, formatMetricDelta, metricLabel, metricsWhere, recallKs, reportValue } from "../../lib/metrics.js";
import { baselineRecall, EXCLUDING, protocol, randomRecall, recall } from "../../lib/results.js";
import { STAGES } from "../../lib/status.js";
import { crossLabel, featureLabel, splitLabel, towerLabel } from "../labels.js";
import { baselineVerdict, launchCheckSection, warningItem } from "../launch_warnings.js";
import { isFullTraining } from "../full_training.js";
import { loadNoiseTable } from "../noise.js";
import { noise } from "../../lib/decisions_api.js";
import { experiments } from "../../lib/api.js";
import { progressBar } from "../progress_bar.js";

export function createTab(panel) {
  const noiseHost = h("div", { id: "noise-table" });
  const costHost = h("span", { class: "cost" });
  let noiseFor = null;
  let costFor = null;
  return {
    update(experiment) {
      if (experiment.status === "completed" && noiseFor !== experiment.id) {
        noiseFor = experiment.id;
        loadNoiseTable(noiseHost, experiment.id, noise);
      }
      if (experiment.estimate && costFor !== `${experiment.id}/${experiment.status}`) {
        costFor = `${experiment.id}/${experiment.status}`;
        loadCost(costHost, experiment);
      }
      mount(panel, overview(experiment, noiseHost, costHost));
    },
  };
}

/** The cost next to the estimate: once the run completed, its measured stage times priced as the estimate
 * priced its own (`GET /api/experiments/{id}/estimate`); a local run costs nothing. */
async function loadCost(host, e) {
  const estimated = e.estimate.cost_usd;
  const local = e.estimate.target === "local";
  mount(host, `cost: estimated ~${usd(estimated)}`);
  if (e.status !== "completed") return;
  try {
    const { outcome } = await experiments.estimateOutcome(e.id);
    if (!outcome) return;
    mount(host, `cost ${usd(outcome.actual_cost_usd)}`, h("span", { class: "muted" }, local
      ? ` (local run; estimated ~${usd(outcome.estimated_cost_usd)})`
      : ` (the measured stage times at list prices; estimated ~${usd(outcome.estimated_cost_usd)})`));
  } catch (error) {
    mount(host, `cost: estimated ~${usd(estimated)}`, h("span", { class: "muted" }, ` (no measured cost: ${error.message})`));
  }
}

function overview(e, noiseHost, costHost) {
  return [
    h("div", { class: "section-title" }, "Progress"),
    progressBar(e),
    stageTimes(e, costHost),
    e.error ? failure(e.error) : null,
    e.status === "cancelled" ? h("div", { class: "notice warn" }, "This experiment was cancelled; its build or pipeline was stopped.") : null,
    e.results ? resultsBlock(e) : h("div", { class: "section-title" }, "Results"),
    e.status === "completed" ? h("div", {}, h("div", { class: "section-title" }, "vs previous best: against the best other run of this protocol, beyond noise?"), noiseHost) : null,
    e.results ? null : h("div", { class: "state" }, e.status === "completed" ? "The run finished without results." : "Results appear here when the run completes."),
    warningsSection(e),
    launchCheckSection(e, { listed: true }),
    h("div", { class: "grid-2" }, h("div", {}, h("div", { class: "section-title" }, "Configuration"), configuration(e)), h("div", {}, h("div", { class: "section-title" }, "Parameters"), parameters(e))),
  ];
}

function stageTimes(e, costHost) {
  const total = secondsBetween(e.started_at || e.created_at, e.finished_at);
  const estimate = e.estimate;
  const outcome = estimateOutcome(e);
  return h("dl", { class: "kv", style: { marginTop: "0.75rem" } },
    h("dt", {}, "Created"), h("dd", {}, dateTime(e.created_at)),
    h("dt", {}, "Started / finished"), h("dd", {}, `${dateTime(e.started_at)} → ${dateTime(e.finished_at)}`),
    h("dt", {}, "Duration"), h("dd", { id: "duration-vs-estimate" }, total != null ? duration(total) : "—", estimate ? h("span", { class: "muted" }, outcome
      ? ` (${outcomeText(outcome)} on ${estimate.hardware_tier})`
      : ` (estimated ~${duration(estimate.duration_s)} on ${estimate.hardware_tier})`) : null,
      estimate ? [" · ", costHost] : null),
    h("dt", {}, "Stage times"), h("dd", { id: "stage-times" }, STAGES.map((s) => {
      const st = e.stages?.[s.key];
      const took = st?.started_at && st?.finished_at ? secondsBetween(st.started_at, st.finished_at) : null;
      const planned = estimate?.stage_durations_s?.[s.key];
      const versus = outcome && planned != null ? ` (est. ${duration(planned)})` : "";
      return took != null ? `${s.label} ${duration(took)}${st.cached ? " (cached)" : ""}${versus}` : null;
    }).filter(Boolean).join(" · ") || "—"),
  );
}

/** OOV rate above which a vocabulary is flagged (as the Data Insights tab's "⚠ Check"). */
const OOV_WARN = 0.05;

/** Everything that makes this run's numbers less trustworthy: the launch check's warnings, a baseline it does not
 * beat, vocabularies with many unseen values at evaluation. "(none)" for a completed run without any. */
function warningsSection(e) {
  const items = (e.warnings || []).map(warningItem);
  const baseline = e.comparison?.baseline;
  if (baseline && baseline.outcome !== "beats") items.push(warningItem({ code: "BASELINE", title: "Baseline", message: `this run ${baseline.summary}.` }));
  const vocabularies = Object.values(e.results?.vocabularies || {}).filter((v) => isNum(v.oov_rate) && v.oov_rate > OOV_WARN);
  for (const v of vocabularies) {
    items.push(warningItem({ code: "HIGH_OOV", title: v.column,
      message: `${pct(v.oov_rate, 1)} of its evaluation values are out of the vocabulary (${v.tower || "?"} tower); see Data Insights.` }));
  }
  if (!items.length && e.status !== "completed" && !e.data_check) return null;
  return h("section", { class: "warnings-section", "aria-label": "Warnings" },
    h("div", { class: "section-title" }, "Warnings"),
    items.length ? h("ul", { class: "launch-warnings-list" }, items) : h("p", { class: "small muted" }, "(none)"));
}

function failure(error) {
  return h("div", { class: "error-box", role: "alert", style: { marginTop: "1rem" } },
    h("h3", {}, `✗ ${error.title}`),
    error.stage ? h("p", { class: "small muted" }, `Failed in stage ${error.stage} · ${error.code}`) : h("p", { class: "small muted" }, error.code),
    h("p", {}, h("strong", {}, "How to fix: "), error.suggestion),
    error.excerpt ? h("details", {}, h("summary", {}, "Raw error details"), h("pre", {}, error.excerpt)) : null);
}

const OUTCOME_CLASS = { better: "delta-up", worse: "delta-down" };

/** The model's value against the popularity baseline, as the catalogue formats a difference (`+1.2 pp`). */
function delta(name, value, base) {
  if (!isNum(value) || !isNum(base)) return null;
  return h("span", { class: value >= base ? "delta-up" : "delta-down" }, ` (${formatMetricDelta(name, value - base)})`);
}

function resultsBlock(e) {
  const r = e.results;
  const ks = recallKs();
  const tiles = ks.map((k) => {
    const name = `recall_at_${k}`;
    return h("div", { class: "tile", dataset: { metric: name } },
      h("div", { class: "label" }, metricLabel(name)),
      h("div", { class: "value" }, formatMetric(name, recall(r, k))),
      h("div", { class: "sub" }, "popularity ", formatMetric(`popularity_${name}`, baselineRecall(r, k)), delta(name, recall(r, k), baselineRecall(r, k))));
  });
  const loss = isNum(r.final?.test_loss_per_example) ? "test_loss_per_example" : "test_loss"; // comparable across runs (decision 079)
  tiles.push(h("div", { class: "tile", dataset: { metric: loss } }, h("div", { class: "label" }, metricLabel(loss)), h("div", { class: "value" }, formatMetric(loss, r.final?.[loss]))));
  const comparison = e.comparison;
  const hasExcluding = ks.some((k) => isNum(recall(r, k, EXCLUDING)));
  const p = e.parameters || {};
  return [
    h("div", { class: "section-title" }, "Results"),
    isFullTraining(e) ? null : h("p", { class: "small muted", id: "indicative-results" },
      `⚠ Quick Test metrics are indicative (${p.sample_percent != null ? `${p.sample_percent}% sample` : "a sample"}, ${p.epochs != null ? `${p.epochs} epoch${p.epochs === 1 ? "" : "s"}` : "few epochs"}): Run Full Training for production-ready results.`),
    h("div", { class: "tiles" }, tiles),
    comparison?.summary ? h("p", { class: ["vs-best", OUTCOME_CLASS[comparison.outcome] || "muted"], style: { marginTop: "0.6rem" } },
      comparison.summary, isNum(comparison.previous_best) ? h("span", { class: "muted" }, ` (previous best ${metricLabel(comparison.metric)} ${formatMetric(comparison.metric, comparison.previous_best)})`) : null) : null,
    hasExcluding ? h("div", { class: "table-wrap", style: { marginTop: "0.6rem" } }, h("table", { class: "protocol-table" },
      h("thead", {}, h("tr", {}, h("th", {}, "Ranking"), ks.map((k) => h("th", { class: "num" }, `Model R@${k}`)), ks.map((k) => h("th", { class: "num" }, `Popularity R@${k}`)))),
      h("tbody", {}, [["all items", ""], ["excluding the buyer's training items", EXCLUDING]].map(([label, variant]) => h("tr", {},
        h("td", {}, label),
        ks.map((k) => h("td", { class: "num" }, formatMetric(`recall_at_${k}`, recall(r, k, variant)))),
        ks.map((k) => h("td", { class: "num muted" }, formatMetric(`popularity_recall_at_${k}`, baselineRecall(r, k, variant))))))))) : null,
    baselineVerdict(e),
    protocolLine(protocol(r), e, randomRecall(r)),
    allMetrics(r),
  ];
}

function protocolLine(p, e, random) {
  const parts = [
    `split ${p?.split_strategy || splitLabel(e.parameters?.split)}`,
    isNum(p?.corpus_size) ? `exact ranking of all ${formatMetric("corpus_size", p.corpus_size)} candidates` : null,
    isNum(p?.test_interactions) ? `${formatMetric("test_interactions", p.test_interactions)} test interactions` : null,
    p?.sampling_bias_correction !== undefined ? `sampling-bias correction ${p.sampling_bias_correction ? "on" : "off"}` : null,
    isNum(random) ? `random ranking would score Recall@100 ${formatMetric("random_recall_at_100", random)}` : null,
  ].filter(Boolean);
  return h("div", { class: "small muted protocol", style: { marginTop: "0.5rem" } },
    h("strong", {}, "Protocol: "), parts.join(" · "), ".",
    p?.description ? h("details", {}, h("summary", {}, "How recall is computed"), h("p", {}, p.description)) : null);
}

/** Every catalogued number of the report except the per-epoch history (the Training tab's), in catalogue order. */
function allMetrics(results) {
  const rows = metricsWhere().filter((m) => m.source !== "history" && isNum(reportValue(results, m.name)));
  if (!rows.length) return null;
  return h("details", { style: { marginTop: "0.4rem" } },
    h("summary", {}, `All ${rows.length} result values`),
    h("div", { class: "table-wrap", style: { maxHeight: "280px", marginTop: "0.4rem" } },
      h("table", { class: "all-metrics" }, h("tbody", {}, rows.map((m) => h("tr", { dataset: { metric: m.name } },
        h("td", { title: m.description }, m.label), h("td", { class: "mono muted small" }, m.name),
        h("td", { class: "num" }, formatMetric(m.name, reportValue(results, m.name)))))))));
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

/**
 * Training tab: loss chart (train, validation, regularisation, total; each toggleable), recall
 * bars against the popularity baseline, weight norms per tower, weight distribution with a tower
 * selector, and the final metrics. Charts without data say "not available". Each chart names the
 * catalogue metrics it draws; labels and formats come from the catalogue, and the final-metrics
 * tables list every catalogued metric the run reported.
 */
import { experiments } from "../../lib/api.js";
import { COLORS, chart } from "../../lib/charts.js";
import { h, mount, nextId } from "../../lib/dom.js";
import { isNum } from "../../lib/format.js";
import { formatMetric, metricLabel, metricsWhere, recallKs } from "../../lib/metrics.js";
import { baselineRecall, historySeries, recall } from "../../lib/results.js";
import { errorState, loading } from "../../lib/states.js";
import { corpusCurve } from "../corpus_curve.js";

const LOSS_SERIES = [
  { key: "train", metric: "loss", color: COLORS.blue },
  { key: "val", metric: "val_loss", color: COLORS.orange },
  { key: "reg", metric: "regularization_loss", color: COLORS.grey, dash: true },
  { key: "total", metric: "total_loss", color: COLORS.purple, dash: true },
];
const NORM_SERIES = [
  { metric: "weight_norm", color: COLORS.grey, dash: true },
  { metric: "query_weight_norm", color: COLORS.blue },
  { metric: "candidate_weight_norm", color: COLORS.green },
];
const STATS = [["mean", COLORS.blue], ["std", COLORS.orange], ["min", COLORS.grey], ["max", COLORS.purple]];

/** `[{step, value}]` (step = epoch, from 1) or plain numbers → `[{x, y}]`. */
function points(raw) {
  if (!Array.isArray(raw)) return [];
  return raw.map((p, i) => (isNum(p) ? { x: i + 1, y: p } : { x: p.step ?? i + 1, y: p.value })).filter((p) => isNum(p.y));
}

function find(series, name) {
  return points(series[name]);
}

/** A chart's series with its catalogue label and points. */
function present(definitions, series) {
  return definitions.map((s) => ({ ...s, label: metricLabel(s.metric), data: find(series, s.metric) })).filter((s) => s.data.length);
}

function placeholder(text) {
  return h("div", { class: "placeholder" }, text);
}

function chartCard(title, controls = null) {
  const body = h("div", { class: "chart-box" });
  return { card: h("section", { class: "chart-card", "aria-label": title }, h("header", {}, h("h4", {}, title), controls), body), body };
}

function epochLabel(x) {
  return `epoch ${Number(x)}`;
}

function lineOptions(yTitle) {
  return {
    parsing: false,
    interaction: { mode: "index", intersect: false },
    scales: {
      x: { type: "linear", title: { display: true, text: "epoch" }, ticks: { stepSize: 1, precision: 0 } },
      y: { title: { display: Boolean(yTitle), text: yTitle } },
    },
    plugins: { legend: { position: "bottom", labels: { boxWidth: 14 } }, tooltip: { callbacks: { title: (items) => epochLabel(items[0].parsed.x) } } },
  };
}

function dataset(label, data, color, dash) {
  return { label, data, borderColor: color, backgroundColor: color, borderDash: dash ? [6, 4] : [], pointRadius: 3, tension: 0.2 };
}

export function createTab(panel) {
  let lastKey = null;
  let history = null;
  const instances = [];

  async function update(experiment) {
    const training = experiment.stages?.train?.status;
    const key = `${experiment.status}|${experiment.mlflow_run_id}|${training}|${training === "running" ? experiment.updated_at : ""}`;
    if (key === lastKey) return;
    const firstLoad = lastKey === null;
    lastKey = key;
    if (firstLoad) mount(panel, loading("Loading training history…"));
    try {
      history = await experiments.trainingHistory(experiment.id);
    } catch (error) {
      mount(panel, errorState(error, () => { lastKey = null; update(experiment); }));
      return;
    }
    render(experiment);
  }

  function render(experiment) {
    instances.splice(0).forEach((c) => c.destroy());
    const results = experiment.results || {};
    const tracked = history?.available ? history.series || {} : {};
    const series = Object.keys(tracked).length ? tracked : historySeries(results);
    const notice = history?.available ? (history.notice ? h("div", { class: "notice" }, `${history.notice}.`) : null) : h("div", { class: "notice" }, `MLflow history is not available: ${history?.reason || "no MLflow run"}.${Object.keys(series).length ? " Showing the history stored with the results." : ""}`);

    const loss = lossChart(series);
    const recallCard = recallChart(results);
    const norms = normsChart(series);
    const dist = distributionChart(series);
    mount(panel,
      notice,
      h("div", { class: "grid-2" }, loss.card, recallCard.card),
      h("div", { class: "grid-2", style: { marginTop: "1rem" } }, norms.card, dist.card),
      corpusCurve(results, instances),
      h("div", { class: "section-title" }, "Final metrics"),
      finalMetrics(series, results),
      history?.mlflow_url ? h("p", { style: { marginTop: "0.6rem" } }, h("a", { href: history.mlflow_url, target: "_blank", rel: "noopener" }, "Open this run in MLflow ↗")) : null);
    [loss, recallCard, norms, dist].forEach((c) => c.draw?.());
  }

  function lossChart(series) {
    const shown = present(LOSS_SERIES, series);
    const toggles = h("div", { class: "toolbar small", role: "group", "aria-label": "Loss series" });
    const { card, body } = chartCard("Loss", toggles);
    if (!shown.length) {
      mount(body, placeholder("Loss per epoch is not available for this run."));
      return { card };
    }
    const canvas = h("canvas", { id: "loss-chart" });
    mount(body, canvas);
    let instance = null;
    shown.forEach((s, i) => {
      const id = nextId("loss");
      const box = h("input", { type: "checkbox", id, checked: true, dataset: { series: s.key } });
      box.addEventListener("change", () => {
        instance?.setDatasetVisibility(i, box.checked);
        instance?.update();
      });
      toggles.append(h("span", { class: "nowrap", style: { display: "inline-flex", gap: "0.25rem", alignItems: "center" } }, box, h("label", { for: id, style: { fontWeight: 400, color: s.color } }, s.label)));
    });
    const options = lineOptions("loss");
    options.plugins.legend.display = false;
    if (shown.some((s) => s.key === "reg")) {
      options.scales.y2 = { position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: "regularization" } };
    }
    const summary = shown.map((s) => `${s.label} ${formatMetric(s.metric, s.data[0].y)} → ${formatMetric(s.metric, s.data[s.data.length - 1].y)}`).join("; ");
    return {
      card,
      async draw() {
        instance = await chart(canvas, { type: "line", data: { datasets: shown.map((s) => ({ ...dataset(s.label, s.data, s.color, s.dash), yAxisID: s.key === "reg" ? "y2" : "y" })) }, options }, `Loss over ${shown[0].data.length} epochs: ${summary}`);
        instances.push(instance);
      },
    };
  }

  function recallChart(results) {
    const { card, body } = chartCard("Recall on the test split");
    const ks = recallKs();
    const model = ks.map((k) => recall(results, k));
    const base = ks.map((k) => baselineRecall(results, k));
    if (!model.some(isNum)) {
      mount(body, placeholder("Recall is computed at the end of training; it is not available for this run."));
      return { card };
    }
    const canvas = h("canvas", { id: "recall-chart" });
    mount(body, canvas);
    const datasets = [{ label: "Model", data: model.map((v) => (isNum(v) ? v * 100 : null)), backgroundColor: COLORS.blue }];
    if (base.some(isNum)) datasets.push({ label: "Most-popular baseline", data: base.map((v) => (isNum(v) ? v * 100 : null)), backgroundColor: COLORS.grey });
    const name = (i) => `recall_at_${ks[i]}`;
    return {
      card,
      async draw() {
        instances.push(await chart(canvas, {
          type: "bar",
          data: { labels: ks.map((k, i) => metricLabel(name(i))), datasets },
          options: { scales: { y: { beginAtZero: true, title: { display: true, text: "%" } } }, plugins: { legend: { position: "bottom" }, tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${formatMetric(name(c.dataIndex), c.parsed.y / 100)}` } } } },
        }, `Recall: ${ks.map((k, i) => `@${k} ${formatMetric(name(i), model[i])} (popularity ${formatMetric(`popularity_${name(i)}`, base[i])})`).join(", ")}`));
      },
    };
  }

  function normsChart(series) {
    const { card, body } = chartCard("Weight norms (L2)");
    const shown = present(NORM_SERIES, series);
    if (!shown.length) {
      mount(body, placeholder("Weight norms are not available for this run."));
      return { card };
    }
    const canvas = h("canvas", { id: "norms-chart" });
    mount(body, canvas);
    return {
      card,
      async draw() {
        instances.push(await chart(canvas, { type: "line", data: { datasets: shown.map((s) => dataset(s.label, s.data, s.color, s.dash)) }, options: lineOptions("L2 norm") },
          `Weight norms: ${shown.map((s) => `${s.label} ${formatMetric(s.metric, s.data[s.data.length - 1].y)}`).join(", ")}`));
      },
    };
  }

  function distributionChart(series) {
    const towers = ["query", "candidate"].filter((t) => STATS.some(([stat]) => find(series, `${t}_weights_${stat}`).length));
    const towerSelect = h("select", { id: "weight-tower", "aria-label": "Tower" }, towers.map((t) => h("option", { value: t }, `${t} tower`)));
    const { card, body } = chartCard("Weight distribution", towers.length ? towerSelect : null);
    if (!towers.length) {
      mount(body, placeholder("Weight statistics are not available for this run."));
      return { card };
    }
    const canvas = h("canvas", { id: "distribution-chart" });
    mount(body, canvas);
    let instance = null;
    async function draw() {
      const tower = towerSelect.value;
      const datasets = STATS.map(([stat, color]) => dataset(stat, find(series, `${tower}_weights_${stat}`), color, stat === "min" || stat === "max"));
      if (instance) instances.splice(instances.indexOf(instance), 1);
      instance = await chart(canvas, { type: "line", data: { datasets }, options: lineOptions("weight value") },
        `${tower} tower weights: ${datasets.map((d) => `${d.label} ${formatMetric(`${tower}_weights_${d.label}`, d.data[d.data.length - 1]?.y)}`).join(", ")}`);
      canvas.dataset.tower = tower;
      instances.push(instance);
    }
    towerSelect.addEventListener("change", draw);
    return { card, draw };
  }

  /** Every catalogued final metric the run reported, and the last epoch's value of every loss. */
  function finalMetrics(series, results) {
    const last = (name) => {
      const data = find(series, name);
      return data.length ? data[data.length - 1].y : undefined;
    };
    const test = metricsWhere({ source: "final" }).map((m) => [m, results.final?.[m.name]]).filter(([, v]) => isNum(v));
    const training = metricsWhere({ source: "history", group: "loss" }).map((m) => [m, last(m.name)]);
    const table = (title, rows) => h("div", { class: "table-wrap" }, h("table", { class: "final-metrics" },
      h("thead", {}, h("tr", {}, h("th", { colspan: "2" }, title))),
      h("tbody", {}, rows.map(([m, value]) => h("tr", { dataset: { metric: m.name } }, h("td", { title: m.description }, m.label), h("td", { class: "num" }, isNum(value) ? formatMetric(m.name, value) : "not available"))))));
    return h("div", { class: "grid-2" }, table("Test metrics", test), table("Last epoch", training));
  }

  return { update };
}

/**
 * Recall@k as the candidate corpus grows (issue 11 §3, decision 079): the evaluation ranks each test
 * query's positive again against seeded samples of the corpus plus the positive itself (10/25/50/100 %),
 * stored as `results.recall.corpus_curve` (points: percent, corpus_size, model and popularity recall by k)
 * and as the catalogue's `recall_at_{k}_corpus_{p}pct` metrics. One line per k for the model, the
 * popularity baseline's Recall@100 dashed; x is the number of candidates sampled. Labels and formats
 * come from the metric catalogue. Runs evaluated before the curve existed say so.
 */
import { COLORS, chart } from "../lib/charts.js";
import { h } from "../lib/dom.js";
import { isNum } from "../lib/format.js";
import { formatMetric, metricLabel, recallKs } from "../lib/metrics.js";

const LINE_COLORS = [COLORS.teal, COLORS.purple, COLORS.blue];

/** The curve's points, smallest corpus first; [] when the run has none. */
export function corpusPoints(results) {
  const points = results?.recall?.corpus_curve;
  if (!Array.isArray(points)) return [];
  return points.filter((p) => isNum(p?.corpus_size) && p.model).sort((a, b) => a.corpus_size - b.corpus_size);
}

/** The chart card; draws itself once mounted and hands its Chart instance to `instances` (destroyed on re-render). */
export function corpusCurve(results, instances = []) {
  const body = h("div", { class: "chart-box" });
  const card = h("section", { class: "chart-card corpus-curve", "aria-label": "Recall as the corpus grows", style: { marginTop: "1rem" } },
    h("header", {}, h("h4", {}, "Recall as the corpus grows")), body);
  const points = corpusPoints(results);
  if (points.length < 2) {
    body.append(h("div", { class: "placeholder" }, "Recall against subsampled corpora is not available for this run (evaluated before the corpus curve existed)."));
    return card;
  }
  const canvas = h("canvas", { id: "corpus-curve-chart" });
  body.append(canvas);
  const name = (k, who = "") => `${who}recall_at_${k}`;
  const series = recallKs().map((k, i) => ({ label: metricLabel(name(k)), metric: name(k), color: LINE_COLORS[i % LINE_COLORS.length], values: points.map((p) => p.model[String(k)]) }));
  const top = Math.max(...recallKs());
  if (points.some((p) => isNum(p.popularity?.[String(top)]))) {
    series.push({ label: metricLabel(name(top, "popularity_")), metric: name(top, "popularity_"), color: COLORS.grey, dash: true, values: points.map((p) => p.popularity?.[String(top)]) });
  }
  const datasets = series.map((s) => ({
    label: s.label, borderColor: s.color, backgroundColor: s.color, borderDash: s.dash ? [6, 4] : [], pointRadius: 3, tension: 0,
    data: points.map((p, i) => ({ x: p.corpus_size, y: isNum(s.values[i]) ? s.values[i] * 100 : null, percent: p.percent })),
  }));
  const sizes = (p) => `${p.percent}% (${formatMetric("corpus_size", p.corpus_size)} candidates)`;
  const primary = series.find((s) => s.metric === name(top)) || series[0];
  const summary = `Recall as the corpus grows: ${primary.label} ${points.map((p, i) => `${formatMetric(primary.metric, primary.values[i])} at ${sizes(p)}`).join(", ")}`;
  const options = {
    parsing: false,
    interaction: { mode: "index", intersect: false },
    scales: {
      x: { type: "linear", min: 0, title: { display: true, text: "candidates sampled (each query's own item added)" } },
      y: { beginAtZero: true, title: { display: true, text: "%" } },
    },
    plugins: {
      legend: { position: "bottom", labels: { boxWidth: 14 } },
      tooltip: { callbacks: {
        title: (items) => sizes(points[items[0].dataIndex]),
        label: (c) => `${c.dataset.label}: ${formatMetric(series[c.datasetIndex].metric, c.parsed.y / 100)}`,
      } },
    },
  };
  Promise.resolve().then(async () => {
    instances.push(await chart(canvas, { type: "line", data: { datasets }, options }, summary));
  });
  return card;
}

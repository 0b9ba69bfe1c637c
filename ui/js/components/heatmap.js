/** The configuration heatmap: a metric over two axes, colour-scaled, best cell starred; a cell opens its best experiment. */
import { rampColor } from "../lib/colors.js";
import { h } from "../lib/dom.js";
import { formatMetric, metricLabel } from "../lib/metrics.js";
import { empty } from "../lib/states.js";
import { formatSpread } from "./noise.js";

export { rampColor };

/** `data`: the API's heatmap; `onOpen(experimentId)` for a cell. */
export function renderHeatmap(data, onOpen) {
  if (!data.cells.length) return empty("No completed experiment has this metric yet.", "The heatmap fills in as experiments complete.");
  const values = data.cells.map((c) => c.value);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const goodness = (v) => (hi === lo ? 1 : data.direction === "lower" ? (hi - v) / (hi - lo) : (v - lo) / (hi - lo));
  const byKey = new Map(data.cells.map((c) => [`${c.x}\u0000${c.y}`, c]));
  const best = data.best;
  const table = h("table", { class: "heatmap", id: "heatmap-table", style: { minWidth: `${10 + 6 * data.x_axis.values.length}rem` }, "aria-label": `${metricLabel(data.metric)} by ${data.x_axis.label} and ${data.y_axis.label}` },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, h("span", { class: "muted" }, `${data.y_axis.label} ↓ · ${data.x_axis.label} →`)), data.x_axis.values.map((x) => h("th", { scope: "col", class: "mono" }, x)))),
    h("tbody", {}, data.y_axis.values.map((y) => h("tr", {},
      h("th", { scope: "row", class: "mono", style: { textAlign: "right" } }, y),
      data.x_axis.values.map((x) => {
        const cell = byKey.get(`${x}\u0000${y}`);
        if (!cell) return h("td", { class: "cell empty" }, "—");
        const t = goodness(cell.value);
        const isBest = best && best.x === x && best.y === y;
        const label = `${metricLabel(data.metric)} ${formatMetric(data.metric, cell.value)} at ${data.x_axis.label} ${x}, ${data.y_axis.label} ${y}; best of ${cell.count} (mean ${formatMetric(data.metric, cell.mean)}); open Exp #${cell.experiment_number}`;
        return h("td", {
          class: ["cell", isBest ? "best" : ""],
          style: { background: rampColor(0.15 + 0.85 * t), color: t > 0.55 ? "#fff" : "#0f172a", cursor: "pointer" },
          tabindex: "0",
          role: "button",
          title: label,
          "aria-label": label,
          dataset: { x, y, value: String(cell.value), best: isBest ? "true" : "false" },
          onClick: () => onOpen(cell.experiment_id),
          onKeydown: (event) => {
            if (event.key === "Enter" || event.key === " ") {
              event.preventDefault();
              onOpen(cell.experiment_id);
            }
          },
        }, formatMetric(data.metric, cell.value), h("span", { class: "n" }, `n=${cell.count}`, cell.std != null ? ` · mean ${formatSpread(data.metric, cell)}` : ""));
      })))));
  return [
    h("div", { class: "table-wrap", style: { border: "none", overflowX: "auto" } }, table),
    h("div", { class: "legend-scale" },
      h("span", {}, formatMetric(data.metric, data.direction === "lower" ? hi : lo)),
      h("span", { class: "ramp", style: { background: `linear-gradient(90deg, ${rampColor(0.15)}, ${rampColor(1)})` } }),
      h("span", {}, formatMetric(data.metric, data.direction === "lower" ? lo : hi)),
      h("span", {}, `· ★ best cell${best ? `: Exp #${best.experiment_number} (${formatMetric(data.metric, best.value)})` : ""} · each cell shows its best run, the number of runs and, with several, their mean ± std`)),
  ];
}

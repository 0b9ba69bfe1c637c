/**
 * Chart.js (from npm, through the import map), loaded on first use, with the UI's palette.
 * Every chart carries a text summary in `aria-label` and its point count in `data-points`; `data-state` is
 * "drawn" once the chart exists (tests wait on it, not on time).
 */
let chartModule = null;

export async function loadChart() {
  if (!chartModule) {
    chartModule = import("chart.js").then(({ Chart, registerables }) => {
      Chart.register(...registerables);
      Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
      Chart.defaults.color = "#4b5563";
      Chart.defaults.animation = false;
      Chart.defaults.maintainAspectRatio = false;
      return Chart;
    });
  }
  return chartModule;
}

export const COLORS = {
  blue: "#2459d6",
  orange: "#f08c00",
  grey: "#8a94a3",
  purple: "#7c3aed",
  green: "#2f9e44",
  red: "#d9363e",
  teal: "#0f9488",
};

/** Create a chart on `canvas`; returns the Chart instance. */
export async function chart(canvas, config, summary) {
  const Chart = await loadChart();
  Chart.getChart(canvas)?.destroy();
  const instance = new Chart(canvas, config);
  const points = config.data.datasets.reduce((n, d) => n + d.data.filter((v) => v !== null && v !== undefined).length, 0);
  canvas.dataset.points = String(points);
  canvas.dataset.state = "drawn";
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", summary);
  return instance;
}

/** Dashboard: summary cards, leaderboard, heatmap, parallel coordinates, CSV export and the MLflow link. */
import { DASHBOARD_DEFAULTS, dashboard, datasets } from "../lib/api.js";
import { h, mount, yieldToMain } from "../lib/dom.js";
import { field, select, setOptions } from "../lib/forms.js";
import { int } from "../lib/format.js";
import { formatMetric, metricLabel, primaryMetric } from "../lib/metrics.js";
import { empty, errorState, loading } from "../lib/states.js";
import { renderHeatmap } from "../components/heatmap.js";
import { leaderboardTable } from "../components/leaderboard.js";
import { distinctValues, parallelCoordinates } from "../components/parallel_coords.js";
import { attributionPanel } from "../components/attribution_panel.js";
import { seedGroupBands } from "../components/noise.js";
import { noise } from "../lib/decisions_api.js";
import { fullTraining } from "../lib/full_training_api.js";
import { agreementPanel, fullTrainingTiles } from "../components/full_training.js";

export const title = "Dashboard";

/** The parallel coordinates' axes: the feature config's and model's choices (the leaderboard rows' `axes`),
 * then the run's parameters; an axis taking one value among the runs shown is left out. */
const PC_AXES = [
  { key: "embedding_dims", label: "Id embedding dims", value: (i) => i.axes?.embedding_dims },
  { key: "cross_features", label: "Cross features", value: (i) => i.axes?.cross_features },
  { key: "feature_count", label: "Features", value: (i) => i.axes?.feature_count },
  { key: "query_features", label: "Buyer features", value: (i) => i.axes?.query_features },
  { key: "candidate_features", label: "Product features", value: (i) => i.axes?.candidate_features },
  { key: "tower_layers", label: "Tower layers", value: (i) => i.axes?.tower_layers },
  { key: "sample_percent", label: "Sample %", value: (i) => i.parameters?.sample_percent },
  { key: "split", label: "Split", value: (i) => i.parameters?.split?.strategy },
  { key: "epochs", label: "Epochs", value: (i) => i.parameters?.epochs },
  { key: "batch_size", label: "Batch size", value: (i) => i.parameters?.batch_size },
  { key: "learning_rate", label: "Learning rate", value: (i) => i.parameters?.learning_rate },
  { key: "hardware_tier", label: "Hardware", value: (i) => i.parameters?.hardware_tier },
];
/** Shown unless unticked (the buyer's and product's feature lists are long labels: one tick away). */
const PC_DEFAULT = PC_AXES.map((a) => a.key).filter((key) => !["query_features", "candidate_features"].includes(key));

export function render(root) {
  const datasetFilter = select([["", "All datasets"]], { id: "dashboard-dataset", "aria-label": "Dataset" });
  const protocolFilter = select([["", "Newest protocol"]], { id: "dashboard-protocol", "aria-label": "Protocol", title: "Only runs of one protocol (dataset, sample, seed, split, corpus) are ranked together; the others are separate groups" });
  const exportLink = h("a", { class: "button", id: "export-csv", href: dashboard.exportUrl({}), download: "experiments.csv" }, "⇩ Export CSV");
  const mlflowLink = h("a", { class: "button", id: "open-mlflow", href: "#", target: "_blank", rel: "noopener", hidden: true }, "Open MLflow ↗");
  const statsHost = h("div", { id: "summary-cards" });
  const fullTilesHost = h("div", { id: "full-training-cards" });
  const agreementHost = h("div", { id: "agreement" });
  const primary = primaryMetric();
  const metricSelect = select([[primary, metricLabel(primary)]], { id: "leaderboard-metric" });
  const leaderboardHost = h("div", { id: "leaderboard" });
  const heatMetric = select([[primary, metricLabel(primary)]], { id: "heatmap-metric" });
  const xAxis = select([["", "…"]], { id: "heatmap-x" });
  const yAxis = select([["", "…"]], { id: "heatmap-y" });
  const heatmapHost = h("div", { id: "heatmap" });
  const pcHost = h("div", { id: "parallel" });
  const pcAxes = h("div", { class: "toolbar small", role: "group", "aria-label": "Parallel coordinates axes" });
  const attribution = attributionPanel(() => ({ dataset_id: datasetFilter.value || undefined }));

  mount(root,
    h("div", { class: "page-head" },
      h("div", {}, h("h1", {}, "Experiments dashboard"), h("p", {}, "Which configuration is best? Compare completed quick tests by any metric.")),
      h("div", { class: "toolbar" }, datasetFilter, protocolFilter, exportLink, mlflowLink)),
    statsHost,
    fullTilesHost,
    h("section", { class: "panel", "aria-labelledby": "ag-title", id: "agreement-panel" },
      h("header", {}, h("h2", { id: "ag-title" }, "Quick test vs full training"),
        h("span", { class: "small muted" }, "Do quick tests rank configurations the way full training does? Every protocol of the dataset.")),
      agreementHost),
    h("section", { class: "panel", "aria-labelledby": "lb-title" },
      h("header", {}, h("h2", { id: "lb-title" }, "Leaderboard"), h("div", { class: "inline" }, field("Rank by", metricSelect))),
      leaderboardHost),
    h("section", { class: "panel", "aria-labelledby": "hm-title" },
      h("header", {}, h("h2", { id: "hm-title" }, "Configuration heatmap"),
        h("div", { class: "inline" }, field("Metric", heatMetric), field("Columns (X)", xAxis), field("Rows (Y)", yAxis))),
      heatmapHost),
    h("section", { class: "panel", "aria-labelledby": "pc-title" },
      h("header", {}, h("h2", { id: "pc-title" }, "Parameters vs metric"), pcAxes),
      pcHost),
    attribution.element);

  let leaderboard = null;
  let axesChosen = false;
  let pcDisconnect = null;
  const pcChosen = new Set(PC_DEFAULT);

  const scope = () => ({ dataset_id: datasetFilter.value || undefined, protocol: protocolFilter.value || undefined });
  /** The protocol groups the stats answer names: the one shown selected, the others one choice away. */
  const showProtocols = (stats) => setOptions(protocolFilter, stats.protocols?.length
    ? stats.protocols.map((g) => [g.key, `${g.label} (${int(g.completed)} of ${int(g.experiments)} completed)`])
    : [["", "No experiments yet"]], stats.protocol?.key || "");
  const open = async (id) => (await import("../components/view_modal.js")).openViewModal(id);

  async function loadStats() {
    mount(statsHost, loading("Loading summary…"));
    try {
      const stats = await dashboard.stats(scope());
      showProtocols(stats);
      if (stats.mlflow_url) {
        mlflowLink.href = stats.mlflow_url;
        mlflowLink.hidden = false;
      }
      const best = stats.best_recall_at_100;
      const tile = (label, value, sub, extra = {}) => h("div", { class: "tile", ...extra }, h("div", { class: "label" }, label), h("div", { class: "value" }, value), sub ? h("div", { class: "sub" }, sub) : null);
      mount(statsHost, h("div", { class: "tiles", style: { marginBottom: "1rem" } },
        tile("Experiments", int(stats.total), `${int(stats.active)} active · ${int(stats.failed)} failed · ${int(stats.cancelled)} cancelled`, { dataset: { stat: "total" } }),
        tile("Completed", int(stats.completed), null, { dataset: { stat: "completed" } }),
        tile(`Best ${metricLabel(primary)}`, formatMetric(primary, best?.value), best ? h("button", { type: "button", class: "small ghost tile-link", title: `${best.experiment.label} · ${best.experiment.name}`, onClick: () => open(best.experiment.id) }, `${best.experiment.label} · ${best.experiment.name}`) : "no completed run yet", { dataset: { stat: "best" } }),
        tile(`Average ${metricLabel(primary)}`, formatMetric(primary, stats.average_recall_at_100), "over completed experiments", { dataset: { stat: "average" } })));
    } catch (error) {
      mount(statsHost, errorState(error, loadStats));
    }
  }

  /** The Full Trains / Currently deployed cards and the agreement panel: across protocols, since a full run's
   * 100 % sample is a protocol of its own (decision 076). */
  async function loadFullTraining() {
    try {
      const summary = await fullTraining.summary({ dataset_id: datasetFilter.value || undefined });
      mount(fullTilesHost, h("div", { class: "tiles", style: { marginBottom: "1rem" } }, fullTrainingTiles(summary, open)));
      mount(agreementHost, agreementPanel(summary.agreement, open));
    } catch (error) {
      mount(agreementHost, errorState(error, loadFullTraining));
    }
  }

  /** The axes with how many values each takes among the runs shown; until the user picks one, the heatmap's
   * axes are the server's default (the configuration choices that vary most, decision 110). */
  async function loadDimensions() {
    const dims = await dashboard.dimensions(scope());
    const metrics = dims.metrics.length ? dims.metrics.map((m) => [m.name, metricLabel(m.name)]) : [[primary, metricLabel(primary)]];
    for (const el of [metricSelect, heatMetric, attribution.metricSelect]) setOptions(el, metrics, metrics.some(([n]) => n === el.value) ? el.value : primary);
    const counted = (a) => {
      const n = dims.distinct?.[a.name];
      return n == null ? a.label : `${a.label} · ${n === 1 ? "one value" : `${int(n)} values`}`;
    };
    const axes = dims.axes.map((a) => [a.name, counted(a)]);
    setOptions(xAxis, axes, axesChosen ? xAxis.value : dims.default_axes?.x_axis || xAxis.value);
    setOptions(yAxis, axes, axesChosen ? yAxis.value : dims.default_axes?.y_axis || yAxis.value);
  }

  /** Show the answer's axes in the selects (the default ones until the user picks). */
  function showAxes(data) {
    for (const [el, axis] of [[xAxis, data.x_axis], [yAxis, data.y_axis]]) {
      if (![...el.options].some((o) => o.value === axis.name)) el.append(h("option", { value: axis.name }, axis.label));
      el.value = axis.name;
    }
  }

  async function loadLeaderboard() {
    mount(leaderboardHost, loading("Ranking experiments…"));
    try {
      const [board, groups] = await Promise.all([
        dashboard.leaderboard({ ...DASHBOARD_DEFAULTS.leaderboard, metric: metricSelect.value, ...scope() }),
        noise.seedGroups(scope()).catch(() => ({ items: [] }))]);
      leaderboard = board;
      mount(leaderboardHost, leaderboardTable(leaderboard, open, seedGroupBands(groups.items, leaderboard.metric)));
      await yieldToMain();
      renderParallel();
    } catch (error) {
      mount(leaderboardHost, errorState(error, loadLeaderboard));
    }
  }

  async function loadHeatmap() {
    mount(heatmapHost, loading("Building heatmap…"));
    try {
      const axes = axesChosen ? { x_axis: xAxis.value, y_axis: yAxis.value } : {};
      const data = await dashboard.heatmap({ ...DASHBOARD_DEFAULTS.heatmap, metric: heatMetric.value, ...axes, ...scope() });
      showAxes(data);
      mount(heatmapHost, renderHeatmap(data, open));
    } catch (error) {
      mount(heatmapHost, errorState(error, loadHeatmap));
    }
  }

  function renderParallel() {
    if (!pcAxes.childElementCount) {
      for (const axis of PC_AXES) {
        const box = h("input", { type: "checkbox", id: `pc-${axis.key}`, checked: pcChosen.has(axis.key) });
        box.addEventListener("change", () => {
          if (box.checked) pcChosen.add(axis.key);
          else pcChosen.delete(axis.key);
          renderParallel();
        });
        pcAxes.append(h("span", { class: "nowrap", style: { display: "inline-flex", gap: "0.25rem", alignItems: "center" } }, box, h("label", { for: box.id, style: { fontWeight: 400 } }, axis.label)));
      }
    }
    pcDisconnect?.();
    pcDisconnect = null;
    if (!leaderboard?.items.length) {
      mount(pcHost, empty("No completed experiments to plot yet."));
      return;
    }
    const items = leaderboard.items;
    const varying = new Set();
    for (const axis of PC_AXES) {
      const values = distinctValues(axis, items);
      const box = pcAxes.querySelector(`#pc-${axis.key}`);
      const single = values.length < 2;
      if (!single) varying.add(axis.key);
      box.disabled = single;
      box.parentElement.title = single ? `Every run shown has ${axis.label} ${values[0] ?? "none"}: an axis with one value says nothing` : "";
      box.parentElement.classList.toggle("muted", single);
    }
    const axes = PC_AXES.filter((a) => pcChosen.has(a.key) && varying.has(a.key));
    const metricAxis = { key: "metric", label: metricLabel(leaderboard.metric), value: (i) => i.value, format: (v) => formatMetric(leaderboard.metric, v) };
    const { element, disconnect } = parallelCoordinates(items, [...axes, metricAxis], leaderboard.direction);
    const dropped = PC_AXES.filter((a) => pcChosen.has(a.key) && !varying.has(a.key)).map((a) => a.label);
    mount(pcHost, element, h("p", { class: "small muted" }, `${int(items.length)} experiments; darker lines are better by ${metricLabel(leaderboard.metric)}. Drag along an axis to filter the runs.`,
      dropped.length ? ` Not shown, one value among these runs: ${dropped.join(", ")}.` : ""));
    pcDisconnect = disconnect;
  }

  async function loadAll() {
    exportLink.href = dashboard.exportUrl(scope());
    await Promise.allSettled([loadLeaderboard(), loadHeatmap(), loadStats(), loadFullTraining(), attribution.load(true),
      loadDimensions().catch((error) => console.warn("dimensions unavailable", error))]);
  }

  metricSelect.addEventListener("change", loadLeaderboard);
  heatMetric.addEventListener("change", loadHeatmap);
  for (const el of [xAxis, yAxis]) el.addEventListener("change", () => {
    axesChosen = true;
    loadHeatmap();
  });
  datasetFilter.addEventListener("change", () => {
    setOptions(protocolFilter, [["", "Newest protocol"]], "");
    loadAll();
  });
  protocolFilter.addEventListener("change", loadAll);

  datasets.list().then((page) => setOptions(datasetFilter, [["", "All datasets"], ...page.items.map((d) => [d.id, d.name])])).catch(() => {});
  loadAll();

  return { unmount: () => pcDisconnect?.() };
}

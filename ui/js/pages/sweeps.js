/** Sweeps page: launch a sweep or a seed group with its estimate; a sweep's grid filling live; cancel (decision 066). */
import { featureConfigs, modelConfigs } from "../lib/api.js";
import { rampColor } from "../lib/colors.js";
import { sweeps } from "../lib/decisions_api.js";
import { h, mount } from "../lib/dom.js";
import { field, input, select, setOptions } from "../lib/forms.js";
import { dateTime, duration, int, usd } from "../lib/format.js";
import { toast } from "../lib/modal.js";
import { formatMetric, metricLabel } from "../lib/metrics.js";
import { poll } from "../lib/poll.js";
import { empty, errorState, loading } from "../lib/states.js";
import { formatSpread } from "../components/noise.js";

export const title = "Sweeps";

const FIELDS = [
  ["", "— no axis —"], ["learning_rate", "Learning rate"], ["batch_size", "Batch size"], ["epochs", "Epochs"],
  ["embedding_dims", "Id embedding dims"], ["optimizer", "Optimizer"], ["output_dim", "Output dim"],
  ["tower_layers", "Tower layers (both)"], ["l2_regularization", "L2 regularization"],
  ["sampling_bias_correction", "Sampling-bias correction"], ["feature", "A feature on/off…"],
];
const RUNNING_DELAY_MS = 2000;

/** "0.05 0.1" → [0.05, 0.1]; "128,64 64" → [[128, 64], [64]]; "on off" / "true false" → booleans. */
export function parseValues(text) {
  return text.trim().split(/\s+/).filter(Boolean).map((token) => {
    if (/^(true|on|yes)$/i.test(token)) return true;
    if (/^(false|off|no)$/i.test(token)) return false;
    if (token.includes(",")) return token.split(",").filter(Boolean).map(Number);
    const n = Number(token);
    return Number.isFinite(n) ? n : token;
  });
}

export function render(root, params) {
  const id = params.get("id");
  return id ? renderSweep(root, id) : renderLauncher(root);
}

function renderLauncher(root) {
  const form = h("form", { id: "sweep-form", class: "panel", novalidate: true });
  const name = input({ id: "sweep-name", value: "Sweep", required: true });
  const featureSelect = select([], { id: "sweep-feature-config" });
  const modelSelect = select([], { id: "sweep-model-config" });
  const sample = select([["5", "5%"], ["10", "10%"], ["25", "25%"], ["100", "100%"]], { id: "sweep-sample" });
  sample.value = "10";
  const repeats = input({ id: "sweep-repeats", type: "number", min: "1", max: "10", value: "2" });
  const axisRows = [0, 1, 2].map((i) => {
    const fieldSelect = select(FIELDS, { id: `sweep-axis-${i}-field`, "aria-label": `Axis ${i + 1} field` });
    const feature = input({ id: `sweep-axis-${i}-feature`, placeholder: "query.city", hidden: true, "aria-label": `Axis ${i + 1} feature (tower.column)` });
    const values = input({ id: `sweep-axis-${i}-values`, placeholder: "0.05 0.1", "aria-label": `Axis ${i + 1} values` });
    fieldSelect.addEventListener("change", () => {
      feature.hidden = fieldSelect.value !== "feature";
      if (fieldSelect.value === "feature") values.value ||= "on off";
    });
    return { fieldSelect, feature, values, el: h("div", { class: "inline sweep-axis" }, h("span", { class: "muted" }, `Axis ${i + 1}`), fieldSelect, feature, values) };
  });
  const estimateHost = h("div", { id: "sweep-estimate", class: "small", "aria-live": "polite" });
  const errorHost = h("div", { class: "form-error", role: "alert" });
  const listHost = h("div", { id: "sweep-list" });

  mount(form,
    h("header", {}, h("h2", {}, "New sweep or seed group")),
    h("p", { class: "small muted" }, "Up to three axes over configuration fields; each cell runs its repeats with different training seeds on the same split. No axis and 2+ repeats: a seed group. Values are separated by spaces; a list value (tower layers) joins its numbers with commas."),
    h("div", { class: "grid-2" }, field("Name", name), field("Sample", sample), field("Feature config", featureSelect), field("Model config", modelSelect)),
    ...axisRows.map((r) => r.el),
    field("Repeats per cell", repeats),
    errorHost, estimateHost,
    h("div", { class: "actions" },
      h("button", { type: "button", id: "sweep-estimate-button", onClick: estimate }, "Estimate"),
      h("button", { type: "submit", class: "primary", id: "sweep-start" }, "Start sweep")));

  function body() {
    const axes = axisRows.filter((r) => r.fieldSelect.value).map((r) => ({
      field: r.fieldSelect.value === "feature" ? `feature:${r.feature.value.trim()}` : r.fieldSelect.value,
      values: parseValues(r.values.value),
    }));
    return {
      name: name.value.trim(), feature_config_id: featureSelect.value, model_config_id: modelSelect.value,
      parameters: { sample_percent: Number(sample.value) }, axes, repeats: Number(repeats.value || 1),
    };
  }

  async function estimate() {
    mount(errorHost);
    mount(estimateHost, loading("Estimating the whole sweep…"));
    try {
      const e = await sweeps.estimate(body());
      mount(estimateHost, h("p", {}, h("strong", {}, `${int(e.experiments)} experiments`),
        ` · about ${duration(e.wall_s)} with ${e.concurrency} run slot${e.concurrency === 1 ? "" : "s"} (${duration(e.run_s)} of runs) · ${usd(e.cost_usd)}`));
    } catch (error) {
      mount(estimateHost);
      mount(errorHost, `${error.field ? `${error.field}: ` : ""}${error.message}`);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    mount(errorHost);
    try {
      const sweep = await sweeps.start(body());
      toast(`Sweep started: ${sweep.children.length} experiments`);
      location.hash = `#/sweeps?id=${encodeURIComponent(sweep.id)}`;
    } catch (error) {
      mount(errorHost, error.message);
    }
  });

  Promise.all([featureConfigs.list(), modelConfigs.list()]).then(([f, m]) => {
    setOptions(featureSelect, f.items.map((c) => [c.id, c.name]));
    setOptions(modelSelect, m.items.filter((c) => !c.id.includes("--sweep-")).map((c) => [c.id, c.name]));
  }).catch((error) => mount(errorHost, error.message));

  async function loadList() {
    try {
      const page = await sweeps.list();
      mount(listHost, page.items.length
        ? h("ul", { class: "plain" }, page.items.map((s) => h("li", {}, h("a", { href: `#/sweeps?id=${encodeURIComponent(s.id)}` }, s.name),
          h("span", { class: "muted small" }, ` · ${s.axes.length ? s.axes.join(" × ") : "seed group"} · ${s.repeats} repeat${s.repeats === 1 ? "" : "s"} · ${s.experiments} experiments · ${dateTime(s.created_at)}`))))
        : empty("No sweep yet.", "Start one above."));
    } catch (error) {
      mount(listHost, errorState(error, loadList));
    }
  }
  loadList();

  mount(root,
    h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Sweeps"), h("p", {}, "Which setting helps, beyond noise? Run a grid of configurations, each repeated with different seeds."))),
    form,
    h("section", { class: "panel" }, h("header", {}, h("h2", {}, "Sweeps")), listHost));
  return null;
}

function cellColor(t) {
  return { background: rampColor(0.15 + 0.85 * t), color: t > 0.55 ? "#fff" : "#0f172a" };
}

/** The grid: X = axis 1, Y = axis 2, one table per value of axis 3 (a single cell without axes). */
function grid(view) {
  const axes = view.grid_axes;
  const byKey = new Map(view.cells.map((c) => [c.key, c]));
  const means = view.cells.map((c) => c.spread?.mean).filter((v) => v != null);
  const lo = Math.min(...means);
  const hi = Math.max(...means);
  const goodness = (v) => (hi === lo ? 1 : view.direction === "lower" ? (hi - v) / (hi - lo) : (v - lo) / (hi - lo));
  const keyOf = (values) => (axes.length ? axes.map((a, i) => `${a.field}=${values[i]}`).join(",") : "-");
  const td = (values) => {
    const key = keyOf(values);
    const cell = byKey.get(key);
    const total = view.repeats;
    if (!cell) return h("td", { class: "cell empty", dataset: { key } }, "not started");
    const pending = Object.entries(cell.statuses).filter(([s]) => !["completed", "failed", "cancelled"].includes(s)).map(([s, n]) => `${n} ${s}`).join(", ");
    const isBest = view.best_cell?.key === key;
    const label = `${values.map((v, i) => `${axes[i].label} ${v}`).join(", ") || "seed group"}: ${cell.spread ? formatSpread(view.metric, cell.spread) : "no result yet"}`;
    return h("td", {
      class: ["cell", cell.spread ? "" : "empty", isBest ? "best" : ""],
      style: cell.spread ? cellColor(goodness(cell.spread.mean)) : {},
      title: label, "aria-label": label,
      dataset: { key, done: String(cell.done), n: String(cell.spread?.n ?? 0) },
    }, cell.spread ? formatSpread(view.metric, cell.spread) : "…", h("span", { class: "n" }, `${cell.done}/${total} done${pending ? ` · ${pending}` : ""}`));
  };
  const table = (fixed) => {
    const [x, y] = axes;
    const xs = x ? x.values : [null];
    const ys = y ? y.values : [null];
    return h("table", { class: "heatmap sweep-grid", "aria-label": `${view.metric_label} per cell` },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, h("span", { class: "muted" }, y ? `${y.label} ↓ · ${x.label} →` : x ? `${x.label} →` : "")), xs.map((v) => h("th", { scope: "col", class: "mono" }, v ?? "all repeats")))),
      h("tbody", {}, ys.map((yv) => h("tr", {}, h("th", { scope: "row", class: "mono", style: { textAlign: "right" } }, yv ?? ""),
        xs.map((xv) => td([xv, yv, fixed].slice(0, axes.length)))))));
  };
  if (axes.length < 3) return table(null);
  return axes[2].values.map((z) => h("div", {}, h("h3", { class: "small" }, `${axes[2].label} = ${z}`), table(z)));
}

function renderSweep(root, id) {
  const head = h("div", { class: "page-head" });
  const gridHost = h("section", { class: "panel", id: "sweep-view", "aria-live": "polite" }, loading("Loading the sweep…"));
  mount(root, head, gridHost);
  let poller = null;

  async function cancel() {
    try {
      await sweeps.cancel(id);
      toast("Cancelling the sweep…");
      poller?.now();
    } catch (error) {
      toast(error.message, "error");
    }
  }

  async function tick(signal) {
    try {
      const view = await sweeps.get(id, {}, { signal });
      const running = view.status === "running";
      mount(head,
        h("div", {}, h("h1", {}, view.name), h("p", { class: "small" },
          h("span", { class: ["badge", `status-${view.status === "completed" ? "completed" : view.status === "cancelled" ? "cancelled" : "running"}`], id: "sweep-status" }, view.status),
          ` ${view.grid_axes.length ? view.grid_axes.map((a) => a.label).join(" × ") : "seed group"} · ${view.repeats} repeat${view.repeats === 1 ? "" : "s"} per cell · ${view.ended} of ${view.expected_children} experiments ended`,
          view.estimate ? ` · estimated ${duration(view.estimate.wall_s)}, ${usd(view.estimate.cost_usd)}` : "")),
        h("div", { class: "toolbar" },
          h("a", { class: "button", href: "#/sweeps" }, "All sweeps"),
          h("button", { type: "button", class: "danger", id: "sweep-cancel", disabled: !running || view.cancel_requested, onClick: cancel }, view.cancel_requested ? "Cancelling…" : "Cancel sweep")));
      mount(gridHost,
        h("header", {}, h("h2", {}, `${metricLabel(view.metric)} per cell: mean ± std over repeats`)),
        grid(view),
        view.best_cell ? h("p", { class: "small" }, `★ best cell: ${view.best_cell.key} (${formatMetric(view.metric, view.best_cell.mean)} mean)`) : null,
        view.refused ? h("p", { class: "form-error" }, `Stopped starting children: ${view.refused}`) : null);
      return running ? RUNNING_DELAY_MS : null;
    } catch (error) {
      if (error.name === "AbortError") throw error;
      mount(gridHost, errorState(error, () => poller?.now()));
      return null;
    }
  }
  poller = poll(tick);
  return { unmount: () => poller?.stop() };
}

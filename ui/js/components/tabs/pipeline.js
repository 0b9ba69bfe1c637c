/** Pipeline tab: the DAG of components and artifacts; a component's logs beside it, refreshable. */
import { experiments } from "../../lib/api.js";
import { h, mount } from "../../lib/dom.js";
import { duration, secondsBetween } from "../../lib/format.js";
import { errorState, loading } from "../../lib/states.js";
import { isActive } from "../../lib/status.js";
import { renderDag } from "../dag.js";

const COMPONENTS = [
  { id: "Compile", label: "Pipeline Compile", stage: "compile", outputs: [] },
  { id: "ExampleGen", label: "Examples Gen", stage: "examples", outputs: [["examples", "Examples"]] },
  { id: "StatisticsGen", label: "Stats Gen", stage: "stats", outputs: [["statistics", "Statistics"]] },
  { id: "SchemaGen", label: "Schema Gen", stage: "schema", outputs: [["schema", "Schema"]] },
  { id: "Transform", label: "Transform", stage: "transform", outputs: [["transform_graph", "Transform graph"], ["transformed_examples", "Transformed examples"]] },
  { id: "Trainer", label: "Trainer", stage: "train", outputs: [["model", "Model"], ["model_run", "Model run"]] },
  { id: "Evaluator", label: "Evaluator", stage: "train", outputs: [["evaluation", "Evaluation"]], optional: true },
];

const INPUTS = {
  ExampleGen: ["Compile"],
  StatisticsGen: ["ExampleGen/examples"],
  SchemaGen: ["StatisticsGen/statistics"],
  Transform: ["ExampleGen/examples", "SchemaGen/schema"],
  Trainer: ["Transform/transformed_examples", "Transform/transform_graph", "SchemaGen/schema"],
  Evaluator: ["Trainer/model", "ExampleGen/examples"],
};

const LOG_LINES = 200;

export function createTab(panel) {
  const graphHost = h("div", {});
  const logTitle = h("h3", {}, "Logs");
  const logMeta = h("div", { class: "small muted" });
  const logBody = h("pre", { class: "logs", tabindex: "0", "aria-label": "Component logs" }, "Select a component to see its logs.");
  const outputsHost = h("div", { class: "small" });
  const refresh = h("button", { type: "button", class: "small", id: "refresh-logs" }, "↻ Refresh");
  mount(panel,
    h("div", { class: "dag-wrap" },
      h("div", {}, h("div", { class: "section-title", style: { marginTop: 0 } }, "Pipeline graph"), graphHost),
      h("section", { class: "logs-panel", "aria-label": "Component logs" }, h("header", {}, h("div", {}, logTitle, logMeta), refresh), logBody, outputsHost)));
  mount(graphHost, loading("Loading pipeline…"));

  let experiment = null;
  let artifacts = {};
  let selected = null;
  let userSelected = false;
  let logsRequest = 0;

  function graph() {
    const nodes = [];
    const edges = [];
    for (const c of COMPONENTS) {
      if (c.optional && !artifacts[c.id]) continue;
      const state = experiment.stages?.[c.stage] || {};
      const status = c.id === "Evaluator" && !artifacts[c.id] ? "pending" : state.status || "pending";
      const took = state.started_at ? secondsBetween(state.started_at, state.finished_at) : null;
      const sub = [c.id, state.cached ? "cached" : null, took != null && status !== "pending" ? duration(took) : null].filter(Boolean).join(" · ");
      nodes.push({ id: c.id, kind: "component", label: c.label, sub, status });
      for (const [key, label] of c.outputs) {
        const uris = artifacts[c.id]?.[key];
        nodes.push({ id: `${c.id}/${key}`, kind: "artifact", label, present: Boolean(uris?.length), sub: uris?.[0] });
        edges.push([c.id, `${c.id}/${key}`]);
      }
      for (const input of INPUTS[c.id] || []) edges.push([input, c.id]);
    }
    return { nodes, edges };
  }

  function draw() {
    mount(graphHost, renderDag(graph(), { selected, onSelect: (node) => { userSelected = true; select(node.id); } }),
      h("div", { class: "legend-scale", style: { flexWrap: "wrap", gap: "0.8rem" } },
        ["pending", "running", "succeeded", "failed"].map((st) => h("span", { class: "nowrap" }, h("span", { class: ["badge", `status-${{ succeeded: "completed", running: "running", failed: "failed", pending: "pending" }[st]}`] }, st === "succeeded" ? "done" : st))),
        h("span", {}, "Dashed pills: artifacts not written yet.")));
  }

  async function loadLogs() {
    if (!selected || !experiment) return;
    const request = ++logsRequest;
    logTitle.textContent = `Logs · ${COMPONENTS.find((c) => c.id === selected)?.label || selected}`;
    refresh.disabled = true;
    try {
      const result = await experiments.logs(experiment.id, selected, LOG_LINES);
      if (request !== logsRequest) return;
      const lines = result.lines || [];
      logBody.textContent = lines.length ? lines.join("\n") : "No log lines yet for this component.";
      logBody.dataset.lines = String(lines.length);
      logMeta.textContent = `${lines.length ? `last ${lines.length} lines` : "empty"} · refreshed ${new Date().toLocaleTimeString()}`;
      logBody.scrollTop = logBody.scrollHeight;
    } catch (error) {
      if (request !== logsRequest) return;
      logBody.textContent = `Could not load the logs: ${error.message}`;
      logMeta.textContent = "";
    } finally {
      refresh.disabled = false;
    }
    const outputs = artifacts[selected] || {};
    const names = Object.keys(outputs);
    mount(outputsHost, names.length
      ? h("details", {}, h("summary", {}, `${names.length} output artifact${names.length === 1 ? "" : "s"}`),
        h("dl", { class: "kv", style: { marginTop: "0.4rem" } }, names.map((n) => [h("dt", { class: "mono" }, n), h("dd", { class: "mono small" }, outputs[n].join(", "))])))
      : null);
  }

  function select(id) {
    selected = id;
    draw();
    loadLogs();
  }

  function defaultComponent() {
    const states = COMPONENTS.filter((c) => !c.optional).map((c) => ({ id: c.id, status: experiment.stages?.[c.stage]?.status }));
    return (states.find((s) => s.status === "running") || states.find((s) => s.status === "failed") || [...states].reverse().find((s) => s.status === "succeeded") || states[0]).id;
  }

  async function loadArtifacts() {
    try {
      const result = await experiments.artifacts(experiment.id);
      artifacts = Object.fromEntries((result.components || []).map((c) => [c.component, c.outputs || {}]));
    } catch (error) {
      if (!Object.keys(artifacts).length) mount(outputsHost, errorState(error));
    }
  }

  refresh.addEventListener("click", () => {
    loadArtifacts().then(draw);
    loadLogs();
  });

  return {
    async update(doc) {
      experiment = doc;
      await loadArtifacts();
      if (!userSelected) selected = defaultComponent();
      draw();
      if (isActive(doc) || !logBody.dataset.lines) loadLogs();
    },
  };
}

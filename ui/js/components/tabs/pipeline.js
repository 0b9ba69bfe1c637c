/**
 * Pipeline tab: the DAG of components and artifacts; a component's logs beside it, refreshable.
 * The logs open on their summary (stage start and end, progress, epochs, warnings, errors: classified by the
 * server from the real log, `domain/log_summary.py`), the raw log one click away.
 */
import { experiments } from "../../lib/api.js";
import { h, mount } from "../../lib/dom.js";
import { duration, secondsBetween } from "../../lib/format.js";
import { errorState, loading } from "../../lib/states.js";
import { isActive } from "../../lib/status.js";
import { renderDag } from "../dag.js";

/** The quick test's components as the pipeline definition builds them (`pipeline/definition.py`): Transform
 * materializes no examples (`materialize=False`), the Trainer reads ExampleGen's examples through the transform
 * graph, the Evaluator reads the Trainer's model run. `maybe` outputs are drawn only once written. */
const COMPONENTS = [
  { id: "Compile", label: "Pipeline Compile", stage: "compile", outputs: [] },
  { id: "ExampleGen", label: "Examples Gen", stage: "examples", outputs: [["examples", "Examples"]] },
  { id: "StatisticsGen", label: "Stats Gen", stage: "stats", outputs: [["statistics", "Statistics"]] },
  { id: "SchemaGen", label: "Schema Gen", stage: "schema", outputs: [["schema", "Schema"]] },
  { id: "Transform", label: "Transform", stage: "transform", outputs: [["transform_graph", "Transform graph"], ["transformed_examples", "Transformed examples", "maybe"]] },
  { id: "Trainer", label: "Trainer", stage: "train", outputs: [["model", "Model"], ["model_run", "Model run"]] },
  { id: "Evaluator", label: "Evaluator", stage: "train", outputs: [["evaluation", "Evaluation"]] },
];

const INPUTS = {
  ExampleGen: ["Compile"],
  StatisticsGen: ["ExampleGen/examples"],
  SchemaGen: ["StatisticsGen/statistics"],
  Transform: ["ExampleGen/examples", "SchemaGen/schema"],
  Trainer: ["ExampleGen/examples", "Transform/transform_graph", "SchemaGen/schema"],
  Evaluator: ["Trainer/model_run"],
};

const LEGEND = [
  ["pending", "pending"], ["running", "running"], ["succeeded", "done"], ["failed", "failed"], ["cancelled", "cancelled"],
];

const LOG_LINES = 200;

/** The Evaluator shares the Train stage with the Trainer (one stage on the card): its own state. */
function evaluatorStatus(experiment, artifacts) {
  if (artifacts.Evaluator?.evaluation?.length) return "succeeded";
  const train = experiment.stages?.train?.status || "pending";
  if (train !== "succeeded") return ["failed", "cancelled"].includes(train) || experiment.status === "cancelled" ? "cancelled" : "pending";
  if (experiment.status === "completed") return "succeeded";
  if (experiment.status === "failed") return "failed";
  if (experiment.status === "cancelled") return "cancelled";
  return "running";
}

/** A raw line, its level marked: the local runner's "date time LEVEL", absl's "E1204"/"W1204", a traceback. */
function logLine(line) {
  const level = /^(\S+ \S+ (ERROR|CRITICAL) |[EF]\d{4} |Traceback \(most recent call last\))/.test(line) ? "error" : /^(\S+ \S+ WARNING |W\d{4} )/.test(line) ? "warning" : null;
  return h("span", { class: ["log-line", level ? `level-${level}` : ""] }, line, "\n");
}

function summaryEntry(entry) {
  const time = entry.at ? entry.at.slice(-8) : ""; // HH:MM:SS of "YYYY-MM-DD HH:MM:SS" or absl's "MM-DD HH:MM:SS"
  return h("li", { class: ["log-entry", `kind-${entry.kind}`, `level-${entry.level}`], dataset: { kind: entry.kind } },
    h("span", { class: "at mono" }, time),
    h("span", { class: "what" }, entry.text),
    entry.count > 1 ? h("span", { class: "count", title: `${entry.count} times in a row` }, `×${entry.count}`) : null);
}

export function createTab(panel) {
  const graphHost = h("div", {});
  const logTitle = h("h3", {}, "Logs");
  const logMeta = h("div", { class: "small muted" });
  const logBody = h("pre", { class: "logs", tabindex: "0", "aria-label": "Raw component log", hidden: true }, "Select a component to see its logs.");
  const summaryBody = h("ol", { class: "log-summary", "aria-label": "Log summary" });
  const summaryNote = h("div", { class: "small muted log-summary-note" });
  const outputsHost = h("div", { class: "small" });
  const refresh = h("button", { type: "button", class: "small", id: "refresh-logs" }, "↻ Refresh");
  let view = "summary";
  const viewButtons = ["summary", "raw"].map((name) => h("button", {
    type: "button", class: "small", "aria-pressed": String(name === view), dataset: { view: name },
    onClick: () => setView(name),
  }, name === "summary" ? "Summary" : "Raw"));
  const failureHost = h("div", {});
  const summaryHost = h("div", { class: "log-summary-host" }, failureHost, summaryBody, summaryNote);
  mount(panel,
    h("div", { class: "dag-wrap" },
      h("div", {}, h("div", { class: "section-title", style: { marginTop: 0 } }, "Pipeline graph"), graphHost),
      h("section", { class: "logs-panel", "aria-label": "Component logs" },
        h("header", {}, h("div", {}, logTitle, logMeta), h("div", { class: "log-actions" }, h("div", { class: "segmented", role: "group", "aria-label": "Log view" }, viewButtons), refresh)),
        summaryHost, logBody, outputsHost)));
  mount(graphHost, loading("Loading pipeline…"));

  let experiment = null;
  let artifacts = {};
  let selected = null;
  let userSelected = false;
  let logsRequest = 0;
  let lastLog = null;
  let evaluatorSeconds = null;
  let evaluatorFinal = false;

  function setView(name) {
    view = name;
    viewButtons.forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.view === name)));
    summaryHost.hidden = name !== "summary";
    logBody.hidden = name !== "raw";
    if (name === "raw") logBody.scrollTop = logBody.scrollHeight;
    showMeta();
  }

  function stageSeconds(c, state) {
    if (c.id === "Evaluator") return evaluatorSeconds;
    return state.started_at ? secondsBetween(state.started_at, state.finished_at) : null;
  }

  function graph() {
    const nodes = [];
    const edges = [];
    for (const c of COMPONENTS) {
      const state = experiment.stages?.[c.stage] || {};
      const status = c.id === "Evaluator" ? evaluatorStatus(experiment, artifacts) : state.status || "pending";
      const cached = c.id !== "Evaluator" && Boolean(state.cached);
      const took = status === "pending" ? null : stageSeconds(c, state);
      const sub = [c.id, cached ? "cached" : null, took != null ? duration(took) : null].filter(Boolean).join(" · ");
      nodes.push({ id: c.id, kind: "component", label: c.label, sub, status, cached, seconds: took });
      for (const [key, label, maybe] of c.outputs) {
        const uris = artifacts[c.id]?.[key];
        if (maybe && !uris?.length) continue;
        nodes.push({ id: `${c.id}/${key}`, kind: "artifact", label, present: Boolean(uris?.length), sub: uris?.[0] });
        edges.push([c.id, `${c.id}/${key}`]);
      }
      const inputs = (INPUTS[c.id] || []).map((input) => (input === "ExampleGen/examples" && c.id === "Trainer" && artifacts.Transform?.transformed_examples?.length ? "Transform/transformed_examples" : input));
      for (const input of inputs) edges.push([input, c.id]);
    }
    return { nodes, edges };
  }

  function draw() {
    mount(graphHost, renderDag(graph(), { selected, onSelect: (node) => { userSelected = true; select(node.id); } }),
      h("div", { class: "dag-legend small", "aria-label": "Legend" },
        LEGEND.map(([status, label]) => h("span", { class: "nowrap" }, h("span", { class: ["swatch", `node-${status}`] }), label)),
        h("span", { class: "nowrap" }, h("span", { class: ["swatch", "node-succeeded", "cached"] }), "cached (an earlier run's result reused)"),
        h("span", { class: "nowrap" }, h("span", { class: "swatch artifact-swatch" }), "artifact (dashed: not written yet)")));
  }

  function showMeta() {
    if (!lastLog) return;
    const { lines, summary } = lastLog;
    const took = summary?.seconds != null ? ` · ran ${duration(summary.seconds)}` : "";
    const shown = view === "raw"
      ? (lines.length ? `last ${lines.length} lines` : "empty")
      : (summary?.scanned_lines ? `summary of the last ${summary.scanned_lines} lines${took}` : "empty");
    logMeta.textContent = `${shown} · refreshed ${new Date().toLocaleTimeString()}`;
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
      const entries = result.summary?.entries || [];
      lastLog = { lines, summary: result.summary };
      if (lines.length) mount(logBody, lines.map(logLine));
      else logBody.textContent = "No log lines yet for this component.";
      logBody.dataset.lines = String(lines.length);
      mount(failureHost, failureNote());
      mount(summaryBody, entries.map(summaryEntry));
      summaryNote.textContent = entries.length ? ""
        : lines.length ? "No stage, progress, warning or error lines in this log: the Raw view has every line." : "No log lines yet for this component.";
      showMeta();
      if (view === "raw") logBody.scrollTop = logBody.scrollHeight;
      else summaryHost.scrollTop = summaryHost.scrollHeight;
    } catch (error) {
      if (request !== logsRequest) return;
      logBody.textContent = `Could not load the logs: ${error.message}`;
      mount(summaryBody);
      summaryNote.textContent = `Could not load the logs: ${error.message}`;
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

  /** Why the selected component failed, as the experiment's classified error says (its log says only "Failed"). */
  function failureNote() {
    const error = experiment.error;
    const component = COMPONENTS.find((c) => c.id === selected);
    if (experiment.status !== "failed" || !error || !component || error.stage !== component.stage) return null;
    const node = graph().nodes.find((n) => n.id === selected);
    if (node?.status !== "failed") return null;
    return h("div", { class: "log-failure", role: "note" },
      h("strong", {}, error.title), error.excerpt ? h("pre", { class: "mono" }, error.excerpt) : null,
      error.suggestion ? h("div", { class: "small" }, error.suggestion) : null);
  }

  /** The Evaluator's own duration, from its log (the Train stage's times are the Trainer's). */
  async function loadEvaluatorSeconds() {
    if (evaluatorFinal || !artifacts.Evaluator) return;
    try {
      const result = await experiments.logs(experiment.id, "Evaluator", 1);
      evaluatorSeconds = result.summary?.seconds ?? null;
      evaluatorFinal = evaluatorSeconds != null && !isActive(experiment);
    } catch {
      evaluatorSeconds = null;
    }
  }

  function select(id) {
    selected = id;
    draw();
    loadLogs();
  }

  function defaultComponent() {
    const states = COMPONENTS.filter((c) => c.id !== "Evaluator").map((c) => ({ id: c.id, status: experiment.stages?.[c.stage]?.status }));
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
    loadArtifacts().then(loadEvaluatorSeconds).then(draw);
    loadLogs();
  });

  return {
    async update(doc) {
      experiment = doc;
      await loadArtifacts();
      await loadEvaluatorSeconds();
      if (!userSelected) selected = defaultComponent();
      draw();
      if (isActive(doc) || !logBody.dataset.lines) loadLogs();
    },
  };
}

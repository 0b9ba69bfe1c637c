/**
 * Lineage tab: what exact artifacts produced this run's model (examples, statistics, schema, transform
 * graph, model, evaluation, pushed model), their URIs and the executions that made them, read from ML
 * Metadata (GET /api/experiments/{id}/lineage); for a full training, where its model was pushed and its
 * MLflow Model Registry version and alias.
 */
import { h, mount } from "../../lib/dom.js";
import { dateTime } from "../../lib/format.js";
import { fullTraining } from "../../lib/full_training_api.js";
import { empty, errorState, loading } from "../../lib/states.js";
import { uriDetails } from "../uri.js";

const ORDER = ["Examples", "ExampleStatistics", "Schema", "TransformGraph", "Model", "ModelRun", "ModelEvaluation", "PushedModel"];

function modelSection(model) {
  if (!model) return null;
  const registered = model.registration === "registered";
  return h("section", { class: "lineage-model", "aria-label": "Pushed model" },
    h("h3", {}, "Pushed model"),
    h("dl", { class: "inline-dl" },
      h("dt", {}, "Registry"), h("dd", { dataset: { field: "registry" } }, registered
        ? `${model.mlflow_model_name} version ${model.mlflow_model_version} @${model.alias}`
        : `not registered yet (${model.registration_error || model.registration})`),
      h("dt", {}, "Pushed to"), h("dd", { class: "uri", dataset: { field: "pushed" } }, uriDetails(model.pushed_model_uri)),
      h("dt", {}, "Serving"), h("dd", {}, `${model.signature} · top ${model.top_k} · inputs ${Object.keys(model.inputs || {}).join(", ")}`),
      h("dt", {}, "Embeddings"), h("dd", { class: "uri" }, uriDetails(model.candidate_embeddings_uri)),
      h("dt", {}, "Pushed at"), h("dd", {}, dateTime(model.pushed_at))),
    h("p", { class: "small muted" }, "One request with TensorFlow alone: ", h("code", {}, `python scripts/serve_request.py ${String(model.pushed_model_uri || "").replace(/^file:\/\//, "")}`)));
}

function lineageTable(lineage) {
  const executions = new Map(lineage.executions.map((e) => [e.id, e]));
  const artifacts = [...lineage.artifacts].sort((a, b) => (ORDER.indexOf(a.type) + 99 * (ORDER.indexOf(a.type) < 0)) - (ORDER.indexOf(b.type) + 99 * (ORDER.indexOf(b.type) < 0)) || a.id - b.id);
  return [
    h("h3", {}, "Artifacts"),
    h("table", { class: "table lineage-artifacts" },
      h("thead", {}, h("tr", {}, h("th", {}, "Artifact"), h("th", {}, "Location"), h("th", {}, "Made by"), h("th", {}, "Created"))),
      h("tbody", {}, artifacts.map((a) => {
        const by = executions.get(a.produced_by);
        return h("tr", { dataset: { type: a.type } },
          h("td", {}, h("strong", {}, a.type), a.output_key ? h("span", { class: "muted small" }, ` ${a.output_key}`) : null),
          h("td", { class: "uri" }, uriDetails(a.uri)),
          h("td", {}, by ? `${by.component} #${by.id}` : "—", by && by.state !== "COMPLETE" ? h("span", { class: "muted small" }, ` ${by.state.toLowerCase()}`) : null),
          h("td", {}, dateTime(a.created_at)));
      }))),
    h("h3", {}, "Executions"),
    h("table", { class: "table lineage-executions" },
      h("thead", {}, h("tr", {}, h("th", {}, "Component"), h("th", {}, "State"), h("th", {}, "Read"), h("th", {}, "Wrote"), h("th", {}, "Started"), h("th", {}, "Finished"))),
      h("tbody", {}, lineage.executions.map((e) => h("tr", { dataset: { component: e.component } },
        h("td", {}, `${e.component} #${e.id}`),
        h("td", {}, e.state),
        h("td", {}, e.inputs.map((id) => lineage.artifacts.find((a) => a.id === id)?.type || id).join(", ") || "—"),
        h("td", {}, e.outputs.map((id) => lineage.artifacts.find((a) => a.id === id)?.type || id).join(", ") || "—"),
        h("td", {}, dateTime(e.started_at)),
        h("td", {}, dateTime(e.finished_at)))))),
    h("p", { class: "small muted" }, `Store: ${lineage.store}`),
  ];
}

export function createTab(panel) {
  let lastKey = null;

  async function load(experiment) {
    const key = `${experiment.status}|${experiment.stages?.train?.status}|${experiment.stages?.push?.status}`;
    if (key === lastKey) return;
    lastKey = key;
    mount(panel, loading("Reading ML Metadata…"));
    try {
      const answer = await fullTraining.lineage(experiment.id);
      mount(panel,
        modelSection(answer.model),
        answer.lineage ? lineageTable(answer.lineage) : empty("No lineage yet", answer.reason));
    } catch (error) {
      mount(panel, errorState(error, () => { lastKey = null; load(experiment); }));
    }
  }

  return { update: load };
}

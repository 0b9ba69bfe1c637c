/** Model configs: tower layers, output dimension, optimiser and training defaults. */
import { modelConfigs } from "../lib/api.js";
import { h } from "../lib/dom.js";
import { field, input, numberValue, select } from "../lib/forms.js";
import { renderConfigList } from "../components/config_list.js";
import { clientError, editorModal } from "../components/editor_modal.js";
import { towerLabel } from "../components/labels.js";

export const title = "Model configs";

export function render(root) {
  return renderConfigList(root, {
    id: "model-config-list",
    heading: "Model configs",
    intro: "The two towers' architecture, optimiser and the default training parameters of experiments.",
    noun: "model config",
    resource: modelConfigs,
    describe,
    openEditor,
  });
}

function describe(config) {
  return h("dl", { class: "kv", style: { marginTop: "0.6rem" } },
    h("dt", {}, "Query tower"), h("dd", { class: "mono" }, towerLabel(config.query_tower_layers)),
    h("dt", {}, "Candidate tower"), h("dd", { class: "mono" }, towerLabel(config.candidate_tower_layers)),
    h("dt", {}, "Output dim"), h("dd", {}, config.output_dim ?? "last layer"),
    h("dt", {}, "Optimiser"), h("dd", {}, `${config.optimizer}, learning rate ${config.learning_rate}, L2 ${config.l2_regularization}, ${config.activation}`),
    h("dt", {}, "Defaults"), h("dd", {}, `${config.epochs} epochs · batch ${config.batch_size}`),
    h("dt", {}, "Sampling-bias correction"), h("dd", {}, config.sampling_bias_correction ? "on" : "off"));
}

const LAYERS = /^\s*\d+(\s*(,|→|->|\s)\s*\d+)*\s*$/;

function parseLayers(text, fieldName, problems) {
  if (!text.trim()) return [];
  if (!LAYERS.test(text)) {
    problems.push({ field: fieldName, message: "Use layer sizes separated by commas or arrows, e.g. 256, 128, 64." });
    return [];
  }
  return text.split(/,|→|->|\s+/).map((t) => t.trim()).filter(Boolean).map(Number);
}

function openEditor(config, onSaved) {
  editorModal({
    title: config ? `Edit model config “${config.name}”` : "New model config",
    build(form) {
      const name = input({ value: config?.name || "", maxlength: 200 });
      const description = h("textarea", { rows: 2, maxlength: 2000 }, config?.description || "");
      const queryLayers = input({ value: (config?.query_tower_layers ?? [128, 64]).join(", "), class: "mono" });
      const candidateLayers = input({ value: (config?.candidate_tower_layers ?? [128, 64]).join(", "), class: "mono" });
      const outputDim = input({ type: "number", min: 1, max: 1024, value: config?.output_dim ?? "", placeholder: "last layer" });
      const activation = select(["relu", "gelu", "tanh"], { value: config?.activation || "relu" });
      const optimizer = select(["adagrad", "adam", "sgd", "rmsprop"], { value: config?.optimizer || "adagrad" });
      const learningRate = input({ type: "number", step: "any", min: 0, value: config?.learning_rate ?? 0.1 });
      const l2 = input({ type: "number", step: "any", min: 0, max: 1, value: config?.l2_regularization ?? 0 });
      const epochs = input({ type: "number", min: 1, max: 100, value: config?.epochs ?? 3 });
      const batchSize = input({ type: "number", min: 8, max: 65536, value: config?.batch_size ?? 1024 });
      const correction = h("input", { type: "checkbox", checked: config ? config.sampling_bias_correction : true });
      form.append(
        h("div", { class: "grid-2" }, field("Name", name, { name: "name", required: true }), field("Description", description, { name: "description" })),
        h("fieldset", {}, h("legend", {}, "Towers"),
          h("div", { class: "inline" },
            field("Query tower layers", queryLayers, { name: "query_tower_layers", hint: "e.g. 256, 128, 64" }),
            field("Candidate tower layers", candidateLayers, { name: "candidate_tower_layers", hint: "e.g. 256, 128, 64" }),
            field("Output dim", outputDim, { name: "output_dim", hint: "empty: the last layer" }),
            field("Activation", activation, { name: "activation" }))),
        h("fieldset", {}, h("legend", {}, "Optimisation"),
          h("div", { class: "inline" },
            field("Optimiser", optimizer, { name: "optimizer" }),
            field("Learning rate", learningRate, { name: "learning_rate" }),
            field("L2 regularisation", l2, { name: "l2_regularization" }),
            field("Epochs", epochs, { name: "epochs" }),
            field("Batch size", batchSize, { name: "batch_size" })),
          h("div", { class: "field", style: { flexDirection: "row", alignItems: "center", gap: "0.5rem" } },
            correction, h("label", { for: correction.id = "bias-correction" }, "Sampling-bias correction of the in-batch softmax (recommended)"))),
      );
      correction.dataset.field = "sampling_bias_correction";
      return () => {
        const problems = [];
        const body = {
          name: name.value.trim(),
          description: description.value.trim(),
          query_tower_layers: parseLayers(queryLayers.value, "query_tower_layers", problems),
          candidate_tower_layers: parseLayers(candidateLayers.value, "candidate_tower_layers", problems),
          output_dim: numberValue(outputDim) ?? null,
          activation: activation.value,
          optimizer: optimizer.value,
          learning_rate: numberValue(learningRate),
          l2_regularization: numberValue(l2),
          epochs: numberValue(epochs),
          batch_size: numberValue(batchSize),
          sampling_bias_correction: correction.checked,
        };
        if (problems.length) throw clientError(problems);
        return body;
      };
    },
    save: (body) => (config ? modelConfigs.update(config.id, body) : modelConfigs.create(body)),
    onSaved,
  });
}

/**
 * Full training in the UI (issue 12, decisions 075-077): the "Run Full Training" button and its dialog
 * (a completed quick test's configs and split protocol, all the data, early stopping), the Full Trains
 * and Currently deployed cards, and the quick-vs-full agreement panel. A completed full training is not a
 * deployment: the model's first version is production on its own, a later one when promoted from the Full
 * Trains card (decision 079).
 */
import { h, mount } from "../lib/dom.js";
import { clearErrors, field, input, numberValue, select, showErrors } from "../lib/forms.js";
import { dateTime, fixed, int } from "../lib/format.js";
import { fullTraining } from "../lib/full_training_api.js";
import { formatMetric, metricLabel, primaryMetric } from "../lib/metrics.js";
import { openModal, toast } from "../lib/modal.js";
import { splitLabel } from "./labels.js";

export const isFullTraining = (experiment) => experiment?.full_training != null;

/** A completed quick test can be trained in full. */
export function canRunFullTraining(experiment) {
  return experiment?.status === "completed" && !isFullTraining(experiment);
}

/** The "Full training" badge of a card or modal (with where it came from). */
export function runKindBadge(experiment) {
  if (!isFullTraining(experiment)) return null;
  const source = experiment.full_training.source_experiment_id;
  return h("span", { class: ["badge", "run-kind-full"], title: source ? `Full training of quick test ${source}` : "Full training started from configs" }, "Full training");
}

/** "▶ Run Full Training" for a completed quick test; `onStarted(doc)` gets the new experiment. */
export function runFullTrainingButton(experiment, { onStarted = () => {}, className = "" } = {}) {
  if (!canRunFullTraining(experiment)) return null;
  const button = h("button", { type: "button", class: ["run-full-training", className].filter(Boolean), onClick: () => openFullTrainingDialog(experiment, onStarted) }, "▶ Run Full Training");
  button.setAttribute("aria-label", `Run Full Training of Exp #${experiment.number}`);
  return button;
}

export function openFullTrainingDialog(experiment, onStarted = () => {}) {
  const p = experiment.parameters || {};
  const name = input({ value: `${experiment.name} · full training`.slice(0, 200), maxlength: 200 });
  const maxEpochs = input({ type: "number", min: 1, max: 200, step: 1, value: 30 });
  const patience = input({ type: "number", min: 1, max: 50, step: 1, value: 3 });
  const accelerator = select([["", "CPU"], ["T4", "GPU: NVIDIA T4"], ["A100", "GPU: NVIDIA A100"]]);
  const form = h("form", { class: "full-training-form", novalidate: true },
    h("p", {}, `All the data (100%) with Exp #${experiment.number}'s configs and split protocol: ${splitLabel(p.split)}, seed ${p.seed ?? "—"}. `,
      `Trains until validation ${metricLabel("recall_at_100")} stops improving, keeps the best epoch, then exports the model, pushes it to the registry and registers it in MLflow.`),
    field("Name", name, { name: "name" }),
    h("div", { class: "inline" },
      field("Most epochs", maxEpochs, { name: "full_training.max_epochs", hint: "1-200" }),
      field("Patience", patience, { name: "full_training.patience", hint: "epochs without improvement before stopping" }),
      field("Accelerator", accelerator, { name: "full_training.accelerator", hint: "GPUs run on Vertex AI; a local run trains on CPU" })),
    h("div", { class: "form-error" }));
  const start = h("button", { type: "submit", class: "success", form: "full-training-form" }, "Start full training");
  const cancel = h("button", { type: "button", class: "ghost", onClick: () => modal.close() }, "Cancel");
  form.id = "full-training-form";
  const modal = openModal({ title: `Run Full Training · Exp #${experiment.number}`, body: [form], footer: [cancel, start] });
  modal.dialog.classList.add("full-training-dialog");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    start.disabled = true;
    try {
      const doc = await fullTraining.start(experiment.id, {
        name: name.value.trim() || undefined,
        full_training: { max_epochs: numberValue(maxEpochs), patience: numberValue(patience), accelerator: accelerator.value || null },
      });
      modal.close();
      toast(`Exp #${doc.number} started: full training of Exp #${experiment.number}`, "success");
      onStarted(doc);
    } catch (error) {
      showErrors(form, error);
    } finally {
      start.disabled = false;
    }
  });
  setTimeout(() => maxEpochs.focus(), 0);
  return modal;
}

const tile = (label, value, sub, extra = {}) => h("div", { class: "tile", ...extra }, h("div", { class: "label" }, label), h("div", { class: "value" }, value), sub ? h("div", { class: "sub" }, sub) : null);

/** "Promote to production" for the best full training when it is not the deployed one; the cards redraw with
 * the Currently deployed card the promotion answers. */
function promoteButton(summary, open) {
  const best = summary.full_trains.best?.experiment;
  const deployed = summary.currently_deployed?.experiment;
  if (!best || (deployed && deployed.id === best.id)) return null;
  const button = h("button", { type: "button", class: "small promote-full-training" }, `Promote ${best.label} to production`);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const answer = await fullTraining.promote(best.id);
      toast(`${best.label} is production: ${answer.model_name} v${answer.version}`, "success");
      const host = button.closest(".tiles");
      if (host) mount(host, ...fullTrainingTiles({ ...summary, currently_deployed: answer.currently_deployed }, open));
    } catch (error) {
      toast(error.message || String(error), "error");
      button.disabled = false;
    }
  });
  return button;
}

/** The spec's Full Trains and Currently deployed cards from `/api/full-training/summary`. */
export function fullTrainingTiles(summary, open) {
  const primary = primaryMetric();
  const trains = summary.full_trains;
  const best = trains.best;
  const deployed = summary.currently_deployed;
  const link = (experiment) => h("button", { type: "button", class: "small ghost tile-link", onClick: () => open(experiment.id) }, `${experiment.label} · ${experiment.name}`);
  return [
    tile("Quick Tests", int(summary.quick_tests), null, { dataset: { stat: "quick-tests" } }),
    tile("Full Trains", int(trains.total), [`${int(trains.completed)} completed · ${int(trains.active)} active`,
      best ? h("div", {}, `best ${formatMetric(primary, best.value)} `, link(best.experiment)) : null,
      promoteButton(summary, open)], { dataset: { stat: "full-trains" } }),
    tile("Currently Deployed", deployed ? formatMetric(primary, deployed.recall_at_100) : "—", deployed
      ? [h("div", { class: "deployed-model", title: deployed.pushed_model_uri || "" }, `${deployed.model_name} v${deployed.version ?? "?"} @${deployed.alias}`),
        deployed.experiment ? link(deployed.experiment) : null,
        deployed.from !== "mlflow" ? h("div", { class: "muted small" }, `from ${deployed.from}`) : null]
      : "no full training pushed yet", { dataset: { stat: "deployed" } }),
  ];
}

const r2 = (value) => fixed(value, 2);
const interval = (pair) => (pair ? ` [${r2(pair[0])}, ${r2(pair[1])}]` : "");

/** Per configuration its quick test and full training side by side, with ρ, τ, n and the winner. */
export function agreementPanel(agreement, open) {
  const primary = primaryMetric();
  const label = metricLabel(primary);
  const body = h("div", {});
  const rows = agreement.rows || [];
  mount(body,
    h("p", { class: "agreement-reading" }, agreement.reading),
    h("dl", { class: "agreement-figures inline-dl" },
      h("dt", {}, "Spearman ρ"), h("dd", { dataset: { figure: "spearman" } }, `${r2(agreement.spearman)}${interval(agreement.spearman_interval)}`),
      h("dt", {}, "Kendall τ"), h("dd", { dataset: { figure: "kendall" } }, `${r2(agreement.kendall)}${interval(agreement.kendall_interval)}`),
      h("dt", {}, "n"), h("dd", { dataset: { figure: "n" } }, int(agreement.n)),
      h("dt", {}, "Quick winner = full winner"), h("dd", { dataset: { figure: "winner" } }, agreement.quick_winner_is_full_winner == null ? "—" : agreement.quick_winner_is_full_winner ? "yes" : "no")),
    rows.length ? h("table", { class: "table agreement-table" },
      h("thead", {}, h("tr", {}, h("th", {}, "Configuration (quick test)"), h("th", {}, `Quick ${label}`), h("th", {}, "Full training"), h("th", {}, `Full ${label}`), h("th", {}, "Best epoch"))),
      h("tbody", {}, rows.map((r) => h("tr", { dataset: { key: r.key } },
        h("td", {}, h("button", { type: "button", class: "small ghost", onClick: () => open(r.quick.id) }, `${r.quick.label} · ${r.quick.name}`), r.key === agreement.quick_winner ? " ★" : ""),
        h("td", {}, formatMetric(primary, r.quick_recall_at_100)),
        h("td", {}, h("button", { type: "button", class: "small ghost", onClick: () => open(r.full.id) }, `${r.full.label}`), r.key === agreement.full_winner ? " ★" : "", h("span", { class: "muted small" }, ` ${dateTime(r.full.finished_at)}`)),
        h("td", {}, formatMetric(primary, r.full_recall_at_100)),
        h("td", {}, r.best_epoch ?? "—"))))) : null);
  return body;
}

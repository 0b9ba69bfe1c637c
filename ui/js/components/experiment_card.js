/** One experiment as a card: identity, configs, key parameters, stage bar, View and Cancel. */
import { h } from "../lib/dom.js";
import { estimateOutcome, outcomeText } from "../lib/estimates.js";
import { dateTime, duration, secondsBetween, truncate } from "../lib/format.js";
import { formatMetric, metricLabel, primaryMetric } from "../lib/metrics.js";
import { currentStage, isActive, isCancellable, statusClass } from "../lib/status.js";
import { progressBar } from "./progress_bar.js";
import { baselineLine, warningsLine } from "./launch_warnings.js";
import { splitLabel, statusBadge } from "./labels.js";
import { seedGroupSlot } from "./noise.js";
import { runFullTrainingButton, runKindBadge } from "./full_training.js";

/** Where a queued experiment stands: every run slot of the deployment is taken (decision 052). */
function queueCaption(experiment) {
  const position = experiment.queue_position;
  return position ? `Queued: ${position} of ${experiment.queue_length} waiting for a run slot` : "Queued: waiting for a run slot";
}

/** "tracking delayed" while MLflow lacks part of the run (the trainer's journal holds it until the sync). */
function trackingBadge(experiment) {
  if (experiment.tracking?.state !== "delayed") return null;
  const reason = experiment.tracking.reason ? `${experiment.tracking.reason}. ` : "";
  return h("span", { class: ["badge", "status-running", "tracking-delayed"], title: `${reason}The run's history is safe in the artifact store; MLflow gets it when it answers.` }, "tracking delayed");
}

/** A full training's restored epoch: "best epoch 7 of 10 (stopped early)". */
function bestEpoch(experiment) {
  const t = experiment.results?.training;
  if (!experiment.full_training || !t?.best_epoch) return null;
  return h("span", { class: "muted best-epoch" }, ` · best epoch ${t.best_epoch} of ${t.epochs_run}${t.early_stopped ? " (stopped early)" : ""}`);
}

/** Ticks every running card's "elapsed" once a second, between updates of its experiment; stops when none is left. */
let ticker = null;
function tickElapsed() {
  const clocks = document.querySelectorAll(".exp-card .elapsed[data-since]");
  if (!clocks.length) {
    clearInterval(ticker);
    ticker = null;
    return;
  }
  clocks.forEach((clock) => {
    clock.textContent = `elapsed ${duration(secondsBetween(clock.dataset.since, null))}`;
  });
}
function elapsedClock(experiment, elapsed) {
  if (elapsed == null) return h("span", { class: "muted elapsed" }, "");
  if (!isActive(experiment)) return h("span", { class: "muted elapsed" }, `took ${duration(elapsed)}`);
  ticker ??= setInterval(tickElapsed, 1000);
  const since = experiment.started_at || experiment.created_at;
  return h("span", { class: "muted elapsed", dataset: { since } }, `elapsed ${duration(elapsed)}`);
}

/** A click anywhere on the card opens its view, except on its own controls and links or while selecting text. */
function openOnClick(card, open) {
  card.classList.add("opens-view");
  card.addEventListener("click", (event) => {
    const control = event.target.closest("button, a, input, select, textarea, summary, label, [role='button'], [tabindex]");
    if (control && control !== card && card.contains(control)) return;
    if (String(window.getSelection?.() || "")) return;
    open();
  });
  return card;
}

/** Render a card; `onView(experiment)` and `onCancel(experiment)` are its actions, and a completed quick test's
 * "Run Full Training" opens the new run's view. */
export function experimentCard(experiment, { onView, onCancel }) {
  const p = experiment.parameters || {};
  const results = experiment.results || {};
  const stage = currentStage(experiment);
  const cancelling = experiment.cancel_requested && isActive(experiment);
  const elapsed = secondsBetween(experiment.started_at || experiment.created_at, experiment.finished_at);
  const outcome = estimateOutcome(experiment);

  const viewButton = h("button", { type: "button", class: "success", onClick: () => onView(experiment) }, "View");
  const cancelButton = h(
    "button",
    {
      type: "button",
      class: isCancellable(experiment) ? "danger" : "danger-outline",
      disabled: !isCancellable(experiment),
      title: isCancellable(experiment) ? "Stop this experiment" : cancelling ? "Cancellation in progress" : "Only pending, submitting or running experiments can be cancelled",
      onClick: () => onCancel(experiment),
    },
    cancelling ? "Cancelling…" : "Cancel",
  );
  viewButton.setAttribute("aria-label", `View Exp #${experiment.number}`);
  cancelButton.setAttribute("aria-label", `Cancel Exp #${experiment.number}`);

  let caption;
  const primary = primaryMetric();
  const headline = results.final?.[primary];
  if (experiment.status === "completed") caption = ["Completed", headline != null ? h("span", { class: "metric-chip" }, ` · ${metricLabel(primary)} ${formatMetric(primary, headline)}`) : "", experiment.comparison?.summary ? h("span", { class: "muted" }, ` · ${experiment.comparison.summary}`) : "", bestEpoch(experiment)];
  else if (experiment.status === "failed") caption = ["Failed", experiment.error?.title ? `: ${experiment.error.title}` : ""];
  else if (experiment.status === "cancelled") caption = ["Cancelled"];
  else if (stage && stage.state.status === "running") caption = ["Current: ", stage.label, stage.activity ? ` (${stage.activity})` : ""];
  else if (experiment.status === "queued") caption = [queueCaption(experiment)];
  else caption = [experiment.status === "pending" ? "Waiting to be submitted" : "Starting…"];

  return openOnClick(h(
    "article",
    { class: "card exp-card", dataset: { experimentId: experiment.id, status: experiment.status }, "aria-label": `Exp #${experiment.number}` },
    h(
      "div",
      {},
      h("div", { class: "title" }, h("span", { class: "exp-no" }, `Exp #${experiment.number}`), statusBadge(experiment.status), runKindBadge(experiment), trackingBadge(experiment)),
      h("div", { class: "name" }, experiment.name),
      experiment.description ? h("div", { class: "desc", title: experiment.description }, truncate(experiment.description, 50)) : null,
      h(
        "div",
        { class: "small muted" },
        `Started ${dateTime(experiment.started_at || experiment.created_at)}`,
        experiment.finished_at ? ` · Ended ${dateTime(experiment.finished_at)}` : "",
        experiment.created_by ? ` · by ${experiment.created_by}` : "",
      ),
      warningsLine(experiment),
      baselineLine(experiment),
      seedGroupSlot(experiment),
    ),
    h(
      "dl",
      {},
      h("dt", {}, "Dataset"), h("dd", { title: experiment.dataset_snapshot?.name }, experiment.dataset_snapshot?.name ?? "—"),
      h("dt", {}, "Features"), h("dd", { title: experiment.feature_config_snapshot?.name }, experiment.feature_config_snapshot?.name ?? "—"),
      h("dt", {}, "Model"), h("dd", { title: experiment.model_config_snapshot?.name }, experiment.model_config_snapshot?.name ?? "—"),
    ),
    h(
      "dl",
      {},
      h("dt", {}, "Sample"), h("dd", {}, p.sample_percent != null ? `${p.sample_percent}%` : "—"),
      h("dt", {}, "Split"), h("dd", {}, splitLabel(p.split)),
      h("dt", {}, "Training"), h("dd", {}, experiment.full_training
        ? `≤ ${experiment.full_training.max_epochs} epochs, patience ${experiment.full_training.patience} · batch ${p.batch_size ?? "—"} · lr ${p.learning_rate ?? "—"}`
        : `${p.epochs ?? "—"} epoch${p.epochs === 1 ? "" : "s"} · batch ${p.batch_size ?? "—"} · lr ${p.learning_rate ?? "—"}`),
      h("dt", {}, "Hardware"), h("dd", { style: { textTransform: "capitalize" } }, p.hardware_tier ?? "—"),
    ),
    h("div", { class: "actions" }, viewButton, cancelButton, runFullTrainingButton(experiment, { onStarted: (doc) => onView(doc) })),
    h(
      "div",
      { class: "progress" },
      progressBar(experiment),
      h(
        "div",
        { class: "caption" },
        h("span", { class: statusClass(experiment.status) === "status-failed" ? "delta-down" : "" }, ...caption),
        elapsedClock(experiment, elapsed),
        outcome ? h("span", { class: "muted estimate-outcome", title: "The launch estimate against the run's duration" }, ` · ${outcomeText(outcome)}`) : null,
      ),
    ),
  ), () => onView(experiment));
}

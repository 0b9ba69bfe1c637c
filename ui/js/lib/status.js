/** Experiment statuses and stages: labels, order, and the colour class used everywhere. */

export const STAGES = [
  { key: "compile", label: "Compile", component: "Compile" },
  { key: "examples", label: "Examples", component: "ExampleGen" },
  { key: "stats", label: "Stats", component: "StatisticsGen" },
  { key: "schema", label: "Schema", component: "SchemaGen" },
  { key: "transform", label: "Transform", component: "Transform" },
  { key: "train", label: "Train", component: "Trainer" },
  { key: "push", label: "Push", component: "Pusher", fullTrainingOnly: true },
];

/** The stages of this experiment: six for a quick test, Push too for a full training (decision 075). */
export function stagesOf(experiment) {
  return STAGES.filter((stage) => !stage.fullTrainingOnly || experiment?.full_training != null);
}

export const ACTIVE = new Set(["pending", "queued", "submitting", "running"]);
export const TERMINAL = new Set(["completed", "failed", "cancelled"]);

export const STAGE_ICONS = { pending: "○", running: "◐", succeeded: "✓", failed: "✗", cancelled: "■" };

export function isActive(experiment) {
  return ACTIVE.has(experiment?.status);
}

export function isCancellable(experiment) {
  return isActive(experiment) && !experiment.cancel_requested;
}

export function statusClass(status) {
  return `status-${status || "pending"}`;
}

export function stageState(experiment, key) {
  return experiment?.stages?.[key] || { status: "pending" };
}

/** The stage currently running, else the last one that finished. */
export function currentStage(experiment) {
  const states = stagesOf(experiment).map((stage) => ({ ...stage, state: stageState(experiment, stage.key) }));
  return (
    states.find((s) => s.state.status === "running") ||
    states.find((s) => s.state.status === "failed") ||
    [...states].reverse().find((s) => s.state.status === "succeeded") ||
    null
  );
}

/** Experiment statuses and stages: labels, order, and the colour class used everywhere. */

/** `activity`: what the stage is doing while it runs, as the card says it ("Current: Transform (building
 * vocabularies)"); the same words as the log summary's progress lines of its components (domain/log_summary.py). */
export const STAGES = [
  { key: "compile", label: "Compile", component: "Compile", activity: "compiling the pipeline" },
  { key: "examples", label: "Examples", component: "ExampleGen", activity: "reading and splitting the data" },
  { key: "stats", label: "Stats", component: "StatisticsGen", activity: "computing statistics" },
  { key: "schema", label: "Schema", component: "SchemaGen", activity: "inferring the schema" },
  { key: "transform", label: "Transform", component: "Transform", activity: "building vocabularies" },
  { key: "train", label: "Train", component: "Trainer", activity: "training and evaluating the model" },
  { key: "push", label: "Push", component: "Pusher", fullTrainingOnly: true, activity: "pushing and registering the model" },
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

/** The stage progress bar (six stages; seven for a full training): grey pending, orange running, green done, red failed. */
import { h } from "../lib/dom.js";
import { dateTime, duration, secondsBetween } from "../lib/format.js";
import { STAGE_ICONS, stageState, stagesOf } from "../lib/status.js";

const STATUS_WORDS = { pending: "pending", running: "running", succeeded: "done", failed: "failed", cancelled: "cancelled" };

export function progressBar(experiment) {
  const stages = stagesOf(experiment);
  return h(
    "ol",
    { class: "stages", "aria-label": "Pipeline stages", style: { listStyle: "none", margin: 0, padding: 0, gridTemplateColumns: `repeat(${stages.length}, minmax(0, 1fr))` } },
    stages.map((stage) => {
      const state = stageState(experiment, stage.key);
      const status = state.status || "pending";
      const took = secondsBetween(state.started_at, state.finished_at || (status === "running" ? null : state.started_at));
      const tip = [
        `${stage.label}: ${STATUS_WORDS[status] || status}${state.cached ? " (cached)" : ""}`,
        state.started_at ? `started ${dateTime(state.started_at)}` : null,
        state.finished_at ? `finished ${dateTime(state.finished_at)}` : null,
        took != null && state.started_at ? `took ${duration(took)}` : null,
        state.message || null,
      ].filter(Boolean).join(" · ");
      return h(
        "li",
        { class: ["stage", `stage-${status}`], title: tip, dataset: { stage: stage.key, status } },
        h("span", { "aria-hidden": "true" }, STAGE_ICONS[status] || "○"),
        h("span", {}, stage.label),
        h("span", { class: "visually-hidden" }, `: ${STATUS_WORDS[status] || status}`),
      );
    }),
  );
}

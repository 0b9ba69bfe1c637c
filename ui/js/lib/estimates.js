/** A finished run's launch estimate against what it took (decision 093), as the API's outcome computes it. */
import { duration, percentText, secondsBetween } from "./format.js";

/** `{ estimated, actual, error }` for a completed run that kept its estimate, else null; error = (estimated − actual) / actual. */
export function estimateOutcome(experiment) {
  const estimated = experiment?.estimate?.duration_s;
  const actual = experiment?.status === "completed" ? secondsBetween(experiment.started_at, experiment.finished_at) : null;
  if (estimated == null || !actual) return null;
  return { estimated, actual, error: (estimated - actual) / actual };
}

/** "estimated ~1 min 5 s, 12% under" — how far off the estimate was, in words. */
export function outcomeText(outcome) {
  const percent = Math.round(Math.abs(outcome.error) * 100);
  const side = percent === 0 ? "on the mark" : outcome.error < 0 ? `${percentText(percent)} under` : `${percentText(percent)} over`;
  return `estimated ~${duration(outcome.estimated)}, ${side}`;
}

/**
 * Reading an experiment's `results` (the pipeline's metrics): headline metrics, the popularity
 * baseline, the evaluation protocol and every numeric leaf, tolerant of nesting.
 */
import { isNum } from "./format.js";

export const RECALL_KS = [10, 50, 100];

function pick(obj, ...paths) {
  for (const path of paths) {
    const value = path.split(".").reduce((o, k) => (o && typeof o === "object" ? o[k] : undefined), obj);
    if (value !== undefined && value !== null) return value;
  }
  return undefined;
}

export function recall(results, k) {
  return pick(results, `recall_at_${k}`, `test_recall_at_${k}`, `model.recall_at_${k}`);
}

export function baselineRecall(results, k) {
  return pick(results, `baseline.recall_at_${k}`, `popularity.recall_at_${k}`, `popularity_recall_at_${k}`, `baseline_recall_at_${k}`, `baselines.popularity.recall_at_${k}`);
}

export function testLoss(results) {
  return pick(results, "test_loss", "loss", "final_test_loss");
}

export function protocol(results) {
  return pick(results, "protocol", "evaluation.protocol") || null;
}

/** Vocabulary rows `[{feature, size, oov_rate, tower}]` from a dict or list. */
export function vocabularies(source) {
  const raw = source && !Array.isArray(source) && typeof source === "object" && ("features" in source || "vocabulary" in source || "vocabularies" in source)
    ? (source.features || source.vocabulary || source.vocabularies)
    : source;
  if (!raw) return [];
  const entries = Array.isArray(raw) ? raw.map((v) => [v.feature || v.name || v.column, v]) : Object.entries(raw);
  return entries
    .map(([feature, v]) => ({
      feature,
      tower: v?.tower,
      size: pick(v, "vocabulary_size", "vocab_size", "size"),
      oov_rate: pick(v, "oov_rate", "eval_oov_rate", "oov"),
    }))
    .filter((row) => row.feature && (isNum(row.size) || isNum(row.oov_rate)));
}

/** Every numeric leaf: `[[dotted.name, value]]`. */
export function flatten(results, prefix = "") {
  const out = [];
  for (const [key, value] of Object.entries(results || {})) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (isNum(value)) out.push([name, value]);
    else if (value && typeof value === "object" && !Array.isArray(value)) out.push(...flatten(value, name));
  }
  return out;
}

/** `recall_at_100` → `Recall@100`; `baseline.recall_at_100` → `Baseline Recall@100`. */
export function metricLabel(name) {
  return name.split(".").map((part) => {
    const [head, k] = part.split("_at_");
    const text = head.replace(/_/g, " ").trim();
    const cap = text.charAt(0).toUpperCase() + text.slice(1);
    return k ? `${cap}@${k}` : cap;
  }).join(" ");
}

export function isRate(name) {
  return /recall|precision|accuracy|ndcg|hit_rate|coverage|oov|_rate|percent/.test(name);
}

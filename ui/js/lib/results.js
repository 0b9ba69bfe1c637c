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

/** Model recall@k; `variant` "excluding_train_items" ranks without the buyer's training items. */
export function recall(results, k, variant = "") {
  const suffix = variant ? `_${variant}` : "";
  return pick(results, `final.recall_at_${k}${suffix}`, `recall_at_${k}${suffix}`, `test_recall_at_${k}${suffix}`);
}

/** Most-popular baseline recall@k under the same protocol. */
export function baselineRecall(results, k, variant = "") {
  const suffix = variant ? `_${variant}` : "";
  return pick(results, `final.popularity_recall_at_${k}${suffix}`, `popularity_recall_at_${k}${suffix}`, `baseline.recall_at_${k}`);
}

export function randomRecall(results) {
  return pick(results, "recall.random_recall_at_100", "random_recall_at_100");
}

export function testLoss(results) {
  return pick(results, "final.test_loss", "test_loss");
}

/** Per-epoch history kept in the results (`[{epoch, loss, val_loss, ...}]`) as tracker-like series. */
export function historySeries(results) {
  const out = {};
  for (const row of Array.isArray(results?.history) ? results.history : []) {
    for (const [name, value] of Object.entries(row)) {
      if (name === "epoch" || !isNum(value)) continue;
      (out[name] ||= []).push({ step: isNum(row.epoch) ? row.epoch : out[name].length + 1, value });
    }
  }
  return out;
}

export function protocol(results) {
  return pick(results, "protocol", "evaluation.protocol") || null;
}

/** Vocabulary rows `[{feature, size, oov_rate, tower}]` from a dict or list. */
export function vocabularies(source) {
  const raw = source && !Array.isArray(source) && typeof source === "object" && ("vocabularies" in source || "vocabulary" in source)
    ? (source.vocabularies || source.vocabulary)
    : source;
  if (!raw) return [];
  const entries = Array.isArray(raw) ? raw.map((v) => [v.feature || v.name || v.column, v]) : Object.entries(raw);
  return entries
    .map(([feature, v]) => ({
      feature: v?.column || feature,
      tower: v?.tower || (String(feature).includes(".") ? String(feature).split(".")[0] : undefined),
      kind: v?.kind,
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

const METRIC_VARIANTS = { _excluding_train_items: "excl. training items" };

/**
 * The API's metric labels (`metric_label` in handlers/experiments.py): `recall_at_100` →
 * `Recall@100`; `popularity_recall_at_10` → `Popularity Recall@10`;
 * `recall_at_100_excluding_train_items` → `Recall@100 (excl. training items)`;
 * `baseline.recall_at_100` → `Baseline Recall@100`.
 */
export function metricLabel(name) {
  return name.split(".").map((whole) => {
    const variant = Object.keys(METRIC_VARIANTS).find((suffix) => whole.endsWith(suffix));
    const part = variant ? whole.slice(0, -variant.length) : whole;
    const [head, k] = part.split("_at_");
    const words = head.split("_").filter(Boolean);
    if (k && words.length) words[words.length - 1] = words[words.length - 1].charAt(0).toUpperCase() + words[words.length - 1].slice(1);
    const text = words.join(" ");
    const label = (text.charAt(0).toUpperCase() + text.slice(1)) + (k ? `@${k}` : "");
    return variant ? `${label} (${METRIC_VARIANTS[variant]})` : label;
  }).join(" ");
}

export function isRate(name) {
  return /recall|precision|accuracy|ndcg|hit_rate|coverage|oov|_rate|percent/.test(name);
}

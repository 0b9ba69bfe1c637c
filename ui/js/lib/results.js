/**
 * Reading an experiment's `results` (the metrics report, `domain/metrics_report.py`): each value
 * from the one place the report keeps it. Labels, directions and formats come from the metric
 * catalogue (`metrics.js`).
 */
import { isNum } from "./format.js";

export const EXCLUDING = "excluding_train_items";

const final = (results, name) => results?.final?.[name];
const suffix = (variant) => (variant ? `_${variant}` : "");

/** Model recall@k; `variant` "excluding_train_items" ranks without the buyer's training items. */
export const recall = (results, k, variant = "") => final(results, `recall_at_${k}${suffix(variant)}`);

/** Most-popular baseline recall@k under the same protocol. */
export const baselineRecall = (results, k, variant = "") => final(results, `popularity_recall_at_${k}${suffix(variant)}`);

export const randomRecall = (results) => results?.recall?.random_recall_at_100;

/** Per-epoch history kept in the results (`[{epoch, loss, val_loss, ...}]`) as tracker-like series. */
export function historySeries(results) {
  const out = {};
  for (const row of Array.isArray(results?.history) ? results.history : []) {
    for (const [name, value] of Object.entries(row)) {
      if (name === "epoch" || !isNum(value)) continue;
      (out[name] ||= []).push({ step: row.epoch, value });
    }
  }
  return out;
}

export const protocol = (results) => results?.protocol || null;

/** Vocabulary rows `[{feature, tower, kind, size, oov_rate}]` of the report's `vocabularies`. */
export function vocabularies(results) {
  return Object.entries(results?.vocabularies || {}).map(([key, v]) => ({
    feature: v.column || key, tower: v.tower, kind: v.kind, size: v.vocab_size, oov_rate: v.oov_rate,
  }));
}

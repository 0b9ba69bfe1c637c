/** Small shared labels: status badges, split strategies, feature and tower summaries. */
import { h } from "../lib/dom.js";
import { statusClass } from "../lib/status.js";

export function statusBadge(status) {
  return h("span", { class: ["badge", statusClass(status)], dataset: { status } }, status || "unknown");
}

export function splitLabel(split) {
  if (!split) return "—";
  if (split.strategy === "random") {
    const test = 100 - (split.train_percent ?? 80) - (split.val_percent ?? 10);
    return `Random ${split.train_percent ?? 80}/${split.val_percent ?? 10}/${test}`;
  }
  if (split.strategy === "time_holdout") return `Time holdout: last ${split.holdout_days} days of ${split.date_column}`;
  if (split.strategy === "buyer_time") return `Each buyer's latest ${split.test_percent}% by ${split.date_column}`;
  if (split.strategy === "strict_time") return `Strict time ${split.train_days}/${split.val_days}/${split.test_days} days`;
  return split.strategy || "—";
}

/** `user_id(64d)`, `age(norm)`, `price(10 buckets, 8d)`. */
export function featureLabel(feature) {
  switch (feature.kind) {
    case "numeric":
      return feature.transform === "bucketize" ? `${feature.column}(${feature.buckets}b, ${feature.embedding_dim}d)` : `${feature.column}(norm)`;
    case "timestamp":
      return `${feature.column}(time, ${feature.embedding_dim}d)`;
    case "text":
      return `${feature.column}(text, ${feature.embedding_dim}d)`;
    case "history":
      return `${feature.column}(history, ${feature.max_values ?? 32}v)`;
    default:
      return `${feature.column}(${feature.embedding_dim}d)`;
  }
}

export function crossLabel(cross) {
  return `${cross.columns.join("×")}(${cross.embedding_dim}d)`;
}

export function towerLabel(layers) {
  return Array.isArray(layers) && layers.length ? layers.join("→") : "—";
}

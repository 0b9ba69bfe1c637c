/**
 * Number, percent, time and duration formatting shared by every view: one convention. A rate reads
 * as a percent with one decimal and no space (`47.3%`), a difference of rates in percentage points
 * (`+1.2 pp`), a count with thousands separators (`1,682`, never `15k`), seconds as `1 min 33 s`,
 * any other number (losses too) with four significant digits and thousands separators (`0.0342`,
 * `5,539`, `930.8`). A value read from the data (a year, an id, an epoch timestamp, a column's
 * min/median/max) is no count: it keeps its digits without separators (`1930`, `874724710`).
 * A difference that rounds to zero reads `±0.0 pp` and carries no arrow. Metrics are formatted by
 * their catalogue entry (`formatValue`); `domain/metrics.py` prints the API's display strings by
 * the same rules (tests/unit/test_format_parity.py runs both). No view calls toFixed or
 * toLocaleString itself (tests/unit/test_format_convention.py greps for them).
 */

const DASH = "—";
const INTEGER = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const GROUPED = new Intl.NumberFormat("en-US", { maximumFractionDigits: 20 });
const DATE_TIME = new Intl.DateTimeFormat("en-GB", { day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit", second: "2-digit" });

export function isNum(value) {
  return typeof value === "number" && Number.isFinite(value);
}

export function pct(value, digits = 1) {
  return isNum(value) ? `${(value * 100).toFixed(digits)}%` : DASH;
}

/** Any number that is no metric, count or data value: four significant digits, thousands separators. */
export function num(value, digits = 4) {
  return significant(value, digits);
}

/**
 * A value read from the data (a year, an id, an epoch timestamp, a column's mean): no thousands
 * separators; an integer as it is, another number with `digits` significant digits (`1988.1`).
 */
export function plain(value, digits = 5) {
  if (!isNum(value)) return DASH;
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 10 ** digits) return String(Math.round(value));
  if (abs < 1e-4) return value.toExponential(2);
  return String(Number(value.toPrecision(digits)));
}

/** A number that already is a percent (`12` → `12%`; `digits` decimals when given). */
export function percentText(value, digits = null) {
  if (!isNum(value)) return DASH;
  return `${digits == null ? String(value) : value.toFixed(digits)}%`;
}

/** A coefficient or any number shown with a fixed number of decimals (`0.60`). */
export function fixed(value, digits = 2) {
  return isNum(value) ? value.toFixed(digits) : DASH;
}

/** A signed number of percentage points (`+1.2 pp`, `±0.0 pp` when it rounds to zero); `unit: false` drops "pp". */
export function points(value, digits = 1, { unit = true } = {}) {
  if (!isNum(value)) return DASH;
  const text = Math.abs(value).toFixed(digits);
  const sign = Number(text) === 0 ? "±" : value > 0 ? "+" : "−";
  return `${sign}${text}${unit ? " pp" : ""}`;
}

export function int(value) {
  return isNum(value) ? INTEGER.format(Math.round(value)) : DASH;
}

export function usd(value) {
  if (!isNum(value)) return DASH;
  if (value > 0 && value < 0.01) return "<$0.01";
  return `$${value < 10 ? value.toFixed(2) : value.toFixed(0)}`;
}

/** `digits` significant digits, thousands separators, no trailing zeros. */
export function significant(value, digits = 4) {
  if (!isNum(value)) return DASH;
  return value === 0 ? "0" : GROUPED.format(Number(value.toPrecision(digits)));
}

export function duration(seconds) {
  if (!isNum(seconds) || seconds < 0) return DASH;
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole} s`;
  const minutes = Math.floor(whole / 60);
  const rest = whole % 60;
  if (minutes < 60) return rest ? `${minutes} min ${rest} s` : `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** A value by its metric catalogue entry (`{format, digits}`): percent, count, duration or decimal. */
export function formatValue(spec, value) {
  if (!isNum(value)) return DASH;
  if (spec.format === "percent") return pct(value, spec.digits);
  if (spec.format === "count") return int(value);
  if (spec.format === "duration") return duration(value);
  return significant(value, spec.digits);
}

/**
 * A signed difference by its metric's entry: percentage points for rates (`+1.2 pp`), else the
 * value's format. The sign is the shown number's: a difference that rounds to zero reads `±0.0 pp`.
 */
export function formatDelta(spec, delta) {
  if (!isNum(delta)) return DASH;
  const text = spec.format === "percent" ? `${(Math.abs(delta) * 100).toFixed(spec.digits)} pp` : formatValue(spec, Math.abs(delta));
  const sign = roundsToZero(text) ? "±" : delta > 0 ? "+" : "−";
  return `${sign}${text}`;
}

/** A difference with an arrow (`↑ 1.2 pp`, `↓ 0.3 pp`), no arrow when it rounds to zero (`= 0.0 pp`). */
export function formatChange(spec, delta) {
  if (!isNum(delta)) return DASH;
  const signed = formatDelta(spec, delta);
  const arrow = signed.startsWith("±") ? "=" : delta > 0 ? "↑" : "↓";
  return `${arrow} ${signed.slice(1)}`;
}

function roundsToZero(text) {
  return !/[1-9]/.test(text);
}

export function secondsBetween(start, end) {
  if (!start) return null;
  const a = Date.parse(start);
  const b = end ? Date.parse(end) : Date.now();
  return Number.isNaN(a) || Number.isNaN(b) ? null : Math.max(0, (b - a) / 1000);
}

export function dateTime(value) {
  if (!value) return DASH;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return DASH;
  return DATE_TIME.format(date);
}

export function truncate(text, length) {
  const value = text == null ? "" : String(text);
  return value.length > length ? `${value.slice(0, length - 1)}…` : value;
}

export function dash(value) {
  return value === null || value === undefined || value === "" ? DASH : String(value);
}

export { DASH };

const FIELD_NAMES = {
  query_features: "Query feature", candidate_features: "Candidate feature", cross_features: "Cross feature",
  query_tower_layers: "Query tower layer", candidate_tower_layers: "Candidate tower layer",
  buyer_features: "Buyer features table", product_features: "Product features table",
  feature_config_id: "Feature config", model_config_id: "Model config", dataset_id: "Dataset",
  query_id_column: "Buyer id column", candidate_id_column: "Product id column", embedding_dim: "embedding dim",
};
const FIELD_PATH = /^(?:body\.)?[a-z_][a-z0-9_]*(?:\[\d+\]|\.\d+|\.[a-z_][a-z0-9_]*)*$/;

/**
 * A field path as a person names it: `query_features[0].column` → "Query feature 1 column",
 * `parameters.split.train_percent` → "Split train percent".
 */
export function fieldLabel(path) {
  const parts = String(path || "").replace(/^body\./, "").replace(/\[(\d+)\]/g, ".$1").split(".").filter(Boolean);
  if (parts[0] === "parameters" && parts.length > 1) parts.shift();
  const words = parts.map((part, i) => {
    if (/^\d+$/.test(part)) return String(Number(part) + 1);
    const named = FIELD_NAMES[part];
    if (named) return i === 0 ? named : named.toLowerCase();
    return part.replace(/_/g, " ");
  });
  const text = words.join(" ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A message with the field paths it starts its clauses with named for people ("query_features[0].column: …"). */
export function readableMessage(message) {
  return String(message ?? "").replace(/(^|: )([a-z_][a-z0-9_.[\]]*): /g, (whole, lead, path) => (FIELD_PATH.test(path) ? `${lead}${fieldLabel(path)}: ` : whole));
}

/**
 * Number, percent, time and duration formatting shared by every view: one convention. A rate reads
 * as a percent with one decimal (`47.3%`), a difference of rates in percentage points (`+1.2 pp`),
 * a count with thousands separators (`1,682`), seconds as `1 min 33 s`, any other number with four
 * significant digits (`0.0342`, `1,524`). Metrics are formatted by their catalogue entry
 * (`formatValue`); `domain/metrics.py` prints the API's display strings by the same rules
 * (tests/unit/test_format_parity.py runs both).
 */

const DASH = "—";
const INTEGER = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const NUMBER = new Intl.NumberFormat("en-US");
const GROUPED = new Intl.NumberFormat("en-US", { maximumFractionDigits: 20 });
const DATE_TIME = new Intl.DateTimeFormat("en-GB", { day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit", second: "2-digit" });

export function isNum(value) {
  return typeof value === "number" && Number.isFinite(value);
}

export function pct(value, digits = 1) {
  return isNum(value) ? `${(value * 100).toFixed(digits)}%` : DASH;
}

export function num(value, digits = 4) {
  if (!isNum(value)) return DASH;
  if (Number.isInteger(value)) return NUMBER.format(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return value.toExponential(2);
  const places = abs >= 100 ? Math.min(digits, 1) : abs >= 10 ? Math.min(digits, 2) : digits;
  return Number(value.toFixed(places)).toString();
}

export function int(value) {
  return isNum(value) ? INTEGER.format(Math.round(value)) : DASH;
}

export function compact(value) {
  if (!isNum(value)) return DASH;
  if (Math.abs(value) >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (Math.abs(value) >= 1e4) return `${(value / 1e3).toFixed(0)}k`;
  return NUMBER.format(value);
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

/** A signed difference by its metric's entry: percentage points for rates (`+1.2 pp`), else the value's format. */
export function formatDelta(spec, delta) {
  if (!isNum(delta)) return DASH;
  const sign = delta > 0 ? "+" : delta < 0 ? "−" : "±";
  if (spec.format === "percent") return `${sign}${(Math.abs(delta) * 100).toFixed(spec.digits)} pp`;
  return `${sign}${formatValue(spec, Math.abs(delta))}`;
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

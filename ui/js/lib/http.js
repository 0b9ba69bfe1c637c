/**
 * JSON over HTTP with the gateway's error shape
 * (`{"error_code", "message", "field", "suggestions", "details"}`) turned into `ApiError`, whose
 * messages name fields as people do ("Query feature 1 column: …", not `query_features[0].column: …`).
 */
import { readableMessage } from "./format.js";

export class ApiError extends Error {
  constructor(status, body) {
    const message = body?.message || body?.error || `request failed with HTTP ${status}`;
    super(readableMessage(message));
    this.status = status;
    this.code = body?.error_code || "HTTP_" + status;
    this.field = body?.field || null;
    this.suggestions = body?.suggestions || [];
    this.details = body?.details || {};
  }

  /** Field-level problems: `[{field, message}]`, from `field` and from `details.errors` when present. */
  fieldErrors() {
    const out = [];
    const listed = this.details?.errors;
    if (Array.isArray(listed)) {
      for (const item of listed) {
        const field = item.field ?? (Array.isArray(item.loc) ? item.loc.join(".") : null);
        if (field) out.push({ field, message: readableMessage(item.message || item.msg || String(item)) });
      }
    }
    if (this.field && !out.some((e) => e.field === this.field)) {
      out.push({ field: this.field, message: this.message });
    }
    return out;
  }
}

/** Retries of a GET the gateway refused as overloaded (503 `OVERLOADED`, decision 058), each after its `Retry-After`. */
export const OVERLOAD_RETRIES = 3;

function retryDelayMs(response) {
  const seconds = Number(response.headers.get("Retry-After"));
  return Math.min(Math.max(Number.isFinite(seconds) ? seconds : 1, 0.2), 10) * 1000;
}

function pause(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new DOMException("Aborted", "AbortError"));
    }, { once: true });
  });
}

/**
 * Fetch JSON; resolve to the parsed body, reject with `ApiError` (or a network `Error`). A GET the
 * gateway refuses as overloaded is sent again after its `Retry-After`, up to `OVERLOAD_RETRIES` times.
 */
export async function request(method, url, body, { signal } = {}) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await requestOnce(method, url, body, signal);
    } catch (error) {
      const overloaded = error instanceof ApiError && error.status === 503 && error.code === "OVERLOADED";
      if (method !== "GET" || !overloaded || attempt >= OVERLOAD_RETRIES) throw error;
      await pause(error.retryAfterMs, signal);
    }
  }
}

async function requestOnce(method, url, body, signal) {
  const init = { method, headers: { Accept: "application/json" }, signal };
  if (body instanceof FormData) {
    init.body = body; // multipart: the browser sets Content-Type with its boundary
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new Error(`The server could not be reached (${error.message}). Is the gateway running?`);
  }
  const text = await response.text();
  let parsed = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { message: text.slice(0, 300) };
    }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, parsed);
    error.retryAfterMs = retryDelayMs(response);
    throw error;
  }
  return parsed;
}

export const get = (url, opts) => request("GET", url, undefined, opts);
export const post = (url, body, opts) => request("POST", url, body ?? {}, opts);
export const put = (url, body, opts) => request("PUT", url, body, opts);
export const patch = (url, body, opts) => request("PATCH", url, body, opts);
export const del = (url, opts) => request("DELETE", url, undefined, opts);

/** `?a=1&b=2` from an object, skipping empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) value.forEach((v) => search.append(key, v));
    else search.set(key, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

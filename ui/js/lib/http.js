/**
 * JSON over HTTP with the gateway's error shape
 * (`{"error_code", "message", "field", "suggestions", "details"}`) turned into `ApiError`.
 */

export class ApiError extends Error {
  constructor(status, body) {
    const message = body?.message || body?.error || `request failed with HTTP ${status}`;
    super(message);
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
        if (field) out.push({ field, message: item.message || item.msg || String(item) });
      }
    }
    if (this.field && !out.some((e) => e.field === this.field)) {
      out.push({ field: this.field, message: this.message });
    }
    return out;
  }
}

/** Fetch JSON; resolve to the parsed body, reject with `ApiError` (or a network `Error`). */
export async function request(method, url, body, { signal } = {}) {
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
  if (!response.ok) throw new ApiError(response.status, parsed);
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

/**
 * Form fields with an error slot each, and placement of API validation errors beside the
 * field they name (`query_features[0].column` → the input with `data-field="query_features.0.column"`).
 */
import { h, nextId } from "./dom.js";
import { fieldLabel } from "./format.js";

/** A labelled field. `control` gets an id and `data-field=name`; returns the wrapper element. */
export function field(labelText, control, { name, hint, required } = {}) {
  const id = control.id || nextId("f");
  control.id = id;
  const errorId = `${id}-error`;
  if (name) control.dataset.field = name;
  if (required) control.required = true;
  control.setAttribute("aria-describedby", errorId);
  return h(
    "div",
    { class: "field", dataset: name ? { fieldWrap: name } : {} },
    h("label", { for: id }, labelText, required ? h("span", { "aria-hidden": "true", class: "muted" }, " *") : null),
    control,
    hint ? h("span", { class: "hint" }, hint) : null,
    h("span", { class: "field-error", id: errorId, role: "alert" }),
  );
}

export function input(attrs = {}) {
  return h("input", { type: "text", ...attrs });
}

export function select(options, attrs = {}) {
  const el = h("select", attrs);
  setOptions(el, options, attrs.value);
  return el;
}

/** Replace a select's options: `[[value, label]]` or `[value]`. Keeps the value when still present. */
export function setOptions(el, options, value = el.value) {
  el.replaceChildren(...options.map((option) => {
    const [v, label] = Array.isArray(option) ? option : [option, option];
    return h("option", { value: v }, label);
  }));
  if (value !== undefined && options.some((o) => String(Array.isArray(o) ? o[0] : o) === String(value))) el.value = value;
}

export function normalizePath(path) {
  return String(path || "").replace(/\[(\d+)\]/g, ".$1").replace(/^body\./, "").replace(/^\./, "");
}

/** Clear every field error inside `form`. */
export function clearErrors(form) {
  form.querySelectorAll(".field.invalid").forEach((el) => el.classList.remove("invalid"));
  form.querySelectorAll(".field-error").forEach((el) => (el.textContent = ""));
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  form.querySelectorAll(".form-error").forEach((el) => el.replaceChildren());
}

const TAG_SEGMENT = /^(random|time_holdout|strict_time|buyer_time|id|categorical|numeric|timestamp|text|history|function-after\[.*\]|tagged-union\[.*\])$/;

function prefixes(parts) {
  const out = [];
  for (let end = parts.length; end > 0; end -= 1) out.push(parts.slice(0, end).join("."));
  return out;
}

/** The control named by an error path; pydantic's union tags in the path are skipped. */
function findControl(form, path) {
  const parts = normalizePath(path).split(".").filter(Boolean);
  const untagged = parts.filter((p) => !TAG_SEGMENT.test(p));
  for (const candidate of [...prefixes(untagged), ...prefixes(parts)]) {
    const el = form.querySelector(`[data-field="${CSS.escape(candidate)}"]`);
    if (el) return el;
  }
  return null;
}

/**
 * Show an `ApiError`'s field problems beside the fields; problems without a matching field (or
 * a message without a field) go to the form's `.form-error` box, their field named as people name
 * it ("Query feature 1 column: …"). A problem already told by a message shown beside a field (a
 * feature config that does not fit the dataset, with the column that does not) is shown once.
 * Focuses the first bad field.
 */
export function showErrors(form, error) {
  clearErrors(form);
  const problems = typeof error.fieldErrors === "function" ? error.fieldErrors() : [];
  const unplaced = [];
  let first = null;
  const shown = [];
  for (const problem of problems) {
    const control = findControl(form, problem.field);
    if (!control) {
      unplaced.push(problem);
      continue;
    }
    // Beside its field, a message does not repeat the field's name ("Feature config: feature config 'x' …").
    const own = `${fieldLabel(problem.field)}: `;
    const message = problem.message.startsWith(own) ? problem.message.slice(own.length) : problem.message;
    shown.push(message);
    const wrap = control.closest(".field");
    wrap?.classList.add("invalid");
    control.setAttribute("aria-invalid", "true");
    const described = control.getAttribute("aria-describedby");
    const slot = (described && document.getElementById(described)) || wrap?.querySelector(".field-error");
    if (slot) slot.textContent = slot.textContent ? `${slot.textContent} ${message}` : message;
    first = first || control;
  }
  const lines = unplaced.filter((p) => !shown.some((text) => text.includes(p.message))).map((p) => `${fieldLabel(p.field)}: ${p.message}`);
  if (!problems.length) lines.push(error.message);
  if (error.suggestions?.length && !problems.length) lines.push(`Did you mean: ${error.suggestions.join(", ")}?`);
  const box = form.querySelector(".form-error");
  if (box && lines.length) box.append(h("div", { class: "notice error", role: "alert" }, lines.join(" ")));
  (first || box)?.focus?.();
  if (first) first.scrollIntoView({ block: "center", behavior: "smooth" });
}

/** Parse a number input; empty → undefined (so the API applies its default). */
export function numberValue(el) {
  if (el.value.trim() === "") return undefined;
  const value = Number(el.value);
  return Number.isFinite(value) ? value : el.value;
}

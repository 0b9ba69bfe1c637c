/**
 * DOM building without HTML strings: every text passed here becomes a text node, so user
 * input can never be parsed as markup. The UI never assigns innerHTML.
 */

/**
 * Create an element. `attrs` keys: `class`, `dataset`, `style` (object; `--name` keys set custom
 * properties), `on<Event>` (listener), booleans (set when true), anything else as an attribute.
 * Children: nodes, strings, numbers, arrays; null/undefined/false are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** Create an SVG element (same rules as `h`). */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.setAttribute("class", Array.isArray(value) ? value.filter(Boolean).join(" ") : value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "style" && typeof value === "object") setStyle(el, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (key === "value" && "value" in el) el.value = value;
    else if (key === "checked" || key === "selected") el[key] = Boolean(value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
}

/** Inline styles; `--custom-properties` go through `setProperty` (`Object.assign` would drop them). */
function setStyle(el, styles) {
  for (const [name, value] of Object.entries(styles)) {
    if (value === undefined || value === null) continue;
    if (name.startsWith("--")) el.style.setProperty(name, String(value));
    else el.style[name] = value;
  }
}

/** Append children (nodes, text, arrays) to `el`. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace all children of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

let uid = 0;
/** A unique id for label/aria wiring. */
export function nextId(prefix = "ui") {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** Elements that can take keyboard focus inside `root`. */
export function focusable(root) {
  const selector = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';
  return [...root.querySelectorAll(selector)].filter((el) => el.offsetParent !== null || el === document.activeElement);
}

/** Give the main thread back (input, rendering) between slices of a long job. */
export function yieldToMain() {
  if (globalThis.scheduler?.yield) return globalThis.scheduler.yield();
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Resolve after the next frame has been rendered (so the work before it is laid out and painted). */
export function afterNextFrame() {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}

/**
 * Append `count` elements made by `make(index)` to `parent` in slices of about `sliceMs`, one
 * slice per frame, so that neither the building nor the style and layout of what was added run
 * long. The first `first` go in at once (the first screenful). With `page: {size, make(rows)}`
 * the elements go into page containers of `size` made by `page.make` (give them
 * `content-visibility: auto` and an intrinsic size, and an off-screen page costs no style or
 * layout at all). `alive()` false stops it (the view was replaced). Resolves true when all are in.
 */
export async function appendSliced(parent, count, make, { first = 0, sliceMs = 10, alive = () => true, page = null } = {}) {
  let next = 0;
  let target = parent;
  while (next < count) {
    const until = next === 0 && first ? Infinity : performance.now() + sliceMs;
    const stop = next === 0 && first ? Math.min(first, count) : count;
    do {
      if (page && next % page.size === 0) {
        target = page.make(Math.min(page.size, count - next));
        parent.append(target);
      }
      target.append(make(next));
      next += 1;
    } while (next < stop && performance.now() < until);
    if (next < count) {
      await afterNextFrame();
      if (!alive()) return false;
    }
  }
  return true;
}

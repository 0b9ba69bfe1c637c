/**
 * Parallel coordinates on a canvas: one polyline per experiment across parameter axes and the
 * metric axis, coloured by the metric; drag along an axis to keep only the runs in that range
 * (brushing; several axes combine), the others dim. The brushes are listed under the chart, each
 * with a button clearing it (Escape on the chart clears them all).
 *
 * The page only turns the experiments into a scene (axis positions per line); a worker draws it
 * on an OffscreenCanvas, so a thousand lines cost the main thread nothing. The canvas is sized
 * from a ResizeObserver (after layout, at first display and on every resize), never by reading
 * its size, which would force a layout of the whole page. Without OffscreenCanvas it draws on the page.
 */
import { h } from "../lib/dom.js";
import { drawScene, layout } from "./parallel_coords_draw.js";
import { plain } from "../lib/format.js";

/** "none" first, then numbers inside texts compared as numbers (16/16 < 32/32 < 128/64). */
const natural = (a, b) => (a === "none" ? -1 : b === "none" ? 1 : a.localeCompare(b, undefined, { numeric: true }));

/** The distinct values of `axis` among `items` (as text, for dropping axes that do not vary). */
export function distinctValues(axis, items) {
  return [...new Set(items.map((item) => String(axis.value(item) ?? "none")))].sort(natural);
}

function scaleOf(axis, items) {
  const raw = items.map(axis.value);
  if (raw.every((v) => v === null || v === undefined || typeof v === "number")) {
    const present = raw.filter((v) => typeof v === "number");
    const lo = Math.min(...present);
    const hi = Math.max(...present);
    const text = (v) => (axis.format ? axis.format(v) : plain(v, 3));
    return {
      raw,
      pos: (v) => (typeof v !== "number" ? NaN : hi === lo ? 0.5 : (v - lo) / (hi - lo)),
      ticks: Number.isFinite(lo) ? [{ text: text(hi), t: 1 }, { text: text(lo), t: hi === lo ? 0.5 : 0 }] : [],
      /** The values a brush from `a` to `b` (positions) keeps, in words. */
      describe: (a, b) => {
        const inside = [...new Set(present)].filter((v) => { const t = hi === lo ? 0.5 : (v - lo) / (hi - lo); return t >= a - 1e-6 && t <= b + 1e-6; }).sort((x, y) => x - y);
        if (!inside.length) return "no value";
        return inside.length === 1 ? text(inside[0]) : `${text(inside[0])} – ${text(inside[inside.length - 1])}`;
      },
    };
  }
  const categories = [...new Set(raw.map((v) => String(v ?? "none")))].sort(natural);
  const pos = (v) => (categories.length === 1 ? 0.5 : categories.indexOf(String(v ?? "none")) / (categories.length - 1));
  return {
    raw,
    pos,
    ticks: categories.slice(0, 12).map((c) => ({ text: c.length > 14 ? `${c.slice(0, 13)}…` : c, t: pos(c) })),
    describe: (a, b) => categories.filter((c) => pos(c) >= a - 1e-6 && pos(c) <= b + 1e-6).join(", ") || "no value",
  };
}

/** Lines ordered worst first (the best drawn on top), as flat typed arrays a worker can take. */
function sceneOf(items, axes, scales, direction) {
  const metric = scales[scales.length - 1];
  const order = items.map((_, index) => ({ index, t: metric.pos(metric.raw[index]) })).filter((o) => !Number.isNaN(o.t));
  order.sort((a, b) => (direction === "lower" ? b.t - a.t : a.t - b.t));
  const lines = new Float32Array(order.length * axes.length);
  const goodness = new Float32Array(order.length);
  order.forEach(({ index, t }, line) => {
    goodness[line] = direction === "lower" ? 1 - t : t;
    scales.forEach((scale, i) => { lines[line * axes.length + i] = scale.pos(scale.raw[index]); });
  });
  return {
    axes: axes.map((axis, i) => ({ label: axis.label, ticks: scales[i].ticks })),
    lines,
    goodness,
    alpha: items.length > 200 ? 0.35 : 0.7,
  };
}

/** How far (px) a brush handle reaches beyond the axis' ends, so a drag from the very end keeps its values. */
const OVERHANG = 10;

/** The distinct positions of axis `axis` among the scene's lines, ascending. */
function positionsOf(scene, axis) {
  const count = scene.axes.length;
  const seen = new Set();
  for (let line = 0; line < scene.goodness.length; line += 1) {
    const t = scene.lines[line * count + axis];
    if (!Number.isNaN(t)) seen.add(t);
  }
  return [...seen].sort((a, b) => a - b);
}

/** 1 for each line inside every brush (`Map` axis index → {lo, hi}), else 0; null without brushes. */
function selectionOf(scene, brushes) {
  if (!brushes.size) return null;
  const count = scene.axes.length;
  const selected = new Uint8Array(scene.goodness.length);
  for (let line = 0; line < selected.length; line += 1) {
    let keep = 1;
    for (const [axis, { lo, hi }] of brushes) {
      const t = scene.lines[line * count + axis];
      if (Number.isNaN(t) || t < lo - 1e-6 || t > hi + 1e-6) { keep = 0; break; }
    }
    selected[line] = keep;
  }
  return selected;
}

/**
 * `axes`: `[{key, label, value(item), format?}]`, the last one the metric; `direction`: higher|lower is
 * better. Returns `{element, canvas, disconnect}`: the chart with its brush handles and the list of
 * brushes; call `disconnect()` when the chart is replaced or left.
 */
export function parallelCoordinates(items, axes, direction) {
  const canvas = h("canvas", { class: "pc-canvas", id: "parallel-coordinates", role: "img" });
  canvas.dataset.lines = String(items.length);
  canvas.dataset.selected = String(items.length);
  canvas.setAttribute("aria-label", `Parallel coordinates of ${items.length} experiments over ${axes.map((a) => a.label).join(", ")}`);
  const scales = axes.map((axis) => scaleOf(axis, items));
  const scene = sceneOf(items, axes, scales, direction);
  const brushes = new Map();
  const handles = axes.map((axis, i) => h("div", {
    class: "pc-axis", dataset: { axis: axis.key || `axis-${i}` }, tabindex: "0", role: "button",
    title: `Drag along ${axis.label} to keep only the runs in a range`,
    "aria-label": `Filter by ${axis.label}: Up or Down keeps one value, with Shift widens the range, Delete clears`,
  }));
  const brushList = h("div", { class: "pc-brushes small", id: "pc-brushes", "aria-live": "polite" });
  const element = h("div", { class: "pc-wrap", tabindex: "-1" }, canvas, handles);

  let draw;
  let select;
  let worker = null;
  if (typeof canvas.transferControlToOffscreen === "function" && typeof Worker === "function") {
    worker = new Worker(new URL("./parallel_coords_worker.js", import.meta.url), { type: "module" });
    const offscreen = canvas.transferControlToOffscreen();
    worker.postMessage({ canvas: offscreen, scene }, [offscreen]);
    draw = (size) => worker.postMessage({ size });
    select = (selection) => worker.postMessage({ selection });
  } else {
    let last = null;
    draw = (size) => { last = size; drawScene(canvas, scene, size); };
    select = (selection) => { Object.assign(scene, selection); if (last) drawScene(canvas, scene, last); };
  }

  let geometry = null;
  function placeHandles(width, height) {
    geometry = layout(width, height, axes.length);
    handles.forEach((handle, i) => Object.assign(handle.style, {
      left: `${geometry.xAt(i) - 12}px`, top: `${geometry.top - OVERHANG}px`, height: `${geometry.plotHeight + 2 * OVERHANG}px`,
    }));
  }

  function applyBrushes() {
    const selected = selectionOf(scene, brushes);
    const kept = selected ? selected.reduce((n, v) => n + v, 0) : scene.goodness.length;
    canvas.dataset.selected = String(selected ? kept : items.length);
    select({ selected, brushes: [...brushes].map(([axis, range]) => ({ axis, ...range })) });
    if (!brushes.size) {
      brushList.replaceChildren();
      return;
    }
    const chips = [...brushes].map(([axis, { lo, hi }]) => h("span", { class: "pc-brush-chip", dataset: { brush: axes[axis].key || `axis-${axis}` } },
      h("strong", {}, axes[axis].label), ` ${scales[axis].describe(lo, hi)} `,
      h("button", { type: "button", class: "small ghost", "aria-label": `Clear the ${axes[axis].label} filter`, title: "Clear this filter", onClick: () => clear(axis) }, "×")));
    brushList.replaceChildren(h("span", {}, `Showing ${kept} of ${items.length} runs: `), ...chips,
      brushes.size > 1 ? h("button", { type: "button", class: "small ghost", onClick: () => clear() }, "Clear all filters") : "");
  }

  function clear(axis) {
    if (axis === undefined) brushes.clear();
    else brushes.delete(axis);
    applyBrushes();
    element.focus();
  }

  handles.forEach((handle, i) => {
    let from = null;
    const at = (event) => {
      const box = handle.getBoundingClientRect();
      return Math.min(1, Math.max(0, 1 - (event.clientY - box.top - OVERHANG) / (box.height - 2 * OVERHANG)));
    };
    handle.addEventListener("pointerdown", (event) => {
      event.preventDefault();
      handle.setPointerCapture(event.pointerId);
      from = at(event);
    });
    handle.addEventListener("pointermove", (event) => {
      if (from === null) return;
      const to = at(event);
      brushes.set(i, { lo: Math.min(from, to), hi: Math.max(from, to) });
      applyBrushes();
    });
    const end = (event) => {
      if (from === null) return;
      const to = at(event);
      if (Math.abs(to - from) < 0.01) brushes.delete(i); // a click clears the axis' brush
      else brushes.set(i, { lo: Math.min(from, to), hi: Math.max(from, to) });
      from = null;
      applyBrushes();
    };
    handle.addEventListener("pointerup", end);
    handle.addEventListener("pointercancel", () => { from = null; });
  });
  /** The keyboard's brushing: the axis' values one step at a time (`positions`, ascending). */
  handles.forEach((handle, i) => handle.addEventListener("keydown", (event) => {
    const up = event.key === "ArrowUp";
    if (event.key === "Delete" || event.key === "Backspace") {
      event.preventDefault();
      brushes.delete(i);
      applyBrushes();
      return;
    }
    if (!up && event.key !== "ArrowDown") return;
    event.preventDefault();
    const positions = positionsOf(scene, i);
    if (!positions.length) return;
    const current = brushes.get(i);
    const above = (t) => positions.find((p) => p > t + 1e-6);
    const below = (t) => [...positions].reverse().find((p) => p < t - 1e-6);
    let next;
    if (!current) {
      const p = up ? positions[positions.length - 1] : positions[0];
      next = { lo: p, hi: p };
    } else if (event.shiftKey) {
      next = up ? { lo: current.lo, hi: above(current.hi) ?? current.hi } : { lo: below(current.lo) ?? current.lo, hi: current.hi };
    } else {
      const p = up ? above(current.hi) ?? current.hi : below(current.lo) ?? current.lo;
      next = { lo: p, hi: p };
    }
    brushes.set(i, next);
    applyBrushes();
  }));
  element.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && brushes.size) {
      event.stopPropagation();
      clear();
    }
  });

  const observer = new ResizeObserver(([entry]) => {
    const box = entry.contentBoxSize?.[0];
    const { width, height } = box ? { width: box.inlineSize, height: box.blockSize } : entry.contentRect;
    placeHandles(width, height);
    draw({ width, height, ratio: window.devicePixelRatio || 1 });
  });
  observer.observe(canvas);
  return {
    element: [element, brushList],
    canvas,
    disconnect() {
      observer.disconnect();
      worker?.terminate();
    },
  };
}

/**
 * Parallel coordinates on a canvas: one polyline per experiment across parameter axes and the
 * metric axis, coloured by the metric.
 *
 * The page only turns the experiments into a scene (axis positions per line); a worker draws it
 * on an OffscreenCanvas, so a thousand lines cost the main thread nothing. The canvas is sized
 * from a ResizeObserver (after layout, at first display and on every resize), never by reading
 * its size, which would force a layout of the whole page. Without OffscreenCanvas it draws on the page.
 */
import { h } from "../lib/dom.js";
import { drawScene } from "./parallel_coords_draw.js";

function scaleOf(axis, items) {
  const raw = items.map(axis.value);
  if (raw.every((v) => v === null || v === undefined || typeof v === "number")) {
    const present = raw.filter((v) => typeof v === "number");
    const lo = Math.min(...present);
    const hi = Math.max(...present);
    const text = (v) => (axis.format ? axis.format(v) : Number.isInteger(v) ? String(v) : String(+v.toPrecision(3)));
    return {
      raw,
      pos: (v) => (typeof v !== "number" ? NaN : hi === lo ? 0.5 : (v - lo) / (hi - lo)),
      ticks: Number.isFinite(lo) ? [{ text: text(hi), t: 1 }, { text: text(lo), t: hi === lo ? 0.5 : 0 }] : [],
    };
  }
  const categories = [...new Set(raw.map((v) => String(v ?? "none")))].sort();
  const pos = (v) => (categories.length === 1 ? 0.5 : categories.indexOf(String(v ?? "none")) / (categories.length - 1));
  return {
    raw,
    pos,
    ticks: categories.slice(0, 12).map((c) => ({ text: c.length > 14 ? `${c.slice(0, 13)}…` : c, t: pos(c) })),
  };
}

/** Lines ordered worst first (the best drawn on top), as flat typed arrays a worker can take. */
function sceneOf(items, axes, direction) {
  const scales = axes.map((axis) => scaleOf(axis, items));
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

/**
 * `axes`: `[{label, value(item), format?}]`, the last one the metric; `direction`: higher|lower is
 * better. Returns `{canvas, disconnect}`; call `disconnect()` when the canvas is replaced or left.
 */
export function parallelCoordinates(items, axes, direction) {
  const canvas = h("canvas", { class: "pc-canvas", id: "parallel-coordinates", role: "img" });
  canvas.dataset.lines = String(items.length);
  canvas.setAttribute("aria-label", `Parallel coordinates of ${items.length} experiments over ${axes.map((a) => a.label).join(", ")}`);
  const scene = sceneOf(items, axes, direction);

  let draw;
  let worker = null;
  if (typeof canvas.transferControlToOffscreen === "function" && typeof Worker === "function") {
    worker = new Worker(new URL("./parallel_coords_worker.js", import.meta.url), { type: "module" });
    const offscreen = canvas.transferControlToOffscreen();
    worker.postMessage({ canvas: offscreen, scene }, [offscreen]);
    draw = (size) => worker.postMessage({ size });
  } else {
    draw = (size) => drawScene(canvas, scene, size);
  }
  const observer = new ResizeObserver(([entry]) => {
    const box = entry.contentBoxSize?.[0];
    const { width, height } = box ? { width: box.inlineSize, height: box.blockSize } : entry.contentRect;
    draw({ width, height, ratio: window.devicePixelRatio || 1 });
  });
  observer.observe(canvas);
  return {
    canvas,
    disconnect() {
      observer.disconnect();
      worker?.terminate();
    },
  };
}

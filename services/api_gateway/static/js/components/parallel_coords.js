/**
 * Parallel coordinates on a canvas: one polyline per experiment across parameter axes and the
 * metric axis, coloured by the metric (so a thousand lines draw in a few milliseconds).
 */
import { h } from "../lib/dom.js";
import { rampColor } from "./heatmap.js";

const PAD = { top: 28, bottom: 26, left: 40, right: 60 };

/** `axes`: `[{label, value(item)}]`, the last one the metric; `direction`: higher|lower is better. */
export function parallelCoordinates(items, axes, direction) {
  const canvas = h("canvas", { class: "pc-canvas", id: "parallel-coordinates", role: "img" });
  const scales = axes.map((axis) => {
    const raw = items.map(axis.value);
    const numeric = raw.every((v) => v === null || v === undefined || typeof v === "number");
    if (numeric) {
      const present = raw.filter((v) => typeof v === "number");
      const lo = Math.min(...present);
      const hi = Math.max(...present);
      return { ...axis, numeric, lo, hi, pos: (v) => (typeof v !== "number" ? null : hi === lo ? 0.5 : (v - lo) / (hi - lo)) };
    }
    const categories = [...new Set(raw.map((v) => String(v ?? "none")))].sort();
    return { ...axis, numeric, categories, pos: (v) => (categories.length === 1 ? 0.5 : categories.indexOf(String(v ?? "none")) / (categories.length - 1)) };
  });
  canvas.dataset.lines = String(items.length);
  canvas.setAttribute("aria-label", `Parallel coordinates of ${items.length} experiments over ${axes.map((a) => a.label).join(", ")}`);

  function draw() {
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 800;
    const height = canvas.clientHeight || 300;
    canvas.width = width * ratio;
    canvas.height = height * ratio;
    const ctx = canvas.getContext("2d");
    ctx.scale(ratio, ratio);
    ctx.clearRect(0, 0, width, height);
    const span = (width - PAD.left - PAD.right) / Math.max(1, scales.length - 1);
    const xAt = (i) => PAD.left + i * span;
    const yAt = (t) => PAD.top + (1 - t) * (height - PAD.top - PAD.bottom);
    const metric = scales[scales.length - 1];

    const order = items.map((item, index) => ({ item, t: metric.pos(metric.value(item)) })).filter((o) => o.t !== null);
    order.sort((a, b) => (direction === "lower" ? b.t - a.t : a.t - b.t));
    ctx.lineWidth = 1.2;
    ctx.globalAlpha = items.length > 200 ? 0.35 : 0.7;
    for (const { item, t } of order) {
      const goodness = direction === "lower" ? 1 - t : t;
      ctx.strokeStyle = rampColor(0.2 + 0.8 * goodness);
      ctx.beginPath();
      scales.forEach((scale, i) => {
        const p = scale.pos(scale.value(item));
        const y = yAt(p ?? 0);
        if (i === 0) ctx.moveTo(xAt(i), y);
        else ctx.lineTo(xAt(i), y);
      });
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
    ctx.fillStyle = "#1c2330";
    ctx.strokeStyle = "#4b5563";
    ctx.font = "12px system-ui, sans-serif";
    scales.forEach((scale, i) => {
      const x = xAt(i);
      ctx.beginPath();
      ctx.moveTo(x, PAD.top);
      ctx.lineTo(x, height - PAD.bottom);
      ctx.stroke();
      ctx.textAlign = "center";
      ctx.font = "600 12px system-ui, sans-serif";
      ctx.fillText(scale.label, x, 14);
      ctx.font = "11px system-ui, sans-serif";
      ctx.textAlign = i === scales.length - 1 ? "left" : "right";
      const dx = i === scales.length - 1 ? 5 : -5;
      if (scale.numeric) {
        if (Number.isFinite(scale.lo)) {
          const text = (v) => (scale.format ? scale.format(v) : Number.isInteger(v) ? String(v) : String(+v.toPrecision(3)));
          ctx.fillText(text(scale.hi), x + dx, yAt(1) + 4);
          ctx.fillText(text(scale.lo), x + dx, yAt(0) + 4);
        }
      } else {
        scale.categories.slice(0, 12).forEach((c) => ctx.fillText(c.length > 14 ? `${c.slice(0, 13)}…` : c, x + dx, yAt(scale.pos(c)) + 4));
      }
    });
  }
  return { canvas, draw };
}

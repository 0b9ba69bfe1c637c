/**
 * Drawing of a parallel-coordinates scene on a 2D canvas context; used by the drawing worker
 * (OffscreenCanvas) and, where workers cannot draw, on the page. No DOM access.
 *
 * A scene: `{axes: [{label, ticks: [{text, t}]}], lines: Float32Array (one row of axis positions
 * per line, NaN when missing), goodness: Float32Array (0 worst … 1 best, drawn best last), alpha}`.
 */
import { rampColor } from "../lib/colors.js";

const PAD = { top: 28, bottom: 26, left: 40, right: 60 };

/** Where the axes are on a `width`×`height` canvas of `count` axes: `xAt(i)`, `yAt(t)` and the plot's top and height. */
export function layout(width, height, count) {
  const span = (width - PAD.left - PAD.right) / Math.max(1, count - 1);
  const plotHeight = height - PAD.top - PAD.bottom;
  return { xAt: (i) => PAD.left + i * span, yAt: (t) => PAD.top + (1 - t) * plotHeight, top: PAD.top, plotHeight };
}

function strokeLine(ctx, scene, line, count, xAt, yAt) {
  ctx.beginPath();
  for (let i = 0; i < count; i += 1) {
    const t = scene.lines[line * count + i];
    const y = yAt(Number.isNaN(t) ? 0 : t);
    if (i === 0) ctx.moveTo(xAt(i), y);
    else ctx.lineTo(xAt(i), y);
  }
  ctx.stroke();
}

/**
 * Draw `scene` on `canvas` (an HTMLCanvasElement or OffscreenCanvas) sized `width`×`height` CSS px. With
 * `scene.selected` (1 per line kept by the brushes, 0 otherwise) the other lines are drawn faint and grey
 * beneath, and `scene.brushes` (`[{axis, lo, hi}]`, positions 0…1) are drawn as bands on their axes.
 */
export function drawScene(canvas, scene, { width, height, ratio = 1 }) {
  if (!width || !height) return;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  ctx.clearRect(0, 0, width, height);
  const count = scene.axes.length;
  const { xAt, yAt } = layout(width, height, count);

  ctx.lineWidth = 1.2;
  const lines = scene.goodness.length;
  const selected = scene.selected;
  if (selected) {
    ctx.globalAlpha = 0.18;
    ctx.strokeStyle = "#9ca3af";
    for (let line = 0; line < lines; line += 1) if (!selected[line]) strokeLine(ctx, scene, line, count, xAt, yAt);
  }
  ctx.globalAlpha = scene.alpha;
  for (let line = 0; line < lines; line += 1) {
    if (selected && !selected[line]) continue;
    ctx.strokeStyle = rampColor(0.2 + 0.8 * scene.goodness[line]);
    strokeLine(ctx, scene, line, count, xAt, yAt);
  }
  ctx.globalAlpha = 0.25;
  ctx.fillStyle = "#f59e0b";
  for (const brush of scene.brushes || []) {
    const x = xAt(brush.axis);
    ctx.fillRect(x - 7, yAt(brush.hi), 14, Math.max(2, yAt(brush.lo) - yAt(brush.hi)));
  }

  ctx.globalAlpha = 1;
  ctx.fillStyle = "#1c2330";
  ctx.strokeStyle = "#4b5563";
  scene.axes.forEach((axis, i) => {
    const x = xAt(i);
    ctx.beginPath();
    ctx.moveTo(x, PAD.top);
    ctx.lineTo(x, height - PAD.bottom);
    ctx.stroke();
    const first = i === 0;
    const end = i === count - 1 && count > 1;
    ctx.textAlign = first ? "left" : end ? "right" : "center";
    ctx.font = "600 12px system-ui, sans-serif";
    ctx.fillText(axis.label, first ? 2 : end ? width - 2 : x, 14); // the end labels inside the canvas
    ctx.font = "11px system-ui, sans-serif";
    const last = i === count - 1;
    ctx.textAlign = last ? "left" : "right";
    for (const tick of axis.ticks) ctx.fillText(tick.text, x + (last ? 5 : -5), yAt(tick.t) + 4);
  });
}

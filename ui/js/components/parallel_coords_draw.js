/**
 * Drawing of a parallel-coordinates scene on a 2D canvas context; used by the drawing worker
 * (OffscreenCanvas) and, where workers cannot draw, on the page. No DOM access.
 *
 * A scene: `{axes: [{label, ticks: [{text, t}]}], lines: Float32Array (one row of axis positions
 * per line, NaN when missing), goodness: Float32Array (0 worst … 1 best, drawn best last), alpha}`.
 */
import { rampColor } from "../lib/colors.js";

const PAD = { top: 28, bottom: 26, left: 40, right: 60 };

/** Draw `scene` on `canvas` (an HTMLCanvasElement or OffscreenCanvas) sized `width`×`height` CSS px. */
export function drawScene(canvas, scene, { width, height, ratio = 1 }) {
  if (!width || !height) return;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  ctx.clearRect(0, 0, width, height);
  const count = scene.axes.length;
  const span = (width - PAD.left - PAD.right) / Math.max(1, count - 1);
  const xAt = (i) => PAD.left + i * span;
  const yAt = (t) => PAD.top + (1 - t) * (height - PAD.top - PAD.bottom);

  ctx.lineWidth = 1.2;
  ctx.globalAlpha = scene.alpha;
  const lines = scene.goodness.length;
  for (let line = 0; line < lines; line += 1) {
    ctx.strokeStyle = rampColor(0.2 + 0.8 * scene.goodness[line]);
    ctx.beginPath();
    for (let i = 0; i < count; i += 1) {
      const t = scene.lines[line * count + i];
      const y = yAt(Number.isNaN(t) ? 0 : t);
      if (i === 0) ctx.moveTo(xAt(i), y);
      else ctx.lineTo(xAt(i), y);
    }
    ctx.stroke();
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
    ctx.textAlign = "center";
    ctx.font = "600 12px system-ui, sans-serif";
    ctx.fillText(axis.label, x, 14);
    ctx.font = "11px system-ui, sans-serif";
    const last = i === count - 1;
    ctx.textAlign = last ? "left" : "right";
    for (const tick of axis.ticks) ctx.fillText(tick.text, x + (last ? 5 : -5), yAt(tick.t) + 4);
  });
}

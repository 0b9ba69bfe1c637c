/**
 * Worker drawing the parallel coordinates on the OffscreenCanvas it is handed, so the canvas's
 * drawing and commit never occupy the page's main thread. Messages: `{canvas}` (transferred),
 * `{scene}`, `{size: {width, height, ratio}}`, `{selection: {selected, brushes}}` (what the brushes keep);
 * it draws once it has the first three, and again on each message.
 */
import { drawScene } from "./parallel_coords_draw.js";

let canvas = null;
let scene = null;
let size = null;

self.onmessage = ({ data }) => {
  if (data.canvas) canvas = data.canvas;
  if (data.scene) scene = data.scene;
  if (data.size) size = data.size;
  if (data.selection && scene) Object.assign(scene, data.selection);
  if (canvas && scene && size) drawScene(canvas, scene, size);
};

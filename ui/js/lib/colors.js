/** The colour ramp shared by the heatmap and the parallel coordinates (light blue → accent blue). */

const LOW = [236, 242, 252];
const HIGH = [36, 89, 214];

/** `t` in [0, 1] → an `rgb()` colour on the ramp. */
export function rampColor(t) {
  const c = LOW.map((lo, i) => Math.round(lo + (HIGH[i] - lo) * Math.max(0, Math.min(1, t))));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

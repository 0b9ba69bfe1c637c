/**
 * The pipeline as a layered DAG of components (boxes) and their artifacts (pills), drawn in SVG.
 * Layers come from longest paths; edges between neighbouring layers are curves, longer edges run
 * in side lanes so they never cross a node. Components are focusable buttons.
 */
import { s } from "../lib/dom.js";

const COMPONENT = { w: 210, h: 40 };
const ARTIFACT = { w: 150, h: 24 };
const GAP_Y = 22;
const GAP_X = 16;
const WIDTH = 470;
const LANE = 22;

/**
 * `graph`: `{nodes: [{id, kind: "component"|"artifact", label, sub, status, cached, seconds, present}], edges: [[from, to]]}`.
 * A running component pulses (as the card's running stage does); a cached one is drawn with a dashed border.
 * `onSelect(node)` runs when a component is clicked or activated with Enter/Space.
 */
export function renderDag(graph, { selected, onSelect }) {
  const byId = new Map(graph.nodes.map((n) => [n.id, { ...n }]));
  const incoming = new Map(graph.nodes.map((n) => [n.id, []]));
  graph.edges.forEach(([a, b]) => incoming.get(b)?.push(a));
  const layerOf = new Map();
  const layer = (id, seen = new Set()) => {
    if (layerOf.has(id)) return layerOf.get(id);
    if (seen.has(id)) return 0;
    seen.add(id);
    const value = Math.max(-1, ...incoming.get(id).filter((p) => byId.has(p)).map((p) => layer(p, seen))) + 1;
    layerOf.set(id, value);
    return value;
  };
  graph.nodes.forEach((n) => layer(n.id));
  const layers = [];
  graph.nodes.forEach((n) => (layers[layerOf.get(n.id)] ||= []).push(byId.get(n.id)));

  let y = 12;
  for (const row of layers.filter(Boolean)) {
    const sizes = row.map((n) => (n.kind === "component" ? COMPONENT : ARTIFACT));
    const total = sizes.reduce((sum, size) => sum + size.w, 0) + GAP_X * (row.length - 1);
    let x = (WIDTH - total) / 2;
    const rowHeight = Math.max(...sizes.map((size) => size.h));
    row.forEach((n, i) => {
      Object.assign(n, { x, y: y + (rowHeight - sizes[i].h) / 2, w: sizes[i].w, h: sizes[i].h });
      x += sizes[i].w + GAP_X;
    });
    y += rowHeight + GAP_Y;
  }
  const height = y - GAP_Y + 12;

  const edges = [];
  const laneUse = { left: 0, right: 0 };
  for (const [from, to] of graph.edges) {
    const a = byId.get(from);
    const b = byId.get(to);
    if (!a || !b) continue;
    const span = layerOf.get(to) - layerOf.get(from);
    let d;
    if (span <= 1) {
      const x1 = a.x + a.w / 2;
      const y1 = a.y + a.h;
      const x2 = b.x + b.w / 2;
      const y2 = b.y;
      const mid = (y1 + y2) / 2;
      d = `M${x1},${y1} C${x1},${mid} ${x2},${mid} ${x2},${y2}`;
    } else {
      const side = a.x + a.w / 2 <= WIDTH / 2 ? "left" : "right";
      laneUse[side] += 1;
      const offset = LANE * laneUse[side] - 8;
      const sign = side === "left" ? -1 : 1;
      const edgeA = side === "left" ? a.x : a.x + a.w;
      const edgeB = side === "left" ? b.x : b.x + b.w;
      const laneX = side === "left" ? Math.min(edgeA, edgeB) - offset : Math.max(edgeA, edgeB) + offset;
      const y1 = a.y + a.h / 2;
      const y2 = b.y + b.h / 2;
      const r = 10;
      d = `M${edgeA},${y1} L${laneX - sign * r},${y1} Q${laneX},${y1} ${laneX},${y1 + r} L${laneX},${y2 - r} Q${laneX},${y2} ${laneX - sign * r},${y2} L${edgeB},${y2}`;
    }
    edges.push(s("path", { class: "edge", d, "marker-end": "url(#dag-arrow)" }));
  }

  const nodes = graph.nodes.map((n) => {
    const node = byId.get(n.id);
    if (node.kind === "artifact") {
      return s("g", { class: ["artifact", node.present ? "present" : ""], transform: `translate(${node.x},${node.y})` },
        s("title", {}, node.present ? `${node.label}: ${node.sub || "written"}` : `${node.label}: not produced yet`),
        s("rect", { width: node.w, height: node.h, rx: 12 }),
        s("text", { x: node.w / 2, y: node.h / 2 + 4, "text-anchor": "middle" }, node.label));
    }
    const g = s("g", {
      class: ["node", `node-${node.status || "pending"}`, node.cached ? "cached" : "", node.id === selected ? "selected" : ""],
      transform: `translate(${node.x},${node.y})`,
      tabindex: "0",
      role: "button",
      "aria-label": `${node.label}: ${node.status || "pending"}${node.cached ? " (cached)" : ""}. Show logs`,
      dataset: { component: node.id, status: node.status || "pending", ...(node.seconds != null ? { seconds: String(Math.round(node.seconds)) } : {}) },
    },
    s("rect", { width: node.w, height: node.h, rx: 8 }),
    s("text", { x: 12, y: 17 }, node.label),
    s("text", { x: 12, y: 32, class: "sub" }, node.sub || ""));
    g.addEventListener("click", () => onSelect(node));
    g.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        onSelect(node);
      }
    });
    return g;
  });

  return s("svg", { class: "dag", viewBox: `0 0 ${WIDTH} ${height}`, style: { maxWidth: `${WIDTH * 1.15}px` }, role: "group", "aria-label": "Pipeline graph: components and artifacts" },
    s("defs", {}, s("marker", { id: "dag-arrow", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" }, s("path", { d: "M0,0 L10,5 L0,10 z", fill: "#a5b0bf" }))),
    edges, nodes);
}

/**
 * The leaderboard: ranked experiments in a table (ARIA table; each row is a CSS grid on the same
 * column template, so header and cells line up), sortable by any metric column; a row opens the
 * view modal (click, Enter or Space; arrow keys, Home and End move between rows).
 *
 * A thousand rows stay responsive: rows are clones of one blank row; the first screenful goes in
 * at once and the rest one slice per frame, in pages of 50 rows that skip style, layout and paint
 * while off screen (`content-visibility: auto`); a re-sort moves the rows already built.
 */
import { appendSliced, h } from "../lib/dom.js";
import { int } from "../lib/format.js";
import { formatMetric, metric as metricSpec, metricLabel } from "../lib/metrics.js";
import { empty } from "../lib/states.js";

/** From this many metric columns on, the table takes its wide layout (config columns hidden when narrow). */
const WIDE_FROM = 5;
const FIRST_ROWS = 25;
const PAGE_ROWS = 50;
const TEXT_COLUMNS = [["rank", "#"], ["exp", "Exp"], ["name", "Name"], ["cfg", "Features"], ["cfg", "Model"]];

/** The column template: fixed rank and Exp, flexible name and config names, equal metric columns. */
function columnTemplate(metricCount, withConfigs) {
  const configs = withConfigs ? " minmax(7rem, 1.2fr) minmax(6rem, 1fr)" : "";
  return `2.75rem 7.4rem minmax(9rem, 3fr)${configs} repeat(${metricCount}, minmax(8rem, 0.5fr))`;
}

/**
 * `board`: the API's leaderboard; `onOpen(experimentId)` opens a row; `seedGroups` (optional): a Map of
 * experiment id → `{text, title}`, the band of the ranking metric over the run's seed group (decision 065).
 * Returns the elements to mount.
 */
export function leaderboardTable(board, onOpen, seedGroups = new Map()) {
  if (!board.items.length) return empty("No completed experiments have this metric yet.", "Completed quick tests are ranked here.");
  const metric = board.metric;
  const columns = board.columns;
  const value = (item, key) => (key === metric ? item.value : item.metrics?.[key]);
  let sort = null;

  const caption = h("p", { class: "small muted lb-caption", id: "leaderboard-caption" });
  const buttons = new Map();
  const headers = columns.map((key) => {
    const button = h("button", { type: "button", class: "sort", title: `Sort by ${metricLabel(key)}` }, metricLabel(key));
    button.addEventListener("click", () => sortBy(key));
    buttons.set(key, button);
    return h("div", { role: "columnheader", class: "num", dataset: { key } }, button);
  });
  const body = h("div", { class: "lb-body" });
  const table = h("div", {
    role: "table", id: "leaderboard-table", class: ["lb", columns.length >= WIDE_FROM ? "lb-wide" : ""], "aria-label": `Leaderboard by ${metricLabel(metric)}`,
    "aria-describedby": caption.id, "aria-rowcount": String(board.items.length + 1),
    style: { "--lb-cols": columnTemplate(columns.length, true), "--lb-cols-narrow": columnTemplate(columns.length, false) },
  },
  h("div", { role: "rowgroup", class: "lb-head" }, h("div", { role: "row", class: "lb-row", "aria-rowindex": "1" },
    TEXT_COLUMNS.map(([cls, text]) => h("div", { role: "columnheader", class: cls }, text)), headers)),
  body);

  const cell = (cls) => h("div", { role: "cell", class: cls });
  const blank = h("div", { role: "row", class: "lb-row clickable", tabindex: "0" },
    cell("rank num"), cell("exp"), cell("name"), cell("cfg small"), cell("cfg small"),
    columns.map((key) => cell(key === metric ? "num metric-chip" : "num")));
  const built = new Map();

  /** A row is a clone of `blank` with its texts filled in (cloning is much cheaper than building). */
  function makeRow(item) {
    const row = blank.cloneNode(true);
    row.dataset.id = item.id;
    row.setAttribute("aria-label", `${item.label} ${item.name}: open`);
    const cells = row.children;
    const text = (i, value, title) => {
      cells[i].textContent = value ?? "—";
      if (title) cells[i].title = title;
    };
    text(1, item.label);
    text(2, item.name, item.name);
    text(3, item.feature_config_name, item.feature_config_name);
    text(4, item.model_config_name, item.model_config_name);
    columns.forEach((key, i) => {
      const v = value(item, key);
      text(5 + i, v == null ? "—" : formatMetric(key, v));
    });
    const band = seedGroups.get(item.id);
    const at = columns.indexOf(metric);
    if (band && at >= 0) {
      cells[5 + at].append(h("span", { class: "seed-band" }, ` ${band.text}`));
      cells[5 + at].title = band.title;
    }
    return row;
  }

  function rowFor(item, index) {
    let row = built.get(item.id);
    if (!row) {
      row = makeRow(item);
      built.set(item.id, row);
    }
    row.firstChild.textContent = String(sort ? index + 1 : item.rank);
    row.setAttribute("aria-rowindex", String(index + 2));
    return row;
  }

  function ordered() {
    if (!sort) return board.items;
    return [...board.items].sort((a, b) => {
      const va = value(a, sort.key);
      const vb = value(b, sort.key);
      if (va == null) return vb == null ? 0 : 1;
      if (vb == null) return -1;
      return sort.desc ? vb - va : va - vb;
    });
  }

  let generation = 0;
  function draw() {
    const mine = ++generation;
    const items = ordered();
    const activeKey = sort ? sort.key : metric;
    const desc = sort ? sort.desc : board.direction === "higher";
    for (const [key, button] of buttons) {
      const active = key === activeKey;
      button.parentElement.setAttribute("aria-sort", active ? (desc ? "descending" : "ascending") : "none");
      button.textContent = metricLabel(key) + (active ? (desc ? " ▼" : " ▲") : "");
    }
    const shown = board.total > items.length ? ` (the first ${int(items.length)})` : "";
    const sorted = sort ? ` · sorted by ${metricLabel(sort.key)}, ${desc ? "highest" : "lowest"} first` : "";
    caption.textContent = `${int(board.total)} completed experiments${shown} ranked by ${metricLabel(metric)} (${board.direction} is better)${sorted}. Click a row to open it.`;
    body.replaceChildren();
    body.setAttribute("aria-busy", "true");
    appendSliced(body, items.length, (i) => rowFor(items[i], i), {
      first: FIRST_ROWS,
      alive: () => mine === generation && table.isConnected,
      page: { size: PAGE_ROWS, make: (rows) => h("div", { role: "rowgroup", class: "lb-page", style: { "--rows": rows } }) },
    }).then((done) => {
      if (done) body.setAttribute("aria-busy", "false");
    });
  }

  function sortBy(key) {
    const activeKey = sort ? sort.key : metric;
    const desc = sort ? sort.desc : board.direction === "higher";
    sort = { key, desc: key === activeKey ? !desc : metricSpec(key).direction !== "lower" };
    draw();
  }

  body.addEventListener("click", (event) => {
    const row = event.target.closest("[data-id]");
    if (row) onOpen(row.dataset.id);
  });
  body.addEventListener("keydown", (event) => {
    const row = event.target.closest("[data-id]");
    if (!row) return;
    const moves = {
      ArrowDown: () => row.nextElementSibling ?? row.parentElement.nextElementSibling?.firstElementChild,
      ArrowUp: () => row.previousElementSibling ?? row.parentElement.previousElementSibling?.lastElementChild,
      Home: () => body.firstElementChild?.firstElementChild,
      End: () => body.lastElementChild?.lastElementChild,
    };
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      onOpen(row.dataset.id);
    } else if (moves[event.key]) {
      event.preventDefault();
      moves[event.key]()?.focus();
    }
  });

  draw();
  return [caption, h("div", { class: "table-wrap leaderboard-wrap" }, table)];
}

/**
 * Compare: a selection modal (2 to 5 completed, failed or cancelled experiments, with status
 * badges and Recall@100) and the comparison modal (grouped sections, ≡ / ≠ row markers, best
 * values starred).
 */
import { experiments } from "../lib/api.js";
import { appendSliced, h, mount } from "../lib/dom.js";
import { truncate } from "../lib/format.js";
import { formatMetric } from "../lib/metrics.js";
import { openModal } from "../lib/modal.js";
import { empty, errorState, loading } from "../lib/states.js";
import { statusBadge } from "./labels.js";
import { uriDetails } from "./uri.js";

export const MIN_SELECTED = 2;
export const MAX_SELECTED = 5;
const FIRST_ROWS = 30;
const PAGE_ROWS = 50;

export function openCompareSelection({ preselected = [] } = {}) {
  const chosen = new Set(preselected);
  const counter = h("span", { class: "muted", id: "compare-count", "aria-live": "polite" });
  const clear = h("button", { type: "button" }, "Clear all");
  const cancel = h("button", { type: "button" }, "Cancel");
  const go = h("button", { type: "button", class: "primary", id: "compare-go", disabled: true }, "Compare");
  const list = h("div", { class: "select-list", role: "group", "aria-label": "Experiments to compare" });
  const modal = openModal({
    title: "Select experiments to compare",
    body: [h("div", { style: { display: "flex", justifyContent: "space-between", marginBottom: "0.5rem" } }, h("span", {}, `Select ${MIN_SELECTED}–${MAX_SELECTED} experiments`), counter), list],
    footer: [clear, h("span", { class: "spacer" }), cancel, go],
  });
  mount(list, loading("Loading experiments…"));
  let rows = [];

  function applyState(row) {
    const full = chosen.size >= MAX_SELECTED;
    const on = chosen.has(row.item.id);
    row.box.checked = on;
    row.box.disabled = full && !on;
    row.el.classList.toggle("checked", on);
    row.el.classList.toggle("disabled", full && !on);
  }

  function refresh() {
    const full = chosen.size >= MAX_SELECTED;
    for (const row of rows) if (row.el) applyState(row);
    counter.textContent = `${chosen.size} selected${full ? ` (the maximum of ${MAX_SELECTED})` : ""}`;
    go.textContent = `Compare (${chosen.size})`;
    go.disabled = chosen.size < MIN_SELECTED || chosen.size > MAX_SELECTED;
  }

  function build(row) {
    const { item } = row;
    row.box = h("input", { type: "checkbox", "aria-label": `${item.label} ${item.name}`, dataset: { id: item.id } });
    row.box.addEventListener("change", () => {
      if (row.box.checked && chosen.size >= MAX_SELECTED) row.box.checked = false;
      else if (row.box.checked) chosen.add(item.id);
      else chosen.delete(item.id);
      refresh();
    });
    row.el = h("label", { class: "select-row", dataset: { id: item.id } },
      row.box,
      h("strong", { class: "nowrap" }, item.label),
      h("span", { style: { minWidth: 0 } }, h("div", { style: { overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" } }, item.name), item.description ? h("div", { class: "desc" }, truncate(item.description, 30)) : null),
      statusBadge(item.status),
      h("span", { class: "num" }, formatMetric("recall_at_100", item.recall_at_100)));
    applyState(row);
    return row.el;
  }

  experiments.selectable().then((page) => {
    if (!page.items.length) {
      mount(list, empty("Nothing to compare yet.", "Experiments can be compared once they have completed, failed or been cancelled."));
      return;
    }
    rows = page.items.map((item) => ({ item, box: null, el: null }));
    list.replaceChildren();
    appendSliced(list, rows.length, (i) => build(rows[i]), {
      first: FIRST_ROWS,
      alive: () => !modal.closed,
      page: { size: PAGE_ROWS, make: (count) => h("div", { class: "select-page", style: { "--rows": count } }) },
    });
    refresh();
    rows[0].box.focus();
  }).catch((error) => mount(list, errorState(error)));

  clear.addEventListener("click", () => { chosen.clear(); refresh(); });
  cancel.addEventListener("click", () => modal.close());
  go.addEventListener("click", () => {
    const ids = rows.map((r) => r.item.id).filter((id) => chosen.has(id));
    modal.close();
    openComparison(ids);
  });
  refresh();
  return modal;
}

/** The comparison modal of `ids`; its `loaded` promise settles once the table (or the error) is shown. */
export function openComparison(ids) {
  const back = h("button", { type: "button" }, "← Change selection");
  const close = h("button", { type: "button", class: "primary" }, "Close");
  const modal = openModal({ title: `Compare ${ids.length} experiments`, size: "wide", body: loading("Comparing…"), footer: [back, h("span", { class: "spacer" }), close] });
  back.addEventListener("click", () => { modal.close(); openCompareSelection({ preselected: ids }); });
  close.addEventListener("click", () => modal.close());
  modal.loaded = experiments.compare(ids).then((comparison) => mount(modal.body, comparisonTable(comparison)))
    .catch((error) => mount(modal.body, errorState(error)));
  return modal;
}

function comparisonTable(comparison) {
  const exps = comparison.experiments;
  const head = h("tr", {}, h("th", { scope: "col" }, "Field"), h("th", { scope: "col", class: "marker" }, h("span", { class: "visually-hidden" }, "Same or different")),
    exps.map((e) => h("th", { scope: "col", style: { textTransform: "none", letterSpacing: 0 } },
      h("div", { style: { color: "var(--accent)", fontSize: "0.9rem" } }, e.label), h("div", { style: { color: "var(--text)", fontWeight: 600, whiteSpace: "normal", overflowWrap: "anywhere" } }, e.name), statusBadge(e.status))));
  const body = [];
  for (const section of comparison.sections) {
    body.push(h("tr", { class: "section", dataset: { section: section.key } }, h("th", { colspan: String(exps.length + 2), scope: "colgroup" }, section.title)));
    for (const row of section.rows) {
      const best = new Set(row.best || []);
      body.push(h("tr", { dataset: { row: row.key, identical: String(row.identical) } },
        h("th", { scope: "row", style: { textTransform: "none", letterSpacing: 0, fontSize: "0.86rem", color: "var(--text-2)", background: "var(--surface)" } }, row.label),
        h("td", { class: ["marker", row.identical ? "same" : "differ"], title: row.identical ? "identical in all" : "values differ", "aria-label": row.identical ? "identical" : "differs" }, row.identical ? "≡" : "≠"),
        row.display.map((text, i) => h("td", { class: ["value", best.has(i) ? "best" : ""], "aria-label": best.has(i) ? `${text} (best)` : null }, row.key === "source" ? uriDetails(text) : text))));
    }
  }
  return [
    h("p", { class: "small muted", style: { marginTop: 0 } }, "≡ identical in all · ≠ values differ · ★ best value of a metric"),
    h("div", { class: "table-wrap", style: { maxHeight: "68vh" } }, h("table", { class: "compare-table", id: "comparison-table" }, h("thead", {}, head), h("tbody", {}, body))),
  ];
}

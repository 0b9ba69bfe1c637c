/**
 * Watched datasets (issue 13): quick tests pinned to a dataset run again when its source changes; the
 * panel lists them, pins a completed quick test of the dataset, unpins, and shows the newest run against
 * the one before it: metrics in percentage points with the noise verdict, and the data's counts.
 * `GET/POST /api/datasets/{id}/watches`, `DELETE /api/datasets/{id}/watches/{watch_id}`.
 */
import { del, get, post, query } from "../lib/http.js";
import { h, mount } from "../lib/dom.js";
import { formatDelta, int, pct, points } from "../lib/format.js";

const enc = encodeURIComponent;
const VERDICT_CLASS = { better: "delta-up", worse: "delta-down", within_noise: "muted", unknown: "muted" };

export const watchApi = {
  list: (datasetId) => get(`/api/datasets/${enc(datasetId)}/watches`),
  pin: (datasetId, body) => post(`/api/datasets/${enc(datasetId)}/watches`, body),
  unpin: (datasetId, watchId) => del(`/api/datasets/${enc(datasetId)}/watches/${enc(watchId)}`),
  completedQuickTests: (datasetId) => get(`/api/experiments${query({ dataset_id: datasetId, status: "completed", page_size: 200 })}`),
};

/** A collapsed "Watched quick tests" section for a dataset's entry; loads when opened. */
export function watchPanel(dataset) {
  const body = h("div", { class: "watch-body" }, h("span", { class: "muted small" }, "Loading…"));
  const details = h("details", { class: "watch-panel", dataset: { datasetId: dataset.id }, style: { marginTop: "0.4rem" } },
    h("summary", {}, "Watched quick tests: re-run when the data changes"), body);
  details.addEventListener("toggle", () => { if (details.open) refresh(dataset, body); });
  return details;
}

async function refresh(dataset, body) {
  try {
    const [{ watches }, page] = await Promise.all([watchApi.list(dataset.id), watchApi.completedQuickTests(dataset.id)]);
    mount(body, pinForm(dataset, body, page.items.filter((e) => !e.full_training)), watches.length
      ? watches.map((w) => watchView(dataset, body, w))
      : h("p", { class: "muted small watch-empty" }, "No quick test is pinned to this dataset yet."));
  } catch (error) {
    mount(body, h("p", { class: "error-text" }, `Could not load the watches: ${error.message}`));
  }
}

function pinForm(dataset, body, completed) {
  if (!completed.length) return h("p", { class: "muted small" }, "Pin a quick test once one on this dataset has completed.");
  const choice = h("select", { class: "watch-experiment", "aria-label": "Completed quick test to pin" },
    completed.map((e) => h("option", { value: e.id }, `Exp #${e.number} · ${e.name}`)));
  const message = h("span", { class: "small watch-message", role: "status" });
  const button = h("button", { class: "btn btn-small", type: "button" }, "Pin");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await watchApi.pin(dataset.id, { experiment_id: choice.value });
      await refresh(dataset, body);
    } catch (error) {
      message.textContent = error.message;
      button.disabled = false;
    }
  });
  return h("div", { class: "inline watch-pin" }, choice, button, message);
}

function runText(run, statuses) {
  if (run.refused) return `refused on the new data: ${run.refused}`;
  const status = statuses[run.experiment_id] || "unknown";
  return `Exp #${run.number} · ${status}${run.rows != null ? ` · ${int(run.rows)} rows` : ""}`;
}

function watchView(dataset, body, watch) {
  const unpin = h("button", { class: "btn btn-small btn-ghost", type: "button", "aria-label": `Unpin ${watch.name}` }, "Unpin");
  unpin.addEventListener("click", async () => {
    unpin.disabled = true;
    await watchApi.unpin(dataset.id, watch.id);
    await refresh(dataset, body);
  });
  return h("div", { class: "watch", dataset: { watchId: watch.id } },
    h("div", { class: "inline" }, h("strong", {}, watch.name), unpin),
    h("ol", { class: "watch-runs small" }, watch.runs.map((run) =>
      h("li", { class: run.refused ? "error-text" : "" }, `${run.trigger === "pinned" ? "pinned" : "after a source change"}: ${runText(run, watch.statuses)}`))),
    watch.drift ? driftView(watch.drift) : h("p", { class: "muted small watch-no-drift" }, "The change shows here once a run after a source change has completed."));
}

const COUNT = { format: "count", digits: 0 };

function countChange(row) {
  if (row.change == null) return "—";
  const relative = row.change_percent != null ? ` (${points(row.change_percent, 1, { unit: false })}%)` : "";
  return `${formatDelta(COUNT, row.change)}${relative}`;
}

function dataValue(row, value) {
  if (value == null) return "—";
  return row.kind === "share" ? pct(value, 1) : int(value);
}

function driftView(drift) {
  return h("div", { class: "watch-drift" },
    h("p", { class: "watch-summary" }, drift.summary),
    h("div", { class: "table-wrap" }, h("table", { class: "watch-metrics" },
      h("thead", {}, h("tr", {}, h("th", {}, "Metric"), h("th", {}, `Exp #${drift.previous.number}`), h("th", {}, `Exp #${drift.current.number}`), h("th", {}, "Change"), h("th", {}, "95% interval"), h("th", {}, "Verdict"))),
      h("tbody", {}, drift.metrics.map((r) => h("tr", { dataset: { metric: r.metric } },
        h("td", {}, r.label), h("td", {}, pct(r.previous, 1)), h("td", {}, pct(r.value, 1)),
        h("td", {}, points(r.difference_pp, 1)),
        h("td", { class: "muted" }, r.low_pp == null ? "—" : `${points(r.low_pp, 1, { unit: false })} … ${points(r.high_pp, 1, { unit: false })} pp`),
        h("td", { class: VERDICT_CLASS[r.verdict] || "muted" }, r.verdict_text)))))),
    h("div", { class: "table-wrap" }, h("table", { class: "watch-data" },
      h("thead", {}, h("tr", {}, h("th", {}, "Data"), h("th", {}, "Before"), h("th", {}, "After"), h("th", {}, "Change"))),
      h("tbody", {}, drift.data.map((r) => h("tr", { dataset: { key: r.key } },
        h("td", {}, r.label), h("td", {}, dataValue(r, r.previous)), h("td", {}, dataValue(r, r.value)),
        h("td", {}, r.kind === "share" ? points(r.change, 1) : countChange(r))))))));
}

/** Experiments page: new-experiment wizard, Compare, and live experiment cards. */
import { experiments } from "../lib/api.js";
import { h, mount, yieldToMain } from "../lib/dom.js";
import { confirmDialog, toast } from "../lib/modal.js";
import { poll } from "../lib/poll.js";
import { empty, errorState, loading } from "../lib/states.js";
import { isActive } from "../lib/status.js";
import { experimentCard } from "../components/experiment_card.js";
import { fillSeedGroups } from "../components/noise.js";
import { noise } from "../lib/decisions_api.js";

export const title = "Experiments";

const ACTIVE_DELAY_MS = 2000;
const IDLE_DELAY_MS = 10000;
const PAGE = 50;
const SLICE_MS = 12;

export function render(root, params) {
  const listEl = h("div", { class: "list", id: "experiment-list", "aria-live": "polite", "aria-busy": "true" });
  const countEl = h("span", { class: "muted small", id: "experiment-count" });
  const statusFilter = h(
    "select",
    { id: "status-filter", "aria-label": "Filter by status" },
    [["", "All statuses"], ["pending,submitting,running", "Active"], ["completed", "Completed"], ["failed", "Failed"], ["cancelled", "Cancelled"]].map(([value, label]) => h("option", { value }, label)),
  );
  const moreButton = h("button", { type: "button", hidden: true }, "Show more");
  const cards = new Map();
  let limit = PAGE;
  let firstLoad = true;

  const newButton = h("button", { type: "button", class: "primary", id: "new-experiment" }, "+ New experiment");
  const compareButton = h("button", { type: "button", id: "compare-button" }, "⇄ Compare");

  mount(
    root,
    h(
      "div",
      { class: "page-head" },
      h("div", {}, h("h1", {}, "Quick tests"), h("p", {}, "Validate feature and model configurations on a sample before full training.")),
      h("div", { class: "toolbar" }, statusFilter, compareButton, newButton),
    ),
    h("div", { style: { display: "flex", justifyContent: "space-between", marginBottom: "0.5rem" } }, countEl),
    listEl,
    h("div", { style: { textAlign: "center", marginTop: "1rem" } }, moreButton),
  );
  mount(listEl, loading("Loading experiments…"));

  async function openView(experiment) {
    const { openViewModal } = await import("../components/view_modal.js");
    openViewModal(experiment.id, { onChange: upsert });
  }

  async function cancel(experiment) {
    const ok = await confirmDialog({
      title: `Cancel Exp #${experiment.number}?`,
      message: `“${experiment.name}” will be stopped: the build or pipeline is cancelled and no compute is left running. This cannot be undone.`,
      confirmLabel: "Cancel experiment",
      cancelLabel: "Keep running",
      danger: true,
    });
    if (!ok) return;
    try {
      upsert(await experiments.cancel(experiment.id));
      toast(`Cancelling Exp #${experiment.number}…`);
    } catch (error) {
      toast(error.message, "error");
    }
    poller?.now();
  }

  function cardFor(experiment) {
    return experimentCard(experiment, { onView: openView, onCancel: cancel });
  }

  function upsert(experiment) {
    const known = cards.get(experiment.id);
    if (known && known.updated_at === experiment.updated_at && known.status === experiment.status && known.cancel === experiment.cancel_requested) return;
    const card = cardFor(experiment);
    if (known) {
      const focusedLabel = known.el.contains(document.activeElement) ? document.activeElement.getAttribute("aria-label") : null;
      known.el.replaceWith(card);
      if (focusedLabel) card.querySelector(`[aria-label="${CSS.escape(focusedLabel)}"]`)?.focus();
    } else {
      listEl.querySelector(".state")?.remove();
      listEl.prepend(card);
    }
    cards.set(experiment.id, { el: card, updated_at: experiment.updated_at, status: experiment.status, cancel: experiment.cancel_requested, experiment });
  }

  /** Bring the cards in line with `items` (in order), building new cards in short slices. */
  async function sync(items, total) {
    const seen = new Set(items.map((e) => e.id));
    for (const [id, known] of cards) {
      if (!seen.has(id)) {
        known.el.remove();
        cards.delete(id);
      }
    }
    if (!items.length) {
      mount(listEl, statusFilter.value
        ? empty("No experiments with this status.", "Choose another filter.")
        : empty("No experiments yet.", "Start a quick test to validate a feature config and a model config on a sample.", h("button", { type: "button", class: "primary", onClick: openWizard }, "+ New experiment")));
    } else {
      listEl.querySelector(".state")?.remove();
      let previousId = null;
      let sliceEnd = performance.now() + SLICE_MS;
      for (const experiment of items) {
        if (performance.now() > sliceEnd) {
          await yieldToMain();
          if (left) return;
          sliceEnd = performance.now() + SLICE_MS;
        }
        upsert(experiment);
        const el = cards.get(experiment.id).el;
        const previous = previousId ? cards.get(previousId)?.el : null;
        if (previous ? previous.nextElementSibling !== el : listEl.firstElementChild !== el) {
          if (previous) previous.after(el);
          else listEl.prepend(el);
        }
        previousId = experiment.id;
      }
    }
    countEl.textContent = total ? `${Math.min(items.length, total)} of ${total} experiment${total === 1 ? "" : "s"}` : "";
    moreButton.hidden = items.length >= total;
  }

  let left = false;
  let poller = null;
  const startPolling = () => {
    if (!left) poller = poll(refresh);
  };
  async function refresh(signal) {
    try {
      const page = await experiments.list({ sort: "-created_at", page: 1, page_size: limit, status: statusFilter.value }, { signal });
      await sync(page.items, page.total);
      if (page.items.some((e) => e.sweep?.repeats > 1)) fillSeedGroups(listEl, (await noise.seedGroups({}, { signal })).items);
      listEl.setAttribute("aria-busy", "false");
      firstLoad = false;
      return page.items.some(isActive) ? ACTIVE_DELAY_MS : IDLE_DELAY_MS;
    } catch (error) {
      if (error.name === "AbortError") throw error;
      if (firstLoad) mount(listEl, errorState(error, () => poller?.now()));
      else toast(`Could not refresh the experiments: ${error.message}`, "error");
      return IDLE_DELAY_MS;
    }
  }

  async function openWizard() {
    const { openWizard: open } = await import("../components/wizard.js");
    open({
      onStarted(experiment) {
        if (experiment) upsert(experiment);
        poller?.now();
      },
    });
  }

  async function openCompare() {
    const { openCompareSelection } = await import("../components/compare.js");
    openCompareSelection();
  }

  newButton.addEventListener("click", openWizard);
  compareButton.addEventListener("click", openCompare);
  moreButton.addEventListener("click", () => {
    limit = Math.min(limit + PAGE, 1000);
    poller?.now();
  });
  statusFilter.addEventListener("change", () => {
    cards.forEach((known) => known.el.remove());
    cards.clear();
    firstLoad = true;
    mount(listEl, loading("Loading experiments…"));
    poller?.now();
  });
  if (params.get("new") === "1") openWizard();
  if (params.get("view")) openView({ id: params.get("view") });
  const compareIds = (params.get("compare") || "").split(",").filter(Boolean);
  if (compareIds.length) {
    // The comparison asked for comes first; the cards load once it is on screen.
    import("../components/compare.js").then((m) => m.openComparison(compareIds).loaded).finally(startPolling);
  } else {
    startPolling();
  }

  return {
    unmount: () => {
      left = true;
      poller?.stop();
    },
  };
}

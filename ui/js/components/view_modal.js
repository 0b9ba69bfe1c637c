/**
 * The experiment view modal: tabs Overview, Pipeline, Data Insights, Training and Lineage, and
 * "Run Full Training" for a completed quick test. It polls the
 * experiment while it is active and stops when it ends (or when the modal closes); each tab
 * renders lazily on first display and is told when the experiment changes.
 */
import { experiments } from "../lib/api.js";
import { h, mount, nextId } from "../lib/dom.js";
import { openModal } from "../lib/modal.js";
import { poll } from "../lib/poll.js";
import { errorState, loading } from "../lib/states.js";
import { isActive } from "../lib/status.js";
import { statusBadge } from "./labels.js";
import { runFullTrainingButton, runKindBadge } from "./full_training.js";

const POLL_MS = 2000;

const TABS = [
  { key: "overview", label: "Overview", load: () => import("./tabs/overview.js") },
  { key: "pipeline", label: "Pipeline", load: () => import("./tabs/pipeline.js") },
  { key: "insights", label: "Data Insights", load: () => import("./tabs/insights.js") },
  { key: "training", label: "Training", load: () => import("./tabs/training.js") },
  { key: "lineage", label: "Lineage", load: () => import("./tabs/lineage.js") },
];

let openView = null;

/**
 * Open the modal for `experimentId`; `onChange(experiment)` is told of every update seen. One view modal at a time:
 * asking for the run already shown keeps its modal, asking for another replaces it (a changed `?view=` link).
 */
export function openViewModal(experimentId, { onChange = () => {}, tab = "overview" } = {}) {
  if (openView && !openView.closed) {
    if (openView.dialog.dataset.experimentId === experimentId) return openView;
    openView.close();
  }
  const tablist = h("div", { class: "tabs", role: "tablist", "aria-label": "Experiment details" });
  const panels = h("div", {});
  const badge = h("span", {});
  const actions = h("div", { class: "actions view-actions" });
  let poller = null;
  const modal = openModal({
    title: "Experiment",
    size: "wide",
    body: [tablist, panels],
    footer: [actions],
    onClose: () => poller?.stop(),
  });
  modal.dialog.querySelector("header h2").after(badge);
  modal.dialog.querySelector("header h2").style.marginRight = "auto";
  modal.dialog.dataset.experimentId = experimentId;
  openView = modal;

  let experiment = null;
  let active = null;
  /** "Modify & Re-test": the wizard prefilled with this run; a started run replaces this view. */
  const retestButton = h("button", { type: "button", class: "modify-retest", title: "Open the wizard with this run's dataset, configs and parameters",
    onClick: async () => (await import("./wizard.js")).openWizard({ from: experiment, onStarted: (started) => {
      modal.close();
      if (started) openViewModal(started.id, { onChange });
    } }) }, "Modify & Re-test");
  const views = new Map();
  const buttons = TABS.map((t) => {
    const id = nextId("tab");
    const panel = h("div", { role: "tabpanel", id: `${id}-panel`, "aria-labelledby": id, hidden: true, tabindex: "0", dataset: { tab: t.key } });
    panels.append(panel);
    const button = h("button", { type: "button", role: "tab", id, "aria-controls": panel.id, "aria-selected": "false", tabindex: "-1", dataset: { tab: t.key }, onClick: () => select(t.key, true) }, t.label);
    tablist.append(button);
    return { ...t, button, panel };
  });
  tablist.addEventListener("keydown", (event) => {
    const index = buttons.findIndex((b) => b.key === active);
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    let next = null;
    if (step) next = buttons[(index + step + buttons.length) % buttons.length];
    if (event.key === "Home") next = buttons[0];
    if (event.key === "End") next = buttons[buttons.length - 1];
    if (!next) return;
    event.preventDefault();
    select(next.key, true);
  });

  async function select(key, focus = false) {
    active = key;
    for (const b of buttons) {
      const on = b.key === key;
      b.button.setAttribute("aria-selected", String(on));
      b.button.tabIndex = on ? 0 : -1;
      b.panel.hidden = !on;
      if (on && focus) b.button.focus();
    }
    const tabDef = buttons.find((b) => b.key === key);
    if (!experiment) {
      mount(tabDef.panel, loading("Loading experiment…"));
      return;
    }
    if (!views.has(key)) {
      mount(tabDef.panel, loading());
      const view = (await tabDef.load()).createTab(tabDef.panel, { modal, reload: () => poller?.now() });
      views.set(key, view);
      view.update(experiment);
    }
  }

  function show(doc) {
    const changed = !experiment || experiment.updated_at !== doc.updated_at || experiment.status !== doc.status;
    experiment = doc;
    modal.setTitle(`Exp #${doc.number} · ${doc.name}`);
    mount(badge, statusBadge(doc.status), runKindBadge(doc));
    mount(actions, isActive(doc) ? null : retestButton, runFullTrainingButton(doc, { className: "success", onStarted: (started) => {
      modal.close();
      openViewModal(started.id, { onChange });
    } }));
    modal.dialog.dataset.status = doc.status;
    if (changed) {
      views.forEach((view) => view.update(doc));
      onChange(doc);
    }
  }

  mount(buttons[0].panel, loading("Loading experiment…"));
  buttons[0].panel.hidden = false;
  let first = true;
  poller = poll(async (signal) => {
    try {
      const doc = await experiments.get(experimentId, { signal });
      show(doc);
      if (first) {
        first = false;
        await select(active ?? tab); // a tab the user chose while the experiment was loading stays chosen
      }
      return isActive(doc) ? POLL_MS : null;
    } catch (error) {
      if (error.name === "AbortError") throw error;
      if (first) {
        mount((buttons.find((b) => b.key === active) ?? buttons[0]).panel, errorState(error, () => poller.now()));
        return null;
      }
      return POLL_MS * 3;
    }
  });
  return modal;
}

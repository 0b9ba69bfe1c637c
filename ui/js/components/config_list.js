/**
 * The shared shape of the three configuration pages: a header with a create button, a list of
 * cards with Edit / Duplicate / Delete, and empty, loading and error states.
 */
import { h, mount } from "../lib/dom.js";
import { dateTime } from "../lib/format.js";
import { confirmDialog, toast } from "../lib/modal.js";
import { empty, withStates } from "../lib/states.js";

/**
 * `resource`: an api.js resource; `noun`: "dataset"; `describe(item)`: card body nodes;
 * `openEditor(item|null, onSaved)`: opens the create/edit modal.
 */
export function renderConfigList(root, { heading, intro, noun, resource, describe, openEditor, id }) {
  const listEl = h("div", { class: "list", id });
  const createButton = h("button", { type: "button", class: "primary", dataset: { action: "create" } }, `+ New ${noun}`);
  mount(root,
    h("div", { class: "page-head" }, h("div", {}, h("h1", {}, heading), h("p", {}, intro)), h("div", { class: "toolbar" }, createButton)),
    listEl);

  const refresh = () => withStates(listEl, () => resource.list(), (page) => {
    if (!page.items.length) {
      return empty(`No ${noun}s yet.`, `Create the first ${noun} to get started.`, h("button", { type: "button", class: "primary", onClick: () => openEditor(null, saved) }, `+ New ${noun}`));
    }
    return page.items.map(card);
  });

  function saved(item, verb = "saved") {
    toast(`${capital(noun)} “${item.name}” ${verb}.`);
    refresh();
  }

  function card(item) {
    const label = `${noun} ${item.name}`;
    return h("article", { class: "card config-card", dataset: { id: item.id }, "aria-label": label },
      h("header", {},
        h("div", { style: { minWidth: 0 } }, h("h3", { class: "item-name", style: { overflowWrap: "anywhere" } }, item.name),
          item.description ? h("p", { class: "muted small", style: { overflowWrap: "anywhere" } }, item.description) : null,
          h("div", { class: "meta" }, `Updated ${dateTime(item.updated_at)}`, item.created_by ? h("span", { class: "created-by" }, ` · created by ${item.created_by}`) : null)),
        h("div", { class: "toolbar" },
          h("button", { type: "button", class: "small", "aria-label": `Edit ${label}`, onClick: () => openEditor(item, saved) }, "Edit"),
          h("button", { type: "button", class: "small", "aria-label": `Duplicate ${label}`, onClick: () => duplicate(item) }, "Duplicate"),
          h("button", { type: "button", class: "small danger-outline", "aria-label": `Delete ${label}`, onClick: () => remove(item) }, "Delete"))),
      describe(item));
  }

  async function duplicate(item) {
    try {
      const copy = await resource.duplicate(item.id);
      saved(copy, "created");
    } catch (error) {
      toast(error.message, "error");
    }
  }

  async function remove(item) {
    const ok = await confirmDialog({ title: `Delete ${noun}?`, message: `“${item.name}” will be deleted. Experiments keep their own snapshot of it.`, confirmLabel: "Delete", danger: true });
    if (!ok) return;
    try {
      await resource.remove(item.id);
      toast(`${capital(noun)} “${item.name}” deleted.`);
      refresh();
    } catch (error) {
      toast(error.message, "error");
    }
  }

  createButton.addEventListener("click", () => openEditor(null, saved));
  refresh();
  return { refresh };
}

function capital(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A create/edit modal around a form: Save posts the body, API errors land beside the fields. */
import { h } from "../lib/dom.js";
import { showErrors } from "../lib/forms.js";
import { openModal } from "../lib/modal.js";

/**
 * `build(form)` fills the form and returns `collect()` → request body (or throws
 * `{fieldErrors}` for client-side problems); `save(body)` → saved item.
 */
export function editorModal({ title, build, save, onSaved, size = "" }) {
  const form = h("form", { novalidate: true, "aria-label": title }, h("div", { class: "form-error", tabindex: "-1" }));
  const saveButton = h("button", { type: "button", class: "primary" }, "Save");
  const cancel = h("button", { type: "button" }, "Cancel");
  const modal = openModal({ title, size, body: form, footer: [cancel, saveButton] });
  const collect = build(form);

  let busy = false;
  async function submit(event) {
    event?.preventDefault();
    if (busy) return;
    busy = true;
    saveButton.disabled = true;
    saveButton.textContent = "Saving…";
    try {
      const item = await save(collect());
      modal.close();
      onSaved(item);
    } catch (error) {
      showErrors(form, error);
    } finally {
      busy = false;
      saveButton.disabled = false;
      saveButton.textContent = "Save";
    }
  }
  cancel.addEventListener("click", () => modal.close());
  saveButton.addEventListener("click", submit);
  form.addEventListener("submit", submit);
  form.querySelector("input, select, textarea")?.focus();
  return modal;
}

/** A client-side validation problem in the shape `showErrors` understands. */
export function clientError(problems) {
  return { message: "Please correct the highlighted fields.", suggestions: [], fieldErrors: () => problems };
}

/**
 * Accessible modal dialogs: focus moves in and is trapped (Tab cycles), Esc closes the top
 * modal, focus returns to the opener, and the page behind is inert while a modal is open.
 */
import { focusable, h, nextId } from "./dom.js";

const stack = [];

document.addEventListener("keydown", (event) => {
  const top = stack[stack.length - 1];
  if (!top) return;
  if (event.key === "Escape") {
    event.preventDefault();
    top.close();
  } else if (event.key === "Tab") {
    const items = focusable(top.dialog);
    if (!items.length) {
      event.preventDefault();
      top.dialog.focus();
      return;
    }
    const first = items[0];
    const last = items[items.length - 1];
    if (event.shiftKey && (document.activeElement === first || !top.dialog.contains(document.activeElement))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (document.activeElement === last || !top.dialog.contains(document.activeElement))) {
      event.preventDefault();
      first.focus();
    }
  }
});

/**
 * Open a modal. Returns `{dialog, body, footer, close, setTitle}`; `onClose` runs once when it
 * closes (Esc, ×, backdrop click or `close()`).
 */
export function openModal({ title, size = "", body = [], footer = null, onClose = null, label = null }) {
  const titleId = nextId("modal-title");
  const opener = document.activeElement;
  const heading = h("h2", { id: titleId }, title);
  const bodyEl = h("div", { class: "body" }, body);
  const footerEl = footer ? h("footer", {}, footer) : null;
  const closeButton = h("button", { type: "button", class: "icon ghost", "aria-label": "Close", title: "Close (Esc)" }, "×");
  const dialog = h(
    "div",
    { class: ["modal", size], role: "dialog", "aria-modal": "true", "aria-labelledby": titleId, "aria-label": label, tabindex: "-1" },
    h("header", {}, heading, closeButton),
    bodyEl,
    footerEl,
  );
  const backdrop = h("div", { class: "modal-backdrop" }, dialog);
  let closed = false;
  const entry = {
    dialog,
    body: bodyEl,
    footer: footerEl,
    setTitle(text) {
      heading.textContent = text;
    },
    close() {
      if (closed) return;
      closed = true;
      stack.splice(stack.indexOf(entry), 1);
      backdrop.remove();
      updateInert();
      if (onClose) onClose();
      if (opener && document.contains(opener)) opener.focus();
    },
    get closed() {
      return closed;
    },
  };
  closeButton.addEventListener("click", () => entry.close());
  backdrop.addEventListener("mousedown", (event) => {
    if (event.target === backdrop) entry.close();
  });
  stack.push(entry);
  document.body.append(backdrop);
  updateInert();
  const first = focusable(bodyEl)[0] || focusable(dialog)[0];
  (first || dialog).focus();
  return entry;
}

function updateInert() {
  const app = document.getElementById("app-shell");
  if (app) app.inert = stack.length > 0;
  document.querySelectorAll(".modal-backdrop").forEach((el, index, all) => {
    el.inert = index !== all.length - 1;
  });
  document.body.style.overflow = stack.length ? "hidden" : "";
}

/** A styled confirmation; resolves true when confirmed. */
export function confirmDialog({ title, message, confirmLabel = "Confirm", cancelLabel = "Cancel", danger = false }) {
  return new Promise((resolve) => {
    let result = false;
    const cancel = h("button", { type: "button" }, cancelLabel);
    const ok = h("button", { type: "button", class: danger ? "danger" : "primary" }, confirmLabel);
    const modal = openModal({
      title,
      size: "narrow",
      body: h("p", {}, message),
      footer: [cancel, ok],
      onClose: () => resolve(result),
    });
    cancel.addEventListener("click", () => modal.close());
    ok.addEventListener("click", () => {
      result = true;
      modal.close();
    });
    cancel.focus();
  });
}

/** Small transient message at the bottom of the page (announced to screen readers). */
export function toast(text, kind = "") {
  let region = document.getElementById("toasts");
  if (!region) {
    region = h("div", { id: "toasts", role: "status", "aria-live": "polite", style: { position: "fixed", bottom: "1rem", right: "1rem", zIndex: 200, display: "flex", flexDirection: "column", gap: "0.5rem" } });
    document.body.append(region);
  }
  const item = h("div", { class: ["notice", kind], style: { boxShadow: "var(--shadow-lg)", maxWidth: "420px" } }, text);
  region.append(item);
  setTimeout(() => item.remove(), 5000);
}

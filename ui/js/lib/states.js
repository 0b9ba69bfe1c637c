/** Loading, empty and error blocks, and a helper that shows them around an async render. */
import { h, mount } from "./dom.js";

export function loading(text = "Loading…") {
  return h("div", { class: "state", role: "status", "aria-live": "polite" }, h("span", { class: "spinner", "aria-hidden": "true" }), " ", text);
}

export function empty(title, hint, action) {
  return h("div", { class: "state empty" }, h("strong", {}, title), hint ? h("span", {}, hint) : null, action ? h("div", { style: { marginTop: "0.6rem" } }, action) : null);
}

export function errorState(error, retry) {
  const suggestions = error?.suggestions?.length ? ` Did you mean: ${error.suggestions.join(", ")}?` : "";
  return h(
    "div",
    { class: "state error", role: "alert" },
    h("strong", {}, "Something went wrong"),
    h("span", {}, (error?.message || String(error)) + suggestions),
    retry ? h("div", { style: { marginTop: "0.6rem" } }, h("button", { type: "button", class: "small", onClick: retry }, "Retry")) : null,
  );
}

/** Show a loading state in `el`, then whatever `render` returns, or an error with a Retry button. */
export async function withStates(el, load, render) {
  mount(el, loading());
  try {
    const data = await load();
    mount(el, render(data));
  } catch (error) {
    if (error.name === "AbortError") return;
    console.error(error);
    mount(el, errorState(error, () => withStates(el, load, render)));
  }
}

/**
 * A storage location (`file:///…`, `gs://…`) is a detail users rarely need: it is shown as the
 * object's name, with the full URI behind a `<details>` toggle (`.uri-full`, selectable to copy).
 * Text that is no URI (a BigQuery `project.dataset.table`) is shown as it is.
 */
import { h } from "../lib/dom.js";

const URI = /^[a-z][a-z0-9+.-]*:\/\//i;

/** The last path segment of a URI (`…/Trainer/model/7` → `model/7` for a numbered output folder). */
export function uriName(uri) {
  const parts = String(uri).replace(URI, "").split("/").filter(Boolean);
  if (!parts.length) return String(uri);
  const last = parts[parts.length - 1];
  return /^\d+$/.test(last) && parts.length > 1 ? `${parts[parts.length - 2]}/${last}` : last;
}

/** `uri` as its name behind a details toggle; `label` replaces the name in the summary. */
export function uriDetails(uri, { label } = {}) {
  if (uri == null || uri === "") return "—";
  const text = String(uri);
  if (!URI.test(text)) return h("span", { class: "mono" }, text);
  return h("details", { class: "uri-details", style: { display: "inline-block", maxWidth: "100%" } },
    h("summary", { title: "Show the storage location", class: "mono", style: { cursor: "pointer", fontSize: "0.82rem" } }, label ?? uriName(text)),
    h("code", { class: "uri-full", style: { display: "block", marginTop: "0.2rem", fontSize: "0.76rem", overflowWrap: "anywhere", userSelect: "all" } }, text));
}

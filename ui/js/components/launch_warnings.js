/** What the launch check found (decision 061): its warnings on the card, in the wizard and in the view
 * modal, and the split counts it measured. The texts come from the API (domain/preflight.py). */
import { h } from "../lib/dom.js";
import { int } from "../lib/format.js";

const SPLITS = ["train", "eval", "test"];

/** The card's line: "⚠ Small test set · Small candidate corpus", each message in its title. */
export function warningsLine(experiment) {
  const warnings = experiment.warnings || [];
  if (!warnings.length) return null;
  return h("div", { class: "launch-warnings small", dataset: { warnings: warnings.map((w) => w.code).join(" ") } },
    "⚠ ", warnings.map((w, i) => [i ? " · " : "", h("span", { title: w.message }, w.title)]));
}

/** One warning: its title, message and the field that would change it. */
export function warningItem(w) {
  return h("li", { dataset: { code: w.code } },
    h("strong", {}, `⚠ ${w.title}: `), w.message, w.field ? h("span", { class: "muted mono small" }, ` (${w.field})`) : null);
}

/** Every warning with its message and the field that would change it (wizard and view modal). */
export function warningsList(warnings) {
  if (!warnings?.length) return null;
  return h("ul", { class: "launch-warnings-list" }, warnings.map(warningItem));
}

/** The view modal's "Launch check" section: the protocol, the warnings (unless `listed` elsewhere, the
 * overview's Warnings section) and the counts per split. */
export function launchCheckSection(experiment, { listed = false } = {}) {
  const check = experiment.data_check;
  const warnings = experiment.warnings || [];
  if (!check && !experiment.protocol && (listed || !warnings.length)) return null;
  const list = warnings.length ? warningsList(warnings) : h("p", { class: "small muted" }, "No warnings.");
  return h("section", { class: "launch-check", "aria-label": "Launch check" },
    h("div", { class: "section-title" }, "Launch check"),
    experiment.protocol?.label ? h("p", { class: "small" }, h("strong", {}, "Protocol: "), experiment.protocol.label) : null,
    listed ? null : list,
    check ? h("div", { class: "table-wrap" }, h("table", { class: "data-check" },
      h("thead", {}, h("tr", {}, h("th", {}, "Split"), h("th", { class: "num" }, "Interactions"), h("th", { class: "num" }, "Buyers"),
        h("th", { class: "num" }, "Cold-start buyers"), h("th", { class: "num" }, "With a cold-start buyer"), h("th", { class: "num" }, "With an unseen item"))),
      h("tbody", {}, SPLITS.map((name) => {
        const s = check.splits?.[name] || {};
        return h("tr", { dataset: { split: name } }, h("td", {}, name), h("td", { class: "num" }, int(s.interactions ?? 0)),
          h("td", { class: "num" }, int(s.buyers ?? 0)), h("td", { class: "num" }, int(s.cold_buyers ?? 0)),
          h("td", { class: "num" }, int(s.cold_buyer_interactions ?? 0)), h("td", { class: "num" }, int(s.cold_item_interactions ?? 0)));
      })),
      h("tfoot", {}, h("tr", {}, h("td", { colspan: 6, class: "small muted" }, `Candidate corpus: ${int(check.corpus_size ?? 0)} distinct products`))))) : null);
}

/** The run against its best baseline (decision 064): on the card only when it does not beat it beyond noise. */
export function baselineLine(experiment) {
  const verdict = experiment.comparison?.baseline;
  if (!verdict || verdict.outcome === "beats") return null;
  return h("div", { class: "launch-warnings baseline-verdict small", dataset: { outcome: verdict.outcome } }, `⚠ ${verdict.summary}`);
}

/** The view modal's sentence, whatever the outcome. */
export function baselineVerdict(experiment) {
  const verdict = experiment.comparison?.baseline;
  if (!verdict) return null;
  return h("p", { class: ["baseline-verdict", verdict.outcome === "beats" ? "delta-up" : "delta-down"], dataset: { outcome: verdict.outcome } },
    verdict.outcome === "beats" ? "✓ " : "⚠ ", `This run ${verdict.summary}.`);
}

/** Datasets: upload a CSV or Parquet file, or register a warehouse file or BigQuery table; see its columns and row count. */
import { datasets } from "../lib/api.js";
import { h } from "../lib/dom.js";
import { field, input, select } from "../lib/forms.js";
import { int } from "../lib/format.js";
import { renderConfigList } from "../components/config_list.js";
import { clientError, editorModal } from "../components/editor_modal.js";
import { uriDetails } from "../components/uri.js";
import { watchPanel } from "../components/watch.js";

const SOURCE_KIND = { file: "File", upload: "Uploaded file", bigquery: "BigQuery table" };

export const title = "Datasets";

export function render(root) {
  return renderConfigList(root, {
    id: "dataset-list",
    heading: "Datasets",
    intro: "Interaction tables: upload a CSV or Parquet file, or name a file in a warehouse folder or a BigQuery table; optional buyer and product feature tables. Columns and row counts are read from the source.",
    noun: "dataset",
    resource: datasets,
    describe,
    openEditor,
  });
}

function describe(dataset) {
  const sideTables = [["Buyer features", dataset.buyer_features], ["Product features", dataset.product_features]].filter(([, t]) => t);
  return h("div", {},
    h("dl", { class: "kv", style: { marginTop: "0.6rem" } },
      h("dt", {}, "Source"), h("dd", { class: "dataset-source" }, `${SOURCE_KIND[dataset.source.kind] || dataset.source.kind} · `, uriDetails(dataset.source.uri)),
      h("dt", {}, "Rows"), h("dd", { class: "row-count" }, int(dataset.row_count)),
      h("dt", {}, "Buyer id / product id"), h("dd", { class: "mono" }, `${dataset.query_id_column} / ${dataset.candidate_id_column}`),
      h("dt", {}, "Date column"), h("dd", { class: "mono" }, dataset.date_column || "—"),
      sideTables.map(([label, t]) => [h("dt", {}, label), h("dd", {}, uriDetails(t.source.uri), h("span", { class: "mono" }, ` on ${t.join_key}`), ` · ${int(t.columns?.length ?? 0)} columns${t.row_count != null ? ` · ${int(t.row_count)} rows` : ""}`)])),
    h("details", { style: { marginTop: "0.4rem" } },
      h("summary", {}, columnSummary(dataset)),
      columnsTable(dataset)),
    watchPanel(dataset));
}

function columnSummary(dataset) {
  const buyer = dataset.buyer_features?.columns?.length || 0;
  const product = dataset.product_features?.columns?.length || 0;
  const total = dataset.columns.length + buyer + product;
  return buyer || product ? `${total} columns (${dataset.columns.length} interactions, ${buyer} buyer, ${product} product)` : `${total} columns`;
}

function columnsTable(dataset) {
  const rows = dataset.columns.map((c) => ["interactions", c]);
  for (const [table, t] of [["buyer features", dataset.buyer_features], ["product features", dataset.product_features]]) {
    (t?.columns || []).forEach((c) => rows.push([table, c]));
  }
  return h("div", { class: "table-wrap", style: { marginTop: "0.4rem", maxHeight: "260px" } },
    h("table", { class: "columns-table" },
      h("thead", {}, h("tr", {}, h("th", {}, "Column"), h("th", {}, "Type"), h("th", {}, "Table"))),
      h("tbody", {}, rows.map(([table, c]) => h("tr", {}, h("td", { class: "mono" }, c.name), h("td", {}, c.type), h("td", { class: "muted" }, table))))));
}

const UPLOAD_TYPES = ".csv,.tsv,.gz,.parquet,.pq";

/** `uploadable`: a new interactions table, which may be a file uploaded from this computer (the default). */
function sourceFields(prefix, value, { optional = false, uploadable = false } = {}) {
  const kinds = [["file", "File in a warehouse folder"], ["bigquery", "BigQuery table"]];
  if (uploadable) kinds.unshift(["upload", "Upload a file (CSV or Parquet)"]);
  const kind = select(kinds, { value: value?.source?.kind || (uploadable ? "upload" : "file") });
  const uri = input({ value: value?.source?.uri || "", placeholder: "movielens_100k/ratings.parquet or project.dataset.table", class: "mono" });
  const file = uploadable ? input({ type: "file", accept: UPLOAD_TYPES, "aria-label": "File to upload" }) : null;
  const joinKey = optional ? input({ value: value?.join_key || "", class: "mono" }) : null;
  const uriField = h("div", { style: { flex: "3 1 320px" } }, field(optional ? "Table URI" : "URI", uri, { name: `${prefix}source.uri`, hint: "a CSV/Parquet file in a warehouse folder (a path inside it), or a BigQuery project.dataset.table" }));
  const fileField = file ? h("div", { style: { flex: "3 1 320px" } }, field("File", file, { name: "file", hint: "CSV (.csv, .tsv, also gzipped) or Parquet; it is stored with the platform's data" })) : null;
  const showChosen = () => {
    const uploading = kind.value === "upload";
    uriField.style.display = uploading ? "none" : "";
    if (fileField) fileField.style.display = uploading ? "" : "none";
  };
  kind.addEventListener("change", showChosen);
  showChosen();
  const els = h("div", { class: "inline" },
    field("Source", kind, { name: `${prefix}source.kind` }), uriField, fileField,
    joinKey ? field("Join key", joinKey, { name: `${prefix}join_key` }) : null);
  return {
    els,
    /** The chosen file when uploading, else null. */
    file: () => (kind.value === "upload" ? file.files[0] || null : null),
    uploading: () => kind.value === "upload",
    value() {
      if (optional && !uri.value.trim()) return null;
      const out = { source: { kind: kind.value, uri: uri.value.trim() } };
      if (joinKey) out.join_key = joinKey.value.trim();
      return out;
    },
  };
}

function openEditor(dataset, onSaved) {
  editorModal({
    title: dataset ? `Edit dataset “${dataset.name}”` : "Register a dataset",
    size: "wide",
    build(form) {
      const name = input({ value: dataset?.name || "", maxlength: 200 });
      const description = h("textarea", { rows: 2, maxlength: 2000 }, dataset?.description || "");
      const source = sourceFields("", dataset, { uploadable: !dataset });
      const queryId = input({ value: dataset?.query_id_column || "", class: "mono", placeholder: "user_id" });
      const candidateId = input({ value: dataset?.candidate_id_column || "", class: "mono", placeholder: "item_id" });
      const dateColumn = input({ value: dataset?.date_column || "", class: "mono", placeholder: "optional" });
      const buyer = sourceFields("buyer_features.", dataset?.buyer_features, { optional: true });
      const product = sourceFields("product_features.", dataset?.product_features, { optional: true });
      form.append(
        h("div", { class: "grid-2" }, field("Name", name, { name: "name", required: true }), field("Description", description, { name: "description" })),
        h("fieldset", {}, h("legend", {}, "Interactions table"), source.els,
          h("div", { class: "inline" },
            field("Buyer / query id column", queryId, { name: "query_id_column", required: true }),
            field("Product / candidate id column", candidateId, { name: "candidate_id_column", required: true }),
            field("Date column", dateColumn, { name: "date_column", hint: "needed by the time-based splits" }))),
        h("fieldset", {}, h("legend", {}, "Buyer features table (optional)"), buyer.els),
        h("fieldset", {}, h("legend", {}, "Product features table (optional)"), product.els),
      );
      return () => {
        const fields = {
          name: name.value.trim(),
          description: description.value.trim(),
          query_id_column: queryId.value.trim(),
          candidate_id_column: candidateId.value.trim(),
          date_column: dateColumn.value.trim() || null,
        };
        if (source.uploading()) {
          if (!source.file()) throw clientError([{ field: "file", message: "Choose a CSV or Parquet file to upload." }]);
          if (buyer.value() || product.value()) throw clientError([{ field: "buyer_features.source.uri", message: "Upload the interactions first; add feature tables by editing the dataset." }]);
          return { upload: source.file(), fields };
        }
        return { ...fields, source: source.value().source, buyer_features: buyer.value(), product_features: product.value() };
      };
    },
    save: (body) => (body.upload ? datasets.upload(body.upload, body.fields) : dataset ? datasets.update(dataset.id, body) : datasets.create(body)),
    onSaved,
  });
}

/** Feature configs: query (buyer) and candidate (product) tower features and cross features. */
import { datasets, featureConfigs } from "../lib/api.js";
import { h, mount, nextId } from "../lib/dom.js";
import { field, input, numberValue, select, setOptions } from "../lib/forms.js";
import { renderConfigList } from "../components/config_list.js";
import { editorModal } from "../components/editor_modal.js";
import { crossLabel, featureLabel } from "../components/labels.js";

export const title = "Feature configs";

const KINDS = [["id", "id"], ["categorical", "categorical"], ["numeric", "numeric"], ["timestamp", "timestamp"], ["text", "text tokens"]];
/** The query tower also takes a buyer's history of a product column (decision 060, amendment 6). */
const QUERY_KINDS = [...KINDS, ["history", "buyer history (of a product column)"]];
const DEFAULT_DIMS = { id: 32, categorical: 16, numeric: 8, timestamp: 8, text: 16 };

export function render(root) {
  datasetNames = datasets.list().then((page) => new Map(page.items.map((d) => [d.id, d.name]))).catch(() => new Map());
  return renderConfigList(root, {
    id: "feature-config-list",
    heading: "Feature configs",
    intro: "How columns become inputs of the query (buyer) tower and the candidate (product) tower.",
    noun: "feature config",
    resource: featureConfigs,
    describe,
    openEditor,
  });
}

/** Dataset id → name, read once per visit of the page (a card names its dataset). */
let datasetNames = Promise.resolve(new Map());

function datasetCell(config) {
  if (!config.dataset_id) return h("dd", { class: "config-dataset muted" }, "any dataset");
  const cell = h("dd", { class: "config-dataset" }, config.dataset_id);
  datasetNames.then((names) => { cell.textContent = names.get(config.dataset_id) || `${config.dataset_id} (deleted)`; });
  return cell;
}

function describe(config) {
  const chips = (features, cls) => h("div", { class: "chips" }, features.map((f) => h("span", { class: ["chip", cls] }, featureLabel(f))));
  return h("dl", { class: "kv", style: { marginTop: "0.6rem" } },
    h("dt", {}, "Dataset"), datasetCell(config),
    h("dt", {}, "Query tower"), h("dd", {}, chips(config.query_features, "q")),
    h("dt", {}, "Candidate tower"), h("dd", {}, chips(config.candidate_features, "c")),
    h("dt", {}, "Crosses"), h("dd", {}, config.cross_features?.length ? h("div", { class: "chips" }, config.cross_features.map((x) => h("span", { class: "chip x" }, `${x.tower}: ${crossLabel(x)}`))) : "none"));
}

function featureRow(prefix, feature, columnsListId, onRemove, kinds = KINDS) {
  const column = input({ value: feature?.column || "", list: columnsListId, class: "mono", "aria-label": "Column", autocomplete: "off" });
  const kind = select(kinds, { value: feature?.kind || "categorical", "aria-label": "Kind" });
  const dim = input({ type: "number", min: 1, max: 1024, value: feature?.embedding_dim ?? DEFAULT_DIMS[feature?.kind || "categorical"] });
  const transform = select([["normalize", "normalize (z-score)"], ["bucketize", "bucketize"]], { value: feature?.transform || "normalize" });
  const buckets = input({ type: "number", min: 2, max: 1000, value: feature?.buckets ?? 10 });
  const maxVocab = input({ type: "number", min: 1, value: feature?.max_vocab_size ?? "", placeholder: "all" });
  const maxTokens = input({ type: "number", min: 1, max: 256, value: feature?.max_tokens ?? 16 });
  const maxValues = input({ type: "number", min: 1, max: 1000, value: feature?.max_values ?? 32 });
  const shrinkage = input({ type: "number", min: 0.001, step: "any", value: feature?.shrinkage ?? 50 });
  const extras = h("div", { class: "inline", style: { flex: "3 1 300px" } });
  const remove = h("button", { type: "button", class: "small danger-outline", "aria-label": "Remove feature", onClick: () => { el.remove(); onRemove(); } }, "Remove");
  const el = h("div", { class: "inline feature-row", style: { borderBottom: "1px dashed var(--border)", marginBottom: "0.5rem" } },
    field("Column", column, { name: `${prefix}.column` }),
    field("Kind", kind, { name: `${prefix}.kind` }),
    extras, remove);

  function showExtras() {
    const k = kind.value;
    const parts = [];
    if (k === "history") {
      parts.push(field("Values kept", maxValues, { name: `${prefix}.max_values`, hint: "most frequent values; the rest count as one" }));
      parts.push(field("Shrinkage", shrinkage, { name: `${prefix}.shrinkage`, hint: "pseudo-interactions at the overall shares" }));
      mount(extras, parts);
      return;
    }
    if (k !== "numeric" || transform.value === "bucketize") parts.push(field("Embedding dim", dim, { name: `${prefix}.embedding_dim` }));
    if (k === "numeric") parts.push(field("Transform", transform, { name: `${prefix}.transform` }));
    if ((k === "numeric" && transform.value === "bucketize") || k === "timestamp") parts.push(field("Buckets", buckets, { name: `${prefix}.buckets` }));
    if (k === "id" || k === "categorical" || k === "text") parts.push(field("Max vocabulary", maxVocab, { name: `${prefix}.max_vocab_size` }));
    if (k === "text") parts.push(field("Max tokens", maxTokens, { name: `${prefix}.max_tokens` }));
    mount(extras, parts);
  }
  kind.addEventListener("change", () => {
    dim.value = DEFAULT_DIMS[kind.value];
    showExtras();
  });
  transform.addEventListener("change", showExtras);
  showExtras();

  return {
    el,
    setPrefix(next) {
      prefix = next;
      el.querySelectorAll("[data-field]").forEach((c) => (c.dataset.field = c.dataset.field.replace(/^[a-z_]+\.\d+/, next)));
    },
    value() {
      const k = kind.value;
      const out = { column: column.value.trim(), kind: k };
      if (k === "history") return { ...out, max_values: numberValue(maxValues), shrinkage: numberValue(shrinkage) };
      if (k !== "numeric" || transform.value === "bucketize") out.embedding_dim = numberValue(dim);
      if (k === "numeric") {
        out.transform = transform.value;
        if (transform.value === "bucketize") out.buckets = numberValue(buckets);
      }
      if (k === "timestamp") out.buckets = numberValue(buckets);
      if (["id", "categorical", "text"].includes(k)) out.max_vocab_size = numberValue(maxVocab) ?? null;
      if (k === "text") out.max_tokens = numberValue(maxTokens);
      return out;
    },
  };
}

function crossRow(prefix, cross, onRemove) {
  const tower = select([["query", "query tower"], ["candidate", "candidate tower"]], { value: cross?.tower || "query" });
  const columns = input({ value: (cross?.columns || []).join(", "), class: "mono", placeholder: "category, subcategory" });
  const buckets = input({ type: "number", min: 2, value: cross?.hash_buckets ?? 1000 });
  const dim = input({ type: "number", min: 1, max: 1024, value: cross?.embedding_dim ?? 16 });
  const el = h("div", { class: "inline cross-row" },
    field("Tower", tower, { name: `${prefix}.tower` }),
    h("div", { style: { flex: "2 1 220px" } }, field("Columns (comma separated)", columns, { name: `${prefix}.columns` })),
    field("Hash buckets", buckets, { name: `${prefix}.hash_buckets` }),
    field("Embedding dim", dim, { name: `${prefix}.embedding_dim` }),
    h("button", { type: "button", class: "small danger-outline", "aria-label": "Remove cross feature", onClick: () => { el.remove(); onRemove(); } }, "Remove"));
  return {
    el,
    setPrefix(next) {
      el.querySelectorAll("[data-field]").forEach((c) => (c.dataset.field = c.dataset.field.replace(/^[a-z_]+\.\d+/, next)));
    },
    value: () => ({ tower: tower.value, columns: columns.value.split(",").map((c) => c.trim()).filter(Boolean), hash_buckets: numberValue(buckets), embedding_dim: numberValue(dim) }),
  };
}

/** A list of rows under one array field (`query_features`), re-indexed after removals. */
function rowList(fieldName, items, makeRow, addLabel) {
  const rows = [];
  const host = h("div", { dataset: { field: fieldName }, tabindex: "-1" });
  const reindex = () => rows.forEach((row, i) => row.setPrefix(`${fieldName}.${i}`));
  function add(item) {
    const row = makeRow(`${fieldName}.${rows.length}`, item, () => {
      rows.splice(rows.indexOf(row), 1);
      reindex();
    });
    rows.push(row);
    host.append(row.el);
    return row;
  }
  items.forEach(add);
  const addButton = h("button", { type: "button", class: "small", onClick: () => add(null).el.querySelector("input, select")?.focus() }, addLabel);
  return {
    el: h("div", {}, host, h("span", { class: "field-error", role: "alert" }), addButton),
    values: () => rows.map((r) => r.value()),
  };
}

function openEditor(config, onSaved) {
  editorModal({
    title: config ? `Edit feature config “${config.name}”` : "New feature config",
    size: "wide",
    build(form) {
      const columnsListId = nextId("columns");
      const columnList = h("datalist", { id: columnsListId });
      const name = input({ value: config?.name || "", maxlength: 200 });
      const description = h("textarea", { rows: 2, maxlength: 2000 }, config?.description || "");
      const dataset = select([["", "Loading datasets…"]]);
      const datasetHint = h("span", { class: "hint" });
      const query = rowList("query_features", config?.query_features || [{ column: "", kind: "id", embedding_dim: 32 }], (p, f, rm) => featureRow(p, f, columnsListId, rm, QUERY_KINDS), "+ Add query feature");
      const candidate = rowList("candidate_features", config?.candidate_features || [{ column: "", kind: "id", embedding_dim: 32 }], (p, f, rm) => featureRow(p, f, columnsListId, rm), "+ Add candidate feature");
      const crosses = rowList("cross_features", config?.cross_features || [], crossRow, "+ Add cross feature");
      form.append(columnList,
        h("div", { class: "grid-3" }, field("Name", name, { name: "name", required: true }), field("Description", description, { name: "description" }), h("div", {}, field("Dataset", dataset, { name: "dataset_id" }), datasetHint)),
        h("fieldset", {}, h("legend", {}, "Query tower (buyer features)"), query.el),
        h("fieldset", {}, h("legend", {}, "Candidate tower (product features)"), candidate.el),
        h("fieldset", {}, h("legend", {}, "Cross features"), crosses.el));
      // The array fields' own errors (e.g. "must have at least one feature") go under the list.
      for (const list of form.querySelectorAll("[data-field$='_features']")) {
        const slot = list.nextElementSibling;
        slot.id = nextId("err");
        list.setAttribute("aria-describedby", slot.id);
      }

      let known = [];
      datasets.list().then((page) => {
        known = page.items;
        setOptions(dataset, [["", "— any dataset —"], ...known.map((d) => [d.id, d.name])], config?.dataset_id || known[0]?.id || "");
        showColumns();
      }).catch((error) => setOptions(dataset, [["", `datasets unavailable: ${error.message}`]]));
      function showColumns() {
        const ds = known.find((d) => d.id === dataset.value);
        const columns = ds ? allColumns(ds) : [];
        mount(columnList, columns.map(([c, t]) => h("option", { value: c }, t)));
        datasetHint.textContent = ds ? `${columns.length} columns available` : "any dataset: each column must be in some registered dataset, and in the one chosen at start";
      }
      dataset.addEventListener("change", showColumns);

      return () => ({
        name: name.value.trim(),
        description: description.value.trim(),
        dataset_id: dataset.value || null,
        query_features: query.values(),
        candidate_features: candidate.values(),
        cross_features: crosses.values(),
      });
    },
    save: (body) => (config ? featureConfigs.update(config.id, body) : featureConfigs.create(body)),
    onSaved,
  });
}

function allColumns(dataset) {
  const out = dataset.columns.map((c) => [c.name, c.type]);
  for (const t of [dataset.buyer_features, dataset.product_features]) (t?.columns || []).forEach((c) => out.push([c.name, c.type]));
  return out;
}

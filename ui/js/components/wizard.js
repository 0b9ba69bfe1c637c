/**
 * New-experiment wizard. Step 1: name, description, dataset, feature config, model config.
 * Step 2: sample, split, training parameters (filled from the model config), hardware tier
 * cards with the recommended one marked, the duration/cost estimate, what a quick test validates and
 * that its metrics are indicative. Submitting closes the wizard at once and hands the new (pending)
 * experiment to `onStarted`. With `from` (an experiment), every field starts as that run had it
 * ("Modify & Re-test").
 */
import { datasets, experiments, featureConfigs, modelConfigs, system } from "../lib/api.js";
import { h, mount, s } from "../lib/dom.js";
import { clearErrors, field, input, numberValue, select, setOptions, showErrors } from "../lib/forms.js";
import { duration, int, usd } from "../lib/format.js";
import { openModal, toast } from "../lib/modal.js";
import { warningsList } from "./launch_warnings.js";
import { sweeps } from "../lib/decisions_api.js";
import { empty, errorState, loading } from "../lib/states.js";
import { recallKs } from "../lib/metrics.js";

const DEFAULT_TIERS = [
  { name: "small", label: "Small", machine_type: "n1-standard-4", vcpu: 4, memory_gb: 15, hint: "Datasets under 100k rows" },
  { name: "medium", label: "Medium", machine_type: "n1-standard-8", vcpu: 8, memory_gb: 30, hint: "100k – 1M rows" },
  { name: "large", label: "Large", machine_type: "n1-standard-16", vcpu: 16, memory_gb: 60, hint: "Over 1M rows" },
];
const SAMPLE_PERCENTS = [5, 10, 25, 100];

/** What a quick test proves when it completes (spec: Quick Test Dialog). */
export function validatesList() {
  return h("div", { class: "validates" },
    h("div", { class: "section-title", id: "validates-title" }, "What Quick Test validates"),
    h("ul", { class: "checklist", "aria-labelledby": "validates-title" },
      h("li", {}, "Transform compiles successfully"),
      h("li", {}, "Features have valid vocabularies"),
      h("li", {}, "Model trains without errors"),
      h("li", {}, `Basic metrics computed (loss, Recall@${recallKs().join("/")})`)),
    h("p", { class: "notice warn small", id: "indicative-note" }, "⚠ Quick Test metrics are indicative only (a sample, few epochs). Run Full Training for production-ready results."));
}

export function openWizard({ onStarted, from = null }) {
  const modal = openModal({ title: "New experiment", size: "wide", body: loading("Loading configurations…"), footer: [] });
  Promise.all([datasets.list(), featureConfigs.list(), modelConfigs.list(), system.options().catch(() => ({}))])
    .then(([ds, fcs, mcs, options]) => {
      if (modal.closed) return;
      if (!ds.items.length || !fcs.items.length || !mcs.items.length) {
        const missing = [!ds.items.length && ["a dataset", "#/datasets"], !fcs.items.length && ["a feature config", "#/feature-configs"], !mcs.items.length && ["a model config", "#/model-configs"]].filter(Boolean);
        mount(modal.body, empty("Some configuration is missing.", "An experiment needs a dataset, a feature config and a model config.",
          h("div", { class: "toolbar", style: { justifyContent: "center" } }, missing.map(([what, href]) => h("a", { class: "button", href, onClick: () => modal.close() }, `Create ${what}`)))));
        return;
      }
      buildForm(modal, ds.items, fcs.items, mcs.items, options || {}, onStarted, from);
    })
    .catch((error) => mount(modal.body, errorState(error)));
  return modal;
}

function lockIcon() {
  return s("svg", { width: "12", height: "12", viewBox: "0 0 12 12", "aria-hidden": "true" },
    s("rect", { x: "2", y: "5", width: "8", height: "6", rx: "1", fill: "currentColor" }),
    s("path", { d: "M4 5V3.5a2 2 0 0 1 4 0V5", fill: "none", stroke: "currentColor", "stroke-width": "1.4" }));
}

function tiersFrom(options) {
  const given = options.hardware_tiers;
  if (!Array.isArray(given) || !given.length) return DEFAULT_TIERS;
  return given.map((tier) => {
    const name = typeof tier === "string" ? tier : tier.name;
    const base = DEFAULT_TIERS.find((t) => t.name === name) || { name, label: name };
    return typeof tier === "string" ? base : { ...base, ...tier, label: tier.label || base.label };
  });
}

function buildForm(modal, datasetList, featureList, modelList, options, onStarted, from) {
  const tiers = tiersFrom(options);
  const samplePercents = Array.isArray(options.sample_percents) ? options.sample_percents : SAMPLE_PERCENTS;

  const name = input({ name: "name", maxlength: 200, placeholder: "e.g. Genres in the candidate tower" });
  const description = h("textarea", { name: "description", maxlength: 2000, rows: 2, placeholder: "What are you testing?" });
  const dataset = select(datasetList.map((d) => [d.id, `${d.name} · ${int(d.row_count)} rows`]));
  const featureConfig = select([]);
  const modelConfig = select(modelList.map((m) => [m.id, m.name]));

  const sample = select(samplePercents.map((p) => [p, `${p}%`]), { value: 10 });
  const strategy = select([["random", "Random (hash-based)"], ["time_holdout", "Time holdout (last N days are the test set)"], ["strict_time", "Strict time windows (train → val → test)"], ["buyer_time", "Each buyer's latest interactions (leave latest out)"]]);
  const trainPercent = input({ type: "number", min: 1, max: 98, value: 80 });
  const valPercent = input({ type: "number", min: 1, max: 98, value: 10 });
  const dateColumn = select([]);
  const holdoutDays = input({ type: "number", min: 1, value: 7 });
  const historyDays = input({ type: "number", min: 1, placeholder: "all" });
  const holdoutVal = input({ type: "number", min: 1, max: 50, value: 10 });
  const trainDays = input({ type: "number", min: 1, value: 60 });
  const valDays = input({ type: "number", min: 1, value: 7 });
  const testDays = input({ type: "number", min: 1, value: 7 });
  const buyerTest = input({ type: "number", min: 1, max: 49, value: 10 });
  const buyerVal = input({ type: "number", min: 1, max: 49, value: 10 });
  const epochs = input({ type: "number", min: 1, max: 100 });
  const batchSize = input({ type: "number", min: 8, max: 65536 });
  const learningRate = input({ type: "number", min: 0, step: "any" });
  const repeats = input({ type: "number", min: 1, max: 10, value: "1", id: "wizard-repeats" });
  let tier = "small";
  let recommended = null;
  let estimates = {};

  const splitFields = {
    random: h("div", { class: "inline" }, field("Train %", trainPercent, { name: "parameters.split.train_percent" }), field("Validation %", valPercent, { name: "parameters.split.val_percent", hint: "the rest is the test split" })),
    time_holdout: h("div", { class: "inline" }, field("Date column", dateColumn, { name: "parameters.split.date_column" }), field("Holdout days", holdoutDays, { name: "parameters.split.holdout_days" }), field("History days", historyDays, { name: "parameters.split.history_days", hint: "empty: all" }), field("Validation %", holdoutVal, { name: "parameters.split.val_percent" })),
    strict_time: h("div", { class: "inline" }, field("Date column", dateColumn.cloneNode(true), { name: "parameters.split.date_column_strict" }), field("Train days", trainDays, { name: "parameters.split.train_days" }), field("Validation days", valDays, { name: "parameters.split.val_days" }), field("Test days", testDays, { name: "parameters.split.test_days" })),
    buyer_time: h("div", { class: "inline" }, field("Date column", dateColumn.cloneNode(true), { name: "parameters.split.date_column_buyer" }), field("Test % of each buyer", buyerTest, { name: "parameters.split.test_percent", hint: "their latest, rounded down" }), field("Validation % of each buyer", buyerVal, { name: "parameters.split.val_percent", hint: "just before the test rows" })),
  };
  const buyerDate = splitFields.buyer_time.querySelector("select");
  buyerDate.dataset.field = "parameters.split.date_column";
  const strictDate = splitFields.strict_time.querySelector("select");
  strictDate.dataset.field = "parameters.split.date_column";
  dateColumn.dataset.field = "parameters.split.date_column";
  const splitHost = h("div", {});

  const tierButtons = tiers.map((t) =>
    h("button", { type: "button", class: "tier", role: "radio", "aria-checked": "false", dataset: { tier: t.name }, onClick: () => chooseTier(t.name) },
      h("span", { class: "tier-name" }, t.label),
      h("span", { class: "tier-spec" }, [t.vcpu ? `${t.vcpu} vCPU` : null, t.memory_gb ? `${t.memory_gb} GB RAM` : null].filter(Boolean).join(" · ")),
      h("span", { class: "tier-spec mono" }, t.machine_type || ""),
      h("span", { class: "tier-estimate", dataset: { estimate: t.name } }, "Estimating…"),
    ));
  const tierGroup = h("div", { class: "tiers", role: "radiogroup", "aria-label": "Hardware tier", dataset: { field: "parameters.hardware_tier" } }, tierButtons);
  tierGroup.addEventListener("keydown", (event) => {
    const index = tiers.findIndex((t) => t.name === tier);
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
    if (!step) return;
    event.preventDefault();
    const next = tiers[(index + step + tiers.length) % tiers.length].name;
    chooseTier(next);
    tierButtons.find((b) => b.dataset.tier === next).focus();
  });
  const gpuCards = h("div", { class: "tiers", style: { marginTop: "0.6rem" } },
    ["T4", "A100"].map((gpu) => h("div", { class: "tier locked", "aria-disabled": "true" }, h("span", { class: "tier-name" }, lockIcon(), ` ${gpu} GPU`), h("span", { class: "tier-spec" }, "Coming soon"))));
  const estimateLine = h("div", { class: "notice", id: "estimate-summary", "aria-live": "polite" }, "Estimating duration and cost…");
  const launchWarnings = h("div", { id: "launch-warnings", "aria-live": "polite" });

  const step1 = h("fieldset", { dataset: { step: "1" } },
    h("legend", {}, "Experiment"),
    field("Name", name, { name: "name", required: true }),
    field("Description", description, { name: "description" }),
    h("div", { class: "grid-3" },
      field("Dataset", dataset, { name: "dataset_id", required: true }),
      field("Feature config", featureConfig, { name: "feature_config_id", required: true }),
      field("Model config", modelConfig, { name: "model_config_id", required: true })),
  );
  const step2 = h("div", { dataset: { step: "2" }, hidden: true },
    h("fieldset", {}, h("legend", {}, "Data"),
      h("div", { class: "inline" }, field("Data sample", sample, { name: "parameters.sample_percent", hint: "deterministic hash sample" }), field("Split strategy", strategy, { name: "parameters.split.strategy" })),
      splitHost),
    h("fieldset", {}, h("legend", {}, "Training"),
      h("div", { class: "inline" }, field("Epochs", epochs, { name: "parameters.epochs" }), field("Batch size", batchSize, { name: "parameters.batch_size" }), field("Learning rate", learningRate, { name: "parameters.learning_rate" }), field("Repeats", repeats, { name: "repeats", hint: "2+: a seed group, same split, other training seeds (mean ± std)" })),
      h("p", { class: "hint muted small", id: "params-hint" }, "Filled from the selected model config; change them for this run only.")),
    h("fieldset", {}, h("legend", {}, "⚡ Hardware"), tierGroup, h("div", { class: "small muted", style: { margin: "0.6rem 0 0.2rem" } }, "GPU options"), gpuCards, estimateLine, launchWarnings),
    validatesList(),
  );
  const stepsBar = h("div", { class: "steps" }, h("span", { "aria-current": "step" }, "1 · Configuration"), h("span", {}, "2 · Parameters & hardware"));
  const prefilled = from ? h("p", { class: "notice small", id: "wizard-from" }, `Prefilled from Exp #${from.number} · ${from.name}: change what you want to test, then start.`) : null;
  const form = h("form", { novalidate: true, "aria-label": "New experiment" }, stepsBar, prefilled, h("div", { class: "form-error", tabindex: "-1" }), step1, step2);

  const back = h("button", { type: "button", hidden: true }, "← Back");
  const cancel = h("button", { type: "button" }, "Cancel");
  const next = h("button", { type: "button", class: "primary" }, "Next →");
  const submit = h("button", { type: "button", class: "primary", hidden: true }, "▶ Start quick test");
  mount(modal.body, form);
  mount(modal.footer, back, h("span", { class: "spacer" }), cancel, next, submit);

  function featuresForDataset() {
    const own = featureList.filter((f) => !f.dataset_id || f.dataset_id === dataset.value);
    setOptions(featureConfig, (own.length ? own : featureList).map((f) => [f.id, f.name]));
    const ds = datasetList.find((d) => d.id === dataset.value);
    const dates = (ds?.columns || []).filter((c) => ["timestamp", "date"].includes(c.type) || c.name === ds?.date_column).map((c) => c.name);
    for (const el of [dateColumn, strictDate, buyerDate]) setOptions(el, dates.length ? dates : [["", "no date column"]], ds?.date_column || dates[0]);
    offerTimeSplits(dates.length > 0);
  }
  /** Time splits need a date column: without one they are disabled, saying so, and the split falls back to random. */
  function offerTimeSplits(dated) {
    for (const option of strategy.options) {
      if (option.value === "random") continue;
      option.dataset.label ??= option.textContent;
      option.disabled = !dated;
      option.textContent = dated ? option.dataset.label : `${option.dataset.label} — needs a date column`;
    }
    if (!dated && strategy.value !== "random") {
      strategy.value = "random";
      showSplit();
    }
  }
  function fillFromModel() {
    const m = modelList.find((x) => x.id === modelConfig.value);
    if (!m) return;
    epochs.value = m.epochs;
    batchSize.value = m.batch_size;
    learningRate.value = m.learning_rate;
  }
  function showSplit() {
    mount(splitHost, splitFields[strategy.value]);
  }
  function chooseTier(nameOfTier) {
    tier = nameOfTier;
    tierButtons.forEach((b) => {
      const on = b.dataset.tier === tier;
      b.setAttribute("aria-checked", String(on));
      b.tabIndex = on ? 0 : -1;
    });
    renderEstimateSummary();
  }

  function splitBody() {
    if (strategy.value === "random") return { strategy: "random", train_percent: numberValue(trainPercent), val_percent: numberValue(valPercent) };
    if (strategy.value === "time_holdout") return { strategy: "time_holdout", date_column: dateColumn.value, holdout_days: numberValue(holdoutDays), history_days: numberValue(historyDays), val_percent: numberValue(holdoutVal) };
    if (strategy.value === "buyer_time") return { strategy: "buyer_time", date_column: buyerDate.value, test_percent: numberValue(buyerTest), val_percent: numberValue(buyerVal) };
    return { strategy: "strict_time", date_column: strictDate.value, train_days: numberValue(trainDays), val_days: numberValue(valDays), test_days: numberValue(testDays) };
  }
  function body() {
    return {
      name: name.value.trim(),
      description: description.value.trim(),
      dataset_id: dataset.value,
      feature_config_id: featureConfig.value,
      model_config_id: modelConfig.value,
      parameters: {
        sample_percent: Number(sample.value),
        split: splitBody(),
        epochs: numberValue(epochs),
        batch_size: numberValue(batchSize),
        learning_rate: numberValue(learningRate),
        hardware_tier: tier,
      },
    };
  }

  function renderEstimateSummary() {
    const chosen = estimates[tier];
    tierButtons.forEach((b) => {
      b.querySelector(".recommended")?.remove();
      if (b.dataset.tier === recommended) b.prepend(h("span", { class: "recommended" }, "Recommended"));
    });
    if (!chosen) return;
    estimateLine.className = "notice";
    mount(estimateLine, "Estimated for ", h("strong", {}, tiers.find((t) => t.name === tier)?.label || tier), ": ",
      h("strong", {}, `~${duration(chosen.duration_s)}`), " and ", h("strong", {}, `~${usd(chosen.cost_usd)}`),
      recommended && recommended !== tier ? ` · ${tiers.find((t) => t.name === recommended)?.label || recommended} is recommended for this dataset` : "");
  }

  let estimateTimer = null;
  let estimateController = null;
  function refreshEstimate() {
    clearTimeout(estimateTimer);
    estimateTimer = setTimeout(async () => {
      estimateController?.abort();
      estimateController = new AbortController();
      const payload = body();
      payload.name = payload.name || "estimate";
      try {
        const result = await experiments.estimate(payload, { signal: estimateController.signal });
        estimates = Object.fromEntries((result.estimates || []).map((e) => [e.hardware_tier, e]));
        const firstEstimate = recommended === null;
        recommended = result.recommended_tier || null;
        tierButtons.forEach((b) => {
          const e = estimates[b.dataset.tier];
          b.querySelector("[data-estimate]").textContent = e ? `~${duration(e.duration_s)} · ~${usd(e.cost_usd)}` : "—";
        });
        mount(launchWarnings, warningsList(result.warnings));
        if (firstEstimate && recommended) chooseTier(recommended);
        else renderEstimateSummary();
      } catch (error) {
        if (error.name === "AbortError") return;
        tierButtons.forEach((b) => (b.querySelector("[data-estimate]").textContent = "no estimate"));
        mount(launchWarnings);
        mount(estimateLine, h("span", {}, error.status === 400 ? `This run would be refused: ${error.message}` : `No estimate: ${error.message}`));
        estimateLine.className = "notice warn";
      }
    }, 250);
  }

  function goTo(step) {
    const first = step === 1;
    step1.hidden = !first;
    step2.hidden = first;
    back.hidden = first;
    next.hidden = !first;
    submit.hidden = first;
    const [one, two] = stepsBar.children;
    (first ? two : one).removeAttribute("aria-current");
    (first ? one : two).setAttribute("aria-current", "step");
    (first ? name : sample).focus();
    if (!first) refreshEstimate();
  }

  function validateStep1() {
    clearErrors(form);
    const problems = [];
    if (!name.value.trim()) problems.push({ field: "name", message: "Give the experiment a name." });
    if (!featureConfig.value) problems.push({ field: "feature_config_id", message: "Choose a feature config." });
    if (!modelConfig.value) problems.push({ field: "model_config_id", message: "Choose a model config." });
    if (problems.length) showErrors(form, { fieldErrors: () => problems, message: "", suggestions: [] });
    return !problems.length;
  }

  let submitting = false;
  async function start(event) {
    event?.preventDefault();
    if (!step1.hidden) {
      if (validateStep1()) goTo(2);
      return;
    }
    if (submitting || !validateStep1()) {
      if (!submitting) goTo(1);
      return;
    }
    submitting = true;
    submit.disabled = true;
    submit.textContent = "Starting…";
    try {
      const times = numberValue(repeats) || 1;
      if (times > 1) {
        const group = await sweeps.start({ ...body(), repeats: times });
        modal.close();
        toast(`Seed group started: ${group.children.length} experiments on one split`);
        onStarted(null);
        return;
      }
      const experiment = await experiments.start(body());
      modal.close();
      toast(`Exp #${experiment.number} started`);
      onStarted(experiment);
    } catch (error) {
      submitting = false;
      submit.disabled = false;
      submit.textContent = "▶ Start quick test";
      showErrors(form, error);
      const bad = form.querySelector("[aria-invalid='true']");
      if (bad && step1.contains(bad)) {
        goTo(1);
        bad.focus();
      }
    }
  }

  dataset.addEventListener("change", () => { featuresForDataset(); refreshEstimate(); });
  modelConfig.addEventListener("change", () => { fillFromModel(); refreshEstimate(); });
  strategy.addEventListener("change", () => { showSplit(); refreshEstimate(); });
  step2.addEventListener("change", refreshEstimate);
  step2.addEventListener("input", refreshEstimate);
  next.addEventListener("click", () => validateStep1() && goTo(2));
  back.addEventListener("click", () => goTo(1));
  cancel.addEventListener("click", () => modal.close());
  submit.addEventListener("click", start);
  form.addEventListener("submit", start);
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.tagName === "INPUT") start(event);
  });

  featuresForDataset();
  fillFromModel();
  if (from) prefill(from);
  showSplit();
  chooseTier(from?.parameters?.hardware_tier && tiers.some((t) => t.name === from.parameters.hardware_tier) ? from.parameters.hardware_tier : "small");
  name.focus();

  /** Every field as `e` had it; a config no longer listed keeps the first one (and says so). */
  function prefill(e) {
    const choose = (el, value) => {
      const present = [...el.options].some((o) => o.value === String(value ?? ""));
      if (present) el.value = String(value);
      return present;
    };
    const p = e.parameters || {};
    name.value = `${e.name} (re-test)`.slice(0, 200);
    description.value = e.description || "";
    choose(dataset, e.dataset_id);
    featuresForDataset();
    const missing = [!choose(featureConfig, e.feature_config_id) && "feature config", !choose(modelConfig, e.model_config_id) && "model config"].filter(Boolean);
    if (missing.length) prefilled.append(` Its ${missing.join(" and ")} no longer exists: choose another.`);
    fillFromModel();
    if (p.sample_percent != null && !choose(sample, p.sample_percent)) {
      sample.append(h("option", { value: p.sample_percent }, `${p.sample_percent}%`));
      sample.value = String(p.sample_percent);
    }
    for (const [el, value] of [[epochs, p.epochs], [batchSize, p.batch_size], [learningRate, p.learning_rate]]) if (value != null) el.value = value;
    const split = p.split || {};
    if (choose(strategy, split.strategy) && !strategy.selectedOptions[0]?.disabled) {
      const set = (el, value) => { if (value != null) el.value = value; };
      if (split.strategy === "random") { set(trainPercent, split.train_percent); set(valPercent, split.val_percent); }
      if (split.strategy === "time_holdout") { choose(dateColumn, split.date_column); set(holdoutDays, split.holdout_days); set(historyDays, split.history_days); set(holdoutVal, split.val_percent); }
      if (split.strategy === "strict_time") { choose(strictDate, split.date_column); set(trainDays, split.train_days); set(valDays, split.val_days); set(testDays, split.test_days); }
      if (split.strategy === "buyer_time") { choose(buyerDate, split.date_column); set(buyerTest, split.test_percent); set(buyerVal, split.val_percent); }
    } else {
      strategy.value = "random";
    }
  }
}

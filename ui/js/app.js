/** Entry point: hash routes → pages (once the metric catalogue is loaded); the header's MLflow link. */
import { dashboard, experiments } from "./lib/api.js";
import { mount } from "./lib/dom.js";
import { loadMetrics } from "./lib/metrics.js";
import { errorState, loading } from "./lib/states.js";

const ROUTES = {
  experiments: () => import("./pages/experiments.js"),
  dashboard: () => import("./pages/dashboard.js"),
  datasets: () => import("./pages/datasets.js"),
  "feature-configs": () => import("./pages/feature_configs.js"),
  "model-configs": () => import("./pages/model_configs.js"),
  sweeps: () => import("./pages/sweeps.js"),
};

/** Requests a route can start while its modules load. */
const PRELOAD = {
  dashboard: () => dashboard.preload(),
  experiments: (params) => {
    const ids = (params.get("compare") || "").split(",").filter(Boolean);
    if (ids.length) experiments.preloadCompare(ids);
  },
};

/** The metric catalogue, asked for before anything else: every page formats metrics with it. */
const metricsLoaded = loadMetrics();
metricsLoaded.catch(() => {});

const main = document.getElementById("main");
let current = null;

function parseHash() {
  const [path, search = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const name = ROUTES[path] ? path : "experiments";
  return { name, params: new URLSearchParams(search) };
}

async function route() {
  const { name, params } = parseHash();
  document.querySelectorAll("[data-route]").forEach((link) => {
    if (link.dataset.route === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  });
  if (current?.unmount) current.unmount();
  current = null;
  mount(main, loading());
  PRELOAD[name]?.(params);
  try {
    const [page] = await Promise.all([ROUTES[name](), metricsLoaded.catch(() => loadMetrics())]);
    const container = document.createElement("div");
    mount(main, container);
    current = page.render(container, params) || null;
    document.title = `${page.title} · Two-tower experiments`;
  } catch (error) {
    console.error(error);
    mount(main, errorState(error, route));
  }
}

async function mlflowLink() {
  try {
    const { url } = await dashboard.mlflow();
    const link = document.getElementById("mlflow-link");
    link.href = url;
    link.hidden = false;
  } catch (error) {
    console.warn("MLflow link unavailable", error);
  }
}

window.addEventListener("hashchange", route);
route();
mlflowLink();

/** The gateway's REST API (shared/experiments_platform/web/gateway/openapi.yaml), one function per operation. */
import { del, get, post, put, query } from "./http.js";

const enc = encodeURIComponent;

function resource(path) {
  return {
    list: (params) => get(`/api/${path}${query(params)}`),
    get: (id) => get(`/api/${path}/${enc(id)}`),
    create: (body) => post(`/api/${path}`, body),
    update: (id, body) => put(`/api/${path}/${enc(id)}`, body),
    duplicate: (id, name) => post(`/api/${path}/${enc(id)}/duplicate`, name ? { name } : {}),
    remove: (id) => del(`/api/${path}/${enc(id)}`),
  };
}

export const datasets = {
  ...resource("datasets"),
  /** A dataset from a CSV or Parquet file: `fields` are the dataset's form fields. */
  upload: (file, fields) => {
    const form = new FormData();
    for (const [key, value] of Object.entries(fields)) if (value !== null && value !== undefined && value !== "") form.append(key, value);
    form.append("file", file);
    return post("/api/datasets/uploads", form);
  },
};
export const featureConfigs = resource("feature-configs");
export const modelConfigs = resource("model-configs");

export const system = {
  options: () => get("/api/system/options"),
  metrics: () => get("/api/metrics"),
};

export const experiments = {
  list: (params, opts) => get(`/api/experiments${query(params)}`, opts),
  get: (id, opts) => get(`/api/experiments/${enc(id)}`, opts),
  start: (body) => post("/api/experiments", body),
  estimate: (body, opts) => post("/api/experiments/estimate", body, opts),
  /** A run's launch estimate against what it took, duration and cost (decision 093). */
  estimateOutcome: (id, opts) => get(`/api/experiments/${enc(id)}/estimate`, opts),
  cancel: (id) => post(`/api/experiments/${enc(id)}/cancel`),
  selectable: () => get("/api/experiments/selectable"),
  compare: (ids) => preloaded(`compare:${ids.join(",")}`, compareRequest(ids)),
  /** Start the comparison of a deep link (`#/experiments?compare=…`) while the page loads. */
  preloadCompare: (ids) => preload(`compare:${ids.join(",")}`, compareRequest(ids)),
  trainingHistory: (id) => get(`/api/experiments/${enc(id)}/training-history`),
  artifacts: (id) => get(`/api/experiments/${enc(id)}/artifacts`),
  logs: (id, component, lines = 200) => get(`/api/experiments/${enc(id)}/logs/${enc(component)}${query({ lines })}`),
  dataInsights: (id) => get(`/api/experiments/${enc(id)}/data-insights`),
  statisticsReportUrl: (id) => `/api/experiments/${enc(id)}/statistics-report`,
};

/**
 * Responses requested before the page that reads them has loaded (the router starts a route's
 * requests while its modules download). Each is used once, and only while fresh.
 */
const early = new Map();
const EARLY_FRESH_MS = 5000;

function preload(key, request = () => get(key)) {
  if (early.has(key)) return;
  const promise = request();
  promise.catch(() => {});
  early.set(key, { promise, at: performance.now() });
}

function preloaded(key, request = () => get(key)) {
  const hit = early.get(key);
  early.delete(key);
  return hit && performance.now() - hit.at < EARLY_FRESH_MS ? hit.promise : request();
}

const getPreloaded = (url) => preloaded(url);
const compareRequest = (ids) => () => post("/api/experiments/compare", { experiment_ids: ids });

/** The dashboard's first view: all datasets, ranked and mapped by Recall@100. */
export const DASHBOARD_DEFAULTS = {
  leaderboard: { metric: "recall_at_100", order: "best", page_size: 1000 },
  heatmap: { metric: "recall_at_100" }, // the server picks the axes that vary most (decision 110)
};

export const dashboard = {
  stats: (params) => getPreloaded(`/api/dashboard/stats${query(params)}`),
  dimensions: (params) => getPreloaded(`/api/dashboard/dimensions${query(params)}`),
  leaderboard: (params) => getPreloaded(`/api/dashboard/leaderboard${query(params)}`),
  heatmap: (params) => getPreloaded(`/api/dashboard/heatmap${query(params)}`),
  exportUrl: (params) => `/api/dashboard/export.csv${query(params)}`,
  mlflow: (experimentId) => get(`/api/dashboard/mlflow${query({ experiment_id: experimentId })}`),
  /** Start the first view's four requests at once (the server answers them from one shared read). */
  preload() {
    preload("/api/dashboard/stats");
    preload(`/api/dashboard/leaderboard${query(DASHBOARD_DEFAULTS.leaderboard)}`);
    preload(`/api/dashboard/heatmap${query(DASHBOARD_DEFAULTS.heatmap)}`);
    preload("/api/dashboard/dimensions");
  },
};

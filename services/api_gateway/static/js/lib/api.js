/** The gateway's REST API (services/api_gateway/openapi.yaml), one function per operation. */
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

export const datasets = resource("datasets");
export const featureConfigs = resource("feature-configs");
export const modelConfigs = resource("model-configs");

export const system = {
  options: () => get("/api/system/options"),
};

export const experiments = {
  list: (params, opts) => get(`/api/experiments${query(params)}`, opts),
  get: (id, opts) => get(`/api/experiments/${enc(id)}`, opts),
  start: (body) => post("/api/experiments", body),
  estimate: (body, opts) => post("/api/experiments/estimate", body, opts),
  cancel: (id) => post(`/api/experiments/${enc(id)}/cancel`),
  selectable: () => get("/api/experiments/selectable"),
  compare: (ids) => post("/api/experiments/compare", { experiment_ids: ids }),
  trainingHistory: (id) => get(`/api/experiments/${enc(id)}/training-history`),
  artifacts: (id) => get(`/api/experiments/${enc(id)}/artifacts`),
  logs: (id, component, lines = 200) => get(`/api/experiments/${enc(id)}/logs/${enc(component)}${query({ lines })}`),
  dataInsights: (id) => get(`/api/experiments/${enc(id)}/data-insights`),
  statisticsReportUrl: (id) => `/api/experiments/${enc(id)}/statistics-report`,
};

export const dashboard = {
  stats: (params) => get(`/api/dashboard/stats${query(params)}`),
  dimensions: () => get("/api/dashboard/dimensions"),
  leaderboard: (params) => get(`/api/dashboard/leaderboard${query(params)}`),
  heatmap: (params) => get(`/api/dashboard/heatmap${query(params)}`),
  exportUrl: (params) => `/api/dashboard/export.csv${query(params)}`,
  mlflow: (experimentId) => get(`/api/dashboard/mlflow${query({ experiment_id: experimentId })}`),
};

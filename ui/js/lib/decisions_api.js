/** Sweeps, seed groups, paired intervals, the noise table and attribution (openapi.yaml, decisions 065-068). */
import { get, post, query } from "./http.js";

const enc = encodeURIComponent;

export const sweeps = {
  list: () => get("/api/sweeps"),
  get: (id, params, opts) => get(`/api/sweeps/${enc(id)}${query(params)}`, opts),
  estimate: (body) => post("/api/sweeps/estimate", body),
  start: (body) => post("/api/sweeps", body),
  cancel: (id) => post(`/api/sweeps/${enc(id)}/cancel`),
};

export const noise = {
  seedGroups: (params, opts) => get(`/api/seed-groups${query(params)}`, opts),
  table: (id) => get(`/api/experiments/${enc(id)}/noise`),
  paired: (a, b) => get(`/api/paired${query({ a, b })}`),
  attribution: (params) => get(`/api/dashboard/attribution${query(params)}`),
};

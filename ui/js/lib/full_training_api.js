/** Full training: start one from a quick test, a run's lineage, the cards and the agreement (openapi.yaml, decisions 075-077). */
import { get, post, query } from "./http.js";

const enc = encodeURIComponent;

export const fullTraining = {
  start: (experimentId, body = {}) => post(`/api/experiments/${enc(experimentId)}/full-training`, body),
  lineage: (experimentId, opts) => get(`/api/experiments/${enc(experimentId)}/lineage`, opts),
  summary: (params, opts) => get(`/api/full-training/summary${query(params)}`, opts),
  promote: (experimentId) => post(`/api/experiments/${enc(experimentId)}/promote`, {}),
};

"""How trustworthy is a decision? Noise, a sweep, a paired interval and the baselines on MovieLens 100k.

    .venv/bin/python benchmarks/decision_quality.py [--data-dir DIR] [--repeats 5] [--holdout-days 30]

Protocol (every run through the product: the all-in-one local stack, its REST API, the local build
and pipeline runners, real TFX and TFRS training, the admission queue's run slots):

- data: MovieLens 100k (943 users, 1,682 movies, 100,000 ratings; every rating an interaction);
- the default configuration: ``local/demo.py``'s feature config (user id, age, gender, occupation;
  movie id, genres, release year), model config (towers 64→32, Adagrad 0.1, sampling-bias correction,
  8 epochs, batch 1,024) and parameters (25 % sample, random 80/10/10 split by hash with seed 42);
- recall@100 over the whole corpus, every definition the report carries: per test interaction over all
  items (``recall_at_100``), without the buyer's training items (``recall_at_100_excluding_train_items``)
  and per buyer with training and validation items masked (``recall_at_100_per_buyer``);
1. noise: a seed group of ``--repeats`` runs of the default (same split, training seeds 42..46):
   mean and sample std of each definition;
2. a 2 × 2 sweep (learning rate 0.05 / 0.1 × id embedding dims 16 / 32) with 2 repeats per cell on the
   same split: wall time from the POST to the last cell filled, cells filled;
3. the paired interval (bootstrap over test buyers, 2,000 resamples) of the sweep's best cell (its first
   repeat) minus the default (its first repeat), in percentage points; and, as a noise yardstick, of
   two repeats of the default;
4. the default against every baseline the report carries (popularity, random as k / corpus; recent
   popularity, the last 14 days of the training period, on the temporal split) on the random split (the
   seed group's mean), on a temporal split (``time_holdout`` on the rating date ``timestamp``, last
   ``--holdout-days`` days as test, one run) and on each buyer's latest 10 % of ratings (``buyer_time``,
   one run).

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]

from experiments_platform.domain import metrics  # noqa: E402
from experiments_platform.local.demo import EXPERIMENT, FEATURE_CONFIG, MODEL_CONFIG  # noqa: E402
from experiments_platform.local.stack import LocalStack  # noqa: E402
from local_stack_settings import benchmark_stack_settings  # noqa: E402

DATASET_ID = "movielens-100k"
RECALL = "recall_at_100"
DATE_COLUMN = "timestamp"
"""MovieLens 100k's rating time, the temporal split's date column."""
DEFINITIONS = (RECALL, f"{RECALL}_{metrics.EXCLUDING_TRAIN_ITEMS}", f"{RECALL}_{metrics.PER_BUYER}")
SWEEP_AXES = [{"field": "learning_rate", "values": [0.05, 0.1]}, {"field": "embedding_dims", "values": [16, 32]}]


class Api:
    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()

    def __call__(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, self.base + path, timeout=600, **kwargs)
        if not response.ok:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:800]}")
        return response.json()

    def ensure(self, path: str, body: dict[str, Any]) -> str:
        for item in self("GET", path)["items"]:
            if item["name"] == body["name"]:
                return str(item["id"])
        return str(self("POST", path, json=body)["id"])

    def wait_sweep(self, sweep_id: str, timeout_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            view = self("GET", f"/api/sweeps/{sweep_id}")
            if view["status"] != "running":
                return view  # type: ignore[no-any-return]
            if time.monotonic() > deadline:
                raise TimeoutError(f"sweep {sweep_id} still running after {timeout_s:.0f} s: {view['ended']} ended")
            time.sleep(2)

    def wait_experiment(self, experiment_id: str, timeout_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            doc = self("GET", f"/api/experiments/{experiment_id}")
            if doc["status"] in ("completed", "failed", "cancelled"):
                return doc  # type: ignore[no-any-return]
            if time.monotonic() > deadline:
                raise TimeoutError(f"experiment {experiment_id} still {doc['status']} after {timeout_s:.0f} s")
            time.sleep(2)


def finals(api: Api, ids: list[str]) -> list[dict[str, float]]:
    docs = [api("GET", f"/api/experiments/{i}") for i in ids]
    failed = [f"Exp #{d['number']}: {d['status']} {((d.get('error') or {}).get('title'))}" for d in docs
              if d["status"] != "completed"]
    if failed:
        raise RuntimeError(f"runs did not complete: {failed}")
    return [d["results"]["final"] | {"_random_recall_at_100": d["results"].get("recall", {}).get(
        "random_recall_at_100")} for d in docs]


def baselines(final: dict[str, float]) -> dict[str, float]:
    """Every baseline's recall@100 in one run's final metrics (all-items definition)."""
    out = {key[: -len("_recall_at_100")]: value for key, value in final.items()
           if key.endswith("_recall_at_100") and not key.startswith("_") and key != RECALL}
    if "random" not in out and final.get("_random_recall_at_100") is not None:
        out["random"] = final["_random_recall_at_100"]
    return out


def temporal_parameters(parameters: dict[str, Any], holdout_days: int, date_column: str = DATE_COLUMN
                        ) -> dict[str, Any]:
    """``parameters`` with a ``time_holdout`` split on ``date_column``: the last ``holdout_days`` days as test."""
    return {**parameters, "split": {"strategy": "time_holdout", "date_column": date_column,
                                    "holdout_days": holdout_days}}


def latest_parameters(parameters: dict[str, Any], date_column: str = DATE_COLUMN) -> dict[str, Any]:
    """``parameters`` with a ``buyer_time`` split: each buyer's latest 10 % of interactions as test, 10 % before."""
    return {**parameters, "split": {"strategy": "buyer_time", "date_column": date_column, "test_percent": 10,
                                    "val_percent": 10}}


def split_summary(default: float, base: dict[str, float]) -> dict[str, Any]:
    best = max(base, key=lambda name: base[name]) if base else None
    return {"default_recall_at_100": default, "best_baseline": best,
            "best_baseline_recall_at_100": base.get(best) if best else None, "baselines_recall_at_100": base}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="stack data folder (default: a fresh temp one)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--holdout-days", type=int, default=30)
    parser.add_argument("--timeout-s", type=float, default=7200)
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="decision-quality-"))
    settings = benchmark_stack_settings(data_dir)
    out: dict[str, Any] = {"dataset": DATASET_ID, "data_dir": str(data_dir)}
    with LocalStack(settings, port=0, with_mlflow=True, load_data=True) as stack:
        api = Api(stack.url)
        base = {"feature_config_id": api.ensure("/api/feature-configs", FEATURE_CONFIG),
                "model_config_id": api.ensure("/api/model-configs", MODEL_CONFIG),
                "dataset_id": DATASET_ID, "parameters": EXPERIMENT["parameters"]}
        out["parameters"] = EXPERIMENT["parameters"]
        out["run_slots"] = getattr(settings, "resolved_max_concurrent_runs", None)

        started = time.monotonic()
        group = api("POST", "/api/sweeps", json={**base, "name": "decision quality: default seeds",
                                                  "repeats": args.repeats})
        group = api.wait_sweep(group["id"], args.timeout_s)
        group_ids = [c["experiment_id"] for c in sorted(group["children"], key=lambda c: c["repeat"])]
        runs = finals(api, group_ids)
        out["seed_group_wall_s"] = round(time.monotonic() - started, 1)
        out["repeats"] = args.repeats
        out["repeat_recall_at_100"] = {d: [r[d] for r in runs] for d in DEFINITIONS if all(d in r for r in runs)}
        out["repeat_mean_recall_at_100"] = {d: statistics.fmean(v) for d, v in out["repeat_recall_at_100"].items()}
        out["repeat_std_recall_at_100"] = {d: statistics.stdev(v) for d, v in out["repeat_recall_at_100"].items()}
        print(json.dumps({"phase": "seed group", **{k: out[k] for k in ("repeat_mean_recall_at_100",
                                                                        "repeat_std_recall_at_100")}}), flush=True)

        estimate = api("POST", "/api/sweeps/estimate", json={**base, "name": "x", "axes": SWEEP_AXES, "repeats": 2})
        started = time.monotonic()
        sweep = api("POST", "/api/sweeps", json={**base, "name": "decision quality: lr x dims", "axes": SWEEP_AXES,
                                                  "repeats": 2})
        sweep = api.wait_sweep(sweep["id"], args.timeout_s)
        out["sweep_wall_s"] = round(time.monotonic() - started, 1)
        out["sweep_estimate_wall_s"] = round(estimate["wall_s"], 1)
        out["sweep_cells"] = len(sweep["cells"])
        out["sweep_cells_filled"] = sum(1 for c in sweep["cells"] if (c["spread"] or {}).get("n") == 2)
        out["sweep_status"] = sweep["status"]
        out["sweep_grid"] = {c["key"]: c["spread"] for c in sweep["cells"]}
        best_cell = next(c for c in sweep["cells"] if c["key"] == sweep["best_cell"]["key"])
        best_child = min(best_cell["experiments"], key=lambda e: e["repeat"])["id"]
        print(json.dumps({"phase": "sweep", "sweep_wall_s": out["sweep_wall_s"], "cells": out["sweep_grid"]}),
              flush=True)

        paired = api("GET", "/api/paired", params={"a": group_ids[0], "b": best_child})
        row = next(r for r in paired["rows"] if r["metric"] == RECALL)
        out["paired"] = {"a": "default (repeat 1)", "b": f"best sweep cell {best_cell['key']} (repeat 1)",
                         "difference_pp": row["difference_pp"], "verdict": row["verdict"], "buyers": row["buyers"]}
        out["paired_ci_pp"] = [row["low_pp"], row["high_pp"]]
        same = api("GET", "/api/paired", params={"a": group_ids[0], "b": group_ids[1]})
        same_row = next(r for r in same["rows"] if r["metric"] == RECALL)
        out["paired_two_seeds_of_default"] = {k: same_row[k] for k in ("difference_pp", "low_pp", "high_pp",
                                                                      "verdict")}
        attribution = api("GET", "/api/dashboard/attribution", params={"dataset_id": DATASET_ID})
        out["attribution"] = [{k: p[k] for k in ("parameter", "share_of_variance", "effect_pp", "effect_low_pp",
                                                 "effect_high_pp", "beyond_noise")} for p in attribution["parameters"]]

        random_split = statistics.fmean(r[RECALL] for r in runs)
        random_baselines = {name: statistics.fmean(baselines(r)[name] for r in runs) for name in baselines(runs[0])}
        temporal_split = temporal_parameters(EXPERIMENT["parameters"], args.holdout_days)
        temporal = api("POST", "/api/experiments", json={**base, "name": "decision quality: temporal default",
                                                          "parameters": temporal_split})
        temporal_doc = api.wait_experiment(temporal["id"], args.timeout_s)
        [temporal_final] = finals(api, [temporal_doc["id"]])
        latest_split = latest_parameters(EXPERIMENT["parameters"])
        latest = api("POST", "/api/experiments", json={**base, "name": "decision quality: each buyer's latest",
                                                        "parameters": latest_split})
        [latest_final] = finals(api, [api.wait_experiment(latest["id"], args.timeout_s)["id"]])
        out["splits"] = {
            "random": split_summary(random_split, random_baselines),
            "temporal": {"split": temporal_split["split"],
                         **split_summary(temporal_final[RECALL], baselines(temporal_final))},
            "buyer_latest": {"split": latest_split["split"],
                             **split_summary(latest_final[RECALL], baselines(latest_final))},
        }
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

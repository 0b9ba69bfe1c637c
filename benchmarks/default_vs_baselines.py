"""The platform's default configuration against its baselines, random and temporal split.

    .venv/bin/python benchmarks/default_vs_baselines.py [--dataset movielens|b2b] [--holdout-days 30]

Protocol: the all-in-one local stack (real TFX and TFRS training through the product's REST API);
the default of ``local/demo.py`` (feature config, model config, parameters: random 80/10/10 split by
hash, seed 42) on MovieLens 100k or on the synthetic B2B set (``data.synthetic_b2b``, default config,
registered into the stack; ``B2B_FEATURE_CONFIG``), once on the random split and once on a
``time_holdout`` split (the last ``--holdout-days`` days of interactions as test); per split the run's
Recall@100 (per interaction, all items; and per buyer with training and validation items masked),
every baseline the report carries, and the verdict the card shows (``comparison.baseline``, decision
064). One run per split: the verdict's noise bound is the binomial one, not a seed group's spread
(``benchmarks/decision_quality.py`` has that). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from decision_quality import (  # noqa: E402
    DATASET_ID,
    RECALL,
    Api,
    baselines,
    finals,
    latest_parameters,
    split_summary,
    temporal_parameters,
)
from experiments_platform.data.synthetic_b2b import synthetic_b2b_dataset  # noqa: E402
from experiments_platform.local.demo import B2B_FEATURE_CONFIG, EXPERIMENT, FEATURE_CONFIG, MODEL_CONFIG  # noqa: E402
from experiments_platform.local.stack import LocalStack  # noqa: E402
from local_stack_settings import benchmark_stack_settings  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=("movielens", "b2b"), default="movielens")
    parser.add_argument("--holdout-days", type=int, default=30)
    parser.add_argument("--sample-percent", type=int, default=None, help="default: the demo's")
    parser.add_argument("--timeout-s", type=float, default=3600)
    parser.add_argument("--splits", default="random,temporal",
                        help="which of random, temporal (the last --holdout-days days), buyer_latest (each buyer's "
                             "latest 10 %% of interactions, buyer_time) to run")
    parser.add_argument("--add-query-feature", action="append", default=[], metavar="JSON",
                        help='a query feature added to the default (\'{"column": "genres", "kind": "history"}\')')
    parser.add_argument("--drop-query-column", action="append", default=[], metavar="COLUMN",
                        help="a query feature of the default left out (customer_id, category)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override a parameter of the default (epochs=10, learning_rate=0.05): a candidate default")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="default-vs-baselines-"))
    settings = benchmark_stack_settings(data_dir)
    parameters = dict(EXPERIMENT["parameters"])
    if args.sample_percent:
        parameters["sample_percent"] = args.sample_percent
    for assignment in args.set:
        name, _, value = assignment.partition("=")
        parameters[name] = json.loads(value)
    date_column = "date" if args.dataset == "b2b" else "timestamp"
    splits = {"random": parameters, "temporal": temporal_parameters(parameters, args.holdout_days, date_column),
              "buyer_latest": latest_parameters(parameters, date_column)}
    splits = {name: splits[name] for name in args.splits.split(",")}
    dataset_id, features = DATASET_ID, FEATURE_CONFIG
    out: dict[str, Any] = {"parameters": parameters}
    with LocalStack(settings, port=0, with_mlflow=True, load_data=True) as stack:
        if args.dataset == "b2b":
            dataset = synthetic_b2b_dataset(settings.data_dir)
            stack.platform.documents.set("datasets", dataset.id, dataset.to_document())
            dataset_id, features = dataset.id, {**B2B_FEATURE_CONFIG, "dataset_id": dataset.id}
        features = variant(features, [json.loads(f) for f in args.add_query_feature], args.drop_query_column)
        out["dataset"], out["query_features"] = dataset_id, features["query_features"]
        api = Api(stack.url)
        base = {"feature_config_id": api.ensure("/api/feature-configs", features),
                "model_config_id": api.ensure("/api/model-configs", MODEL_CONFIG), "dataset_id": dataset_id}
        for name, chosen in splits.items():
            started = time.monotonic()
            doc = api("POST", "/api/experiments", json={**base, "name": f"default, {name} split", "parameters": chosen})
            doc = api.wait_experiment(doc["id"], args.timeout_s)
            [final] = finals(api, [doc["id"]])
            out[name] = {
                **split_summary(final[RECALL], baselines(final)),
                "recall_at_100_per_buyer": final.get("recall_at_100_per_buyer"),
                "popularity_recall_at_100_per_buyer": final.get("popularity_recall_at_100_per_buyer"),
                "test_cold_buyer_rate": final.get("test_cold_buyer_rate"),
                "verdict": (doc.get("comparison") or {}).get("baseline"),
                "warnings": [w["code"] for w in doc.get("warnings") or []],
                "wall_s": round(time.monotonic() - started, 1),
            }
            print(json.dumps({"phase": name, **out[name]}), flush=True)
    print(json.dumps(out))
    return 0


def variant(features: dict[str, Any], added: list[dict[str, Any]], dropped: list[str]) -> dict[str, Any]:
    """The feature config with query features ``added`` and the ``dropped`` columns' left out, under its own name."""
    if not added and not dropped:
        return features
    query = [f for f in features["query_features"] if f["column"] not in dropped] + added
    change = ", ".join([*(f"+{f['column']}:{f['kind']}" for f in added), *(f"-{c}" for c in dropped)])
    return {**features, "name": f"{features['name']} ({change})", "query_features": query}


if __name__ == "__main__":
    sys.exit(main())

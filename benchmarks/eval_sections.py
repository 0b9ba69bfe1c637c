"""Where the quick-test Trainer's exact evaluation goes (issue 14), without TensorFlow: the NumPy steps
``trainer._train_and_evaluate`` runs after ``fit`` (prior weights on validation, known and cold; recall
report; per-buyer hits), each timed, on synthetic data of the growth benchmark's B2B 1M shape.

    PYTHONPATH=shared .venv-tfx/bin/python benchmarks/eval_sections.py [--rows 1000000]
    git archive HEAD~1 shared | tar -x -C /tmp/old && PYTHONPATH=/tmp/old/shared .venv-tfx/bin/python ...  # before

Data (seeded): ``rows`` interactions split 80/10/10 (train/eval/test, random), ``rows / 50`` buyers and
``rows / 1000`` products (as ``benchmarks/growth.py``'s B2B generator), keys as ``bytes`` (as the trainer
reads them), 32-d float32 embeddings with queries near one of their buyer's items. Prints each section's
seconds, the load average, and one JSON line with the section seconds and a digest of every result (so two
versions of the code can be compared for equal numbers).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time

import numpy as np
from experiments_platform.pipeline.buyer_recall import member
from experiments_platform.pipeline.corpus_index import corpus_positions
from experiments_platform.pipeline.evaluation import log_popularity, prior_weight, with_prior
from experiments_platform.pipeline.feature_names import CANDIDATE_KEY, QUERY_KEY

try:
    from experiments_platform.pipeline.evaluation import evaluate_test_split
except ImportError:  # before issue 14 (run with PYTHONPATH at an older tree's shared/): two rankings
    from experiments_platform.pipeline.buyer_hits import buyer_hits
    from experiments_platform.pipeline.evaluation import recall_report

    def evaluate_test_split(q, c, test, train, corpus, *, val):  # type: ignore[no-redef]  # noqa: ANN001, ANN201
        return recall_report(q, c, test, train, corpus, val=val), buyer_hits(q, c, test, train, corpus)


def data(rows: int, seed: int = 14) -> tuple[dict, dict, dict, dict, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    buyers, products, dim = max(2000, rows // 50), max(500, rows // 1000), 32
    popularity = rng.zipf(1.5, products).clip(max=1000).astype(float)
    buyer = rng.integers(0, buyers, rows)
    item = rng.choice(products, rows, p=popularity / popularity.sum())
    split = rng.choice(3, rows, p=[0.8, 0.1, 0.1])
    buyer_keys = np.array([f"buyer-{b}".encode() for b in range(buyers + 200)], dtype=object)
    item_keys = np.array([f"product-{p}".encode() for p in range(products)], dtype=object)
    splits = {}
    for index, name in enumerate(("train", "eval", "test")):
        rows_of = split == index
        b = buyer[rows_of]
        if name != "train":  # a few cold-start buyers
            b = np.where(rng.random(len(b)) < 0.02, buyers + rng.integers(0, 200, len(b)), b)
        splits[name] = {QUERY_KEY: buyer_keys[b], CANDIDATE_KEY: item_keys[item[rows_of]]}
    corpus = {CANDIDATE_KEY: item_keys}
    candidates = rng.normal(size=(products, dim)).astype(np.float32)
    test_items = corpus_positions(item_keys, splits["test"][CANDIDATE_KEY])
    eval_items = corpus_positions(item_keys, splits["eval"][CANDIDATE_KEY])
    test_q = (candidates[test_items] + rng.normal(scale=2.0, size=(len(test_items), dim))).astype(np.float32)
    val_q = (candidates[eval_items] + rng.normal(scale=2.0, size=(len(eval_items), dim))).astype(np.float32)
    val_cold = rng.normal(size=(len(eval_items), dim)).astype(np.float32)
    return splits["train"], splits["eval"], splits["test"], corpus, candidates, test_q, val_q, val_cold


def digest(value: object) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    train, val, test, corpus, candidates, test_q, val_q, val_cold = data(args.rows)
    seconds: dict[str, float] = {}
    results: dict[str, str] = {}

    def timed(name: str, fn, *a, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
        started = time.perf_counter()
        out = fn(*a, **kw)
        seconds[name] = round(time.perf_counter() - started, 3)
        return out

    cpu = time.process_time()
    keys = corpus[CANDIDATE_KEY]
    prior = timed("prior_column", lambda: log_popularity(corpus_positions(keys, train[CANDIDATE_KEY]), len(keys)))
    val_positions = timed("val_positions", corpus_positions, keys, val[CANDIDATE_KEY])
    weight, tried = timed("prior_weight_known", prior_weight, val_q, candidates, val_positions, prior)
    cold = timed("cold_membership", lambda: ~member(test[QUERY_KEY], train[QUERY_KEY]))
    cold_weight, cold_tried = timed("prior_weight_cold", prior_weight, val_cold, candidates, val_positions, prior)
    weights = np.full(len(test_q), weight, dtype=np.float32)
    weights[cold] = cold_weight
    q, c = with_prior(test_q, candidates, prior, weights)
    recall, hits = timed("recall_and_hits", evaluate_test_split, q, c, test, train, corpus, val=val)
    cpu = time.process_time() - cpu
    results = {"prior": digest((weight, tried, cold_weight, cold_tried)), "recall": digest(recall.model_dump_json()),
               "hits": digest(hits.model_dump_json())}
    total = round(sum(seconds.values()), 3)
    for name, value in seconds.items():
        print(f"{name:>20} {value:8.3f} s")
    print(f"{'total':>20} {total:8.3f} s  (cpu {cpu:.1f} s, load {os.getloadavg()})")
    print(json.dumps({"rows": args.rows, "test": len(test_q), "corpus": len(candidates), "seconds": seconds,
                      "total_s": total, "cpu_s": round(cpu, 2), "load": os.getloadavg(), "digests": results}))


if __name__ == "__main__":
    main()

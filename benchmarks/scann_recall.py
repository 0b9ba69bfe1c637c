"""ScaNN against the exact index of a full training's exported model: recall of its top k and query time.

    PYTHONPATH=/path/to/scann .venv-tfx/bin/python benchmarks/scann_recall.py --work WORK [--k 100]

``WORK`` is a ``benchmarks/full_training.py --work WORK`` folder: the candidate embeddings come from the
pushed model (``assets.extra/candidate_embeddings.npz``), the queries are the test split's query
embeddings the trainer wrote (``test_query_embeddings.npy`` in the ModelRun folder). Exact top k is a
float64 brute force (ties to the earlier candidate, as the evaluation ranks); ScaNN is ``scann 1.3.2``
(the last release built for TensorFlow 2.16; not a project dependency, decision 072) with the settings
its README recommends, scaled to the corpus: a tree of about √n leaves searching 10, 25 or 50 % of them,
anisotropic hashing (2 dims per block, threshold 0.2), exact reordering of the best 4·k. Recall@k here is
the share of the exact top k that ScaNN returns, averaged over queries. The last line printed is JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np


def exact_top_k(queries: np.ndarray, candidates: np.ndarray, k: int) -> np.ndarray:
    out = np.empty((len(queries), k), dtype=np.int64)
    order = np.arange(len(candidates))
    for start in range(0, len(queries), 1024):
        scores = queries[start:start + 1024].astype(np.float64) @ candidates.astype(np.float64).T
        for row, values in enumerate(scores):
            out[start + row] = np.lexsort((order, -values))[:k]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--queries", type=int, default=5000, help="test queries used (the first ones)")
    args = parser.parse_args()
    import scann

    artifacts = json.loads((args.work / "artifacts.json").read_text())
    pushed = next(args.work.glob("registry/*/assets.extra/candidate_embeddings.npz"))
    candidates = np.load(pushed)["embeddings"].astype(np.float32)
    run_dir = Path(artifacts["Trainer"]["model_run"][0].removeprefix("file://"))
    queries = np.load(run_dir / "test_query_embeddings.npy").astype(np.float32)[:args.queries]
    k = min(args.k, len(candidates))
    exact = exact_top_k(queries, candidates, k)
    leaves = max(2, int(math.sqrt(len(candidates))))
    settings = []
    for fraction in (0.1, 0.25, 0.5):
        searcher = (scann.scann_ops_pybind.builder(candidates, k, "dot_product")
                    .tree(num_leaves=leaves, num_leaves_to_search=max(1, round(leaves * fraction)),
                          training_sample_size=len(candidates))
                    .score_ah(2, anisotropic_quantization_threshold=0.2).reorder(4 * k).build())
        started = time.perf_counter()
        found, _ = searcher.search_batched(queries)
        seconds = time.perf_counter() - started
        recall = float(np.mean([len(set(a.tolist()) & set(b.tolist())) / k
                                for a, b in zip(exact, found, strict=True)]))
        settings.append({"leaves_searched": max(1, round(leaves * fraction)), "recall_vs_exact": round(recall, 4),
                         "ms_per_query": round(seconds / len(queries) * 1000, 4)})
    started = time.perf_counter()
    exact_top_k(queries[:500], candidates, k)
    exact_ms = (time.perf_counter() - started) / min(500, len(queries)) * 1000
    print(json.dumps({"corpus_size": len(candidates), "queries": len(queries), "k": k, "leaves": leaves,
                      "scann": settings, "numpy_exact_ms_per_query": round(exact_ms, 4)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

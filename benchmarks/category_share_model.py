"""How much category signal the synthetic B2B random split holds: a count model beside popularity.

    PYTHONPATH=shared .venv-tfx/bin/python benchmarks/category_share_model.py [--k 10,20,50,100]

The split is ``default_search.py``'s (100 % sample, random 80/10/10, pair-hashed, seed 42). The count
model ranks every product by its training interactions × the buyer's share of the product's category
in the training split, shrunk towards the overall share with ``k`` pseudo-interactions. Popularity is
the training count alone. Both use the same exact recall@100 per test interaction (ties go to corpus
order). Decision 060 amendment 5 compares it with the two-tower variants. The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import default_search  # noqa: E402

K = 100


def recall_at_100(test: pd.DataFrame, index: dict[str, int], score_of: Callable[[str], np.ndarray]) -> float:
    hits = 0
    for buyer, rows in test.groupby("buyer"):
        top = np.argsort(-score_of(str(buyer)), kind="stable")[:K]
        hits += int(rows["item"].astype(str).map(index).isin(top).sum())
    return hits / len(test)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", default="10,20,50,100", help="pseudo-interactions of the shrinkage, comma-separated")
    args = parser.parse_args()
    rows, _ = default_search.load("b2b")
    data = default_search.splits(rows, "random", 30, 1.0, 42, 0)
    train, test = data["train"], data["test"]
    corpus = rows.drop_duplicates("item").reset_index(drop=True)
    items = corpus["item"].astype(str).to_numpy()
    index = {item: i for i, item in enumerate(items)}
    popularity = np.bincount(train["item"].astype(str).map(index), minlength=len(items)).astype(float)
    categories = sorted(set(corpus["category"]))
    category_of = np.array([categories.index(c) for c in corpus["category"]])
    base = recall_at_100(test, index, lambda buyer: popularity)
    models: dict[str, dict[str, float]] = {}
    out: dict[str, object] = {"test_interactions": len(test), "popularity_recall_at_100": round(base, 4),
                              "count_model": models}
    print(json.dumps(out), flush=True)
    for k in (int(v) for v in args.k.split(",")):
        ratio = default_search.category_share_ratio(train, k, categories)

        def score(buyer: str, ratio: pd.DataFrame = ratio) -> np.ndarray:
            weights = ratio.loc[buyer].to_numpy() if buyer in ratio.index else np.ones(len(categories))
            return popularity * weights[category_of]

        value = recall_at_100(test, index, score)
        models[f"k{k}"] = {"recall_at_100": round(value, 4), "vs_popularity_pp": round((value - base) * 100, 2)}
        print(json.dumps({"k": k, **models[f"k{k}"]}), flush=True)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

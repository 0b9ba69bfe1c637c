"""A run's protocol: what its numbers were measured on, as a key that says which runs compare (decision 062).

Two quick tests are comparable when they rank the same candidates for the same test
interactions: same dataset, same sample (percent and seed: the seed is part of the sampling and
split hash, decision 010), same split strategy with the same parameters, and the same corpus
(every distinct candidate id of the dataset's table). ``RunProtocol.key`` is a digest of exactly
those; the dashboard, leaderboard, heatmap, stats and "vs previous best" compare within one key
and show other keys as separate groups. The key is computed from fields every stored experiment
has, so experiments stored before it existed get the same key as new ones.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from experiments_platform.domain.experiment import QuickTestParameters, Split
from experiments_platform.domain.launch import RunProtocol

KEY_PREFIX = "p-"


def split_summary(split: Split | Mapping[str, Any]) -> str:
    """``random 80/10/10``, ``time_holdout on date: last 7 d test, 10% val``, ``strict_time on date: 60 d train / …``
    (``compare`` shows it; the protocol label carries it)."""
    s = split.model_dump() if hasattr(split, "model_dump") else dict(split)
    strategy = s.get("strategy", "random")
    if strategy == "random":
        train, val = s.get("train_percent", 80), s.get("val_percent", 10)
        return f"random {train}/{val}/{100 - train - val}"
    if strategy == "time_holdout":
        history = f", {s['history_days']} d history" if s.get("history_days") else ""
        return (f"time_holdout on {s.get('date_column')}: last {s.get('holdout_days')} d test{history}, "
                f"{s.get('val_percent')}% val")
    if strategy == "buyer_time":
        return (f"buyer_time on {s.get('date_column')}: each buyer's latest {s.get('test_percent')}% test, "
                f"{s.get('val_percent')}% val")
    return (f"strict_time on {s.get('date_column')}: {s.get('train_days')} d train / {s.get('val_days')} d val / "
            f"{s.get('test_days')} d test")


def run_protocol(dataset_id: str, dataset_name: str, candidate_column: str,
                 parameters: QuickTestParameters | Mapping[str, Any]) -> RunProtocol:
    """The protocol of a run on ``dataset_id`` with ``parameters`` (a model, or their stored document)."""
    p = parameters if isinstance(parameters, QuickTestParameters) else QuickTestParameters.model_validate(parameters)
    split = p.split.model_dump(mode="json")
    corpus = f"every distinct {candidate_column} of the dataset"
    identity = {"dataset_id": dataset_id, "sample_percent": p.sample_percent, "seed": p.seed, "split": split,
                "corpus": corpus}
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
    label = f"{dataset_name or dataset_id} · {p.sample_percent}% sample · {split_summary(p.split)} · seed {p.seed}"
    return RunProtocol(key=KEY_PREFIX + digest, dataset_name=dataset_name, label=label, **identity)


def protocol_of(doc: Mapping[str, Any]) -> RunProtocol | None:
    """The stored protocol of an experiment document, or the one its parameters and dataset imply
    (documents stored before protocols); None when the document lacks them."""
    stored = doc.get("protocol")
    if isinstance(stored, Mapping) and stored.get("key"):
        return RunProtocol.model_validate(stored)
    dataset = doc.get("dataset_snapshot") or {}
    if not doc.get("dataset_id") or not isinstance(doc.get("parameters"), Mapping):
        return None
    try:
        return run_protocol(str(doc["dataset_id"]), str(dataset.get("name") or ""),
                            str(dataset.get("candidate_id_column") or "candidate"), doc["parameters"])
    except ValueError:
        return None


def protocol_key(doc: Mapping[str, Any]) -> str | None:
    protocol = protocol_of(doc)
    return protocol.key if protocol else None

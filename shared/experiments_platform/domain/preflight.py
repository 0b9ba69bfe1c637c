"""What a quick test is checked for before any compute: the rules, as pure functions (decision 061).

Refusals raise ``InvalidInput`` naming the request field to change and how: tower output widths
that differ, a split with no rows or fewer than the minimum interactions or buyers, a candidate
corpus not larger than the largest k (recall@k would be 100 % for any model). Warnings
(``LaunchWarning``) are kept on the experiment and shown with it: a small test set, a high share
of test interactions whose buyer or item never occurs in training (out of the id vocabularies),
a corpus smaller than 10 × the largest k. The counts come from the count query (``sql.counts``);
the handler ``handlers.preflight`` runs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from experiments_platform.domain.experiment import BuyerTimeSplit, QuickTestParameters, RandomSplit, TimeHoldoutSplit
from experiments_platform.domain.features import FeatureConfig
from experiments_platform.domain.launch import DataCheck, LaunchWarning, SplitSize
from experiments_platform.domain.metrics import RECALL_KS
from experiments_platform.domain.model import ModelConfig
from experiments_platform.errors import InvalidInput

SPLIT_NAMES = ("train", "eval", "test")
SMALL_TEST_INTERACTIONS = 1000
SMALL_TEST_BUYERS = 100
HIGH_OOV_SHARE = 0.2
CORPUS_FACTOR = 10


@dataclass(frozen=True)
class Minimums:
    """Refusal thresholds per split (settings ``PLATFORM_PREFLIGHT_MIN_*``)."""

    interactions: int = 100
    buyers: int = 40


# Towers


def tower_width(features: FeatureConfig, model: ModelConfig, tower: str) -> int:
    """Width of a tower's output: ``output_dim``, else its last layer, else its concatenated inputs
    (the same rule as ``pipeline.model.Tower``; no vocabulary needed, so a history feature counts its
    ``max_values`` + 1, the most it can give)."""
    if model.output_dim:
        return model.output_dim
    layers = model.query_tower_layers if tower == "query" else model.candidate_tower_layers
    if layers:
        return layers[-1]
    width = 0
    for feature in features.tower_features(tower):
        if feature.kind == "numeric" and feature.transform == "normalize":
            width += 1
        elif feature.kind == "timestamp":
            width += 1 + 4 + feature.embedding_dim
        elif feature.kind == "history":  # at most: a column with fewer values gives fewer
            width += feature.max_values + 1
        else:
            width += feature.embedding_dim
    return width + sum(c.embedding_dim for c in features.cross_features if c.tower == tower)


def check_towers(features: FeatureConfig, model: ModelConfig) -> None:
    """``InvalidInput`` (field ``model_config_id``) when the two towers' outputs differ in width."""
    query, candidate = tower_width(features, model, "query"), tower_width(features, model, "candidate")
    if query != candidate:
        raise InvalidInput(
            f"model_config_id: model config {model.name!r} gives the query tower {query} outputs "
            f"(layers {model.query_tower_layers or 'none'}) and the candidate tower {candidate} "
            f"(layers {model.candidate_tower_layers or 'none'}), but scoring is their dot product; "
            "end both towers with the same layer size or set output_dim",
            field="model_config_id",
            details={"query_width": query, "candidate_width": candidate},
        )


# Splits and corpus


def _split_fix(parameters: QuickTestParameters, split: str) -> tuple[str, str]:
    """The request field that enlarges ``split``, and the advice."""
    strategy = parameters.split
    sample = parameters.sample_percent
    bigger_sample = "" if sample == 100 else f"raise parameters.sample_percent (now {sample}) or "
    if isinstance(strategy, RandomSplit):
        field = "parameters.sample_percent" if sample < 100 else "parameters.split"
        share = {"train": "train_percent", "eval": "val_percent", "test": "the test share"}[split]
        return field, f"{bigger_sample}give the {split} split a larger share ({share})"
    if isinstance(strategy, TimeHoldoutSplit):
        if split == "test":
            return "parameters.split.holdout_days", (
                f"{bigger_sample}widen parameters.split.holdout_days (now {strategy.holdout_days})")
        if split == "eval":
            return "parameters.split.val_percent", (
                f"{bigger_sample}raise parameters.split.val_percent (now {strategy.val_percent})")
        history = f" (now {strategy.history_days})" if strategy.history_days else ""
        return "parameters.split.history_days", f"{bigger_sample}keep more history days{history}"
    if isinstance(strategy, BuyerTimeSplit):
        if split == "train":
            return "parameters.split", (f"{bigger_sample}lower parameters.split.test_percent (now "
                                        f"{strategy.test_percent}) or val_percent (now {strategy.val_percent})")
        share = {"eval": "val_percent", "test": "test_percent"}[split]
        return f"parameters.split.{share}", (
            f"{bigger_sample}raise parameters.split.{share} (now {getattr(strategy, share)}); a buyer with fewer "
            f"than 100 / {share} interactions gives the {split} split none")
    days = {"train": "train_days", "eval": "val_days", "test": "test_days"}[split]
    return f"parameters.split.{days}", (
        f"{bigger_sample}widen parameters.split.{days} (now {getattr(strategy, days)})")


def _counts(sizes: Mapping[str, SplitSize]) -> str:
    return ", ".join(f"{name} {sizes[name].interactions:,}" for name in SPLIT_NAMES)


def check_counts(check: DataCheck, parameters: QuickTestParameters, minimums: Minimums,
                 dataset_name: str, candidate_column: str, ks: tuple[int, ...] = RECALL_KS) -> list[LaunchWarning]:
    """Refuse (``InvalidInput``) what cannot give a meaningful result; return the warnings."""
    sizes = {name: check.split(name) for name in SPLIT_NAMES}
    largest = max(ks)
    if check.corpus_size <= largest:
        trivial = [k for k in ks if k >= check.corpus_size]
        raise InvalidInput(
            f"dataset_id: dataset {dataset_name!r} has {check.corpus_size:,} distinct {candidate_column} values; "
            f"ranked against a corpus that small, recall@{', @'.join(map(str, trivial))} is 100 % for any model. "
            f"A quick test needs more than {largest} candidates (the largest k); use a candidate column with more "
            "distinct values",
            field="dataset_id", details={"corpus_size": check.corpus_size, "largest_k": largest},
        )
    for name in SPLIT_NAMES:
        size = sizes[name]
        if size.interactions >= minimums.interactions and size.buyers >= minimums.buyers:
            continue
        field, fix = _split_fix(parameters, name)
        if size.interactions == 0:
            problem = f"the {name} split would be empty ({_counts(sizes)} interactions)"
        else:
            problem = (
                f"the {name} split would hold {size.interactions:,} interactions from {size.buyers:,} buyers, "
                f"fewer than the {minimums.interactions:,} interactions and {minimums.buyers:,} buyers a "
                "comparison needs (PLATFORM_PREFLIGHT_MIN_INTERACTIONS, PLATFORM_PREFLIGHT_MIN_BUYERS)"
            )
        raise InvalidInput(f"{field}: {problem}; {fix}", field=field,
                           details={"splits": {n: s.to_document() for n, s in sizes.items()}})
    return _warnings(check, parameters, largest)


def _warnings(check: DataCheck, parameters: QuickTestParameters, largest: int) -> list[LaunchWarning]:
    test = check.split("test")
    field, fix = _split_fix(parameters, "test")
    warnings = []
    if test.interactions < SMALL_TEST_INTERACTIONS or test.buyers < SMALL_TEST_BUYERS:
        warnings.append(LaunchWarning(
            code="SMALL_TEST_SET", title="Small test set", field=field,
            message=(f"The test split holds {test.interactions:,} interactions from {test.buyers:,} buyers "
                     f"(fewer than {SMALL_TEST_INTERACTIONS:,} or {SMALL_TEST_BUYERS}): differences of a few "
                     f"points between runs can be noise; to measure more precisely, {fix}."),
        ))
    for side, cold, what in (("a buyer", test.cold_buyer_interactions, "buyers"),
                             ("an item", test.cold_item_interactions, "items")):
        share = cold / test.interactions if test.interactions else 0.0
        if share > HIGH_OOV_SHARE:
            warnings.append(LaunchWarning(
                code="HIGH_TEST_OOV", title=f"Many cold-start {what} in the test split", field="parameters.split",
                message=(f"{share:.0%} of test interactions ({cold:,} of {test.interactions:,}) have {side} that "
                         f"never occurs in the training split: its id embedding is the untrained out-of-vocabulary "
                         f"one, so recall on them measures side features (or nothing); the recall split by known "
                         f"and cold-start {what} shows both."),
            ))
    if check.corpus_size < CORPUS_FACTOR * largest:
        warnings.append(LaunchWarning(
            code="SMALL_CORPUS", title="Small candidate corpus", field="dataset_id",
            message=(f"The corpus holds {check.corpus_size:,} candidates, fewer than {CORPUS_FACTOR} × {largest} "
                     f"(the largest k): recall@{largest} covers {largest / check.corpus_size:.0%} of it and says "
                     f"little; compare a smaller k."),
        ))
    return warnings

"""Search for an honest default outside the stack: the product's two-tower model on in-memory splits.

    PYTHONPATH=shared nice -n 5 .venv-tfx/bin/python benchmarks/default_search.py \
        --dataset movielens --split temporal --sample 1.0 --variant default --variant no_buyer_id --seeds 42

Why: a platform quick test takes minutes on this shared machine; the same model (``pipeline.model``:
``Tower``, ``TwoTowerModel``, ``build_model``) trained on the same kind of splits takes seconds here,
so candidate defaults are screened with this script and the chosen one confirmed through the product
(``benchmarks/default_vs_baselines.py``; decision 060 has what it found). The splits imitate the
platform's: a ``--sample`` drawn per (buyer, item) pair as the platform's hash is (every repeat of a pair
in one split), random 80/10/10 or the last ``--holdout-days`` days as test with the rest 90/10
train/validation; vocabularies from the training split with one OOV bucket (``buyer_vocab_share`` keeps
the most frequent buyers, the rest share the OOV bucket, as ``max_vocab_size`` does through
``tft.compute_and_apply_vocabulary(top_k=...)``). Recall@100 per test
interaction over every item of the table (``pipeline.recall``), the popularity and recent-popularity
baselines (``pipeline.recent_popularity``) on the same interactions. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DAY = 86400

VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "no_sbc": {"sbc": False},
    "es": {"epochs": 30, "patience": 3},
    "no_sbc_es": {"sbc": False, "epochs": 30, "patience": 3},
    "no_buyer_id": {"drop_buyer_id": True},
    "no_sbc_no_buyer_id": {"sbc": False, "drop_buyer_id": True},
    "no_sbc_no_buyer_id_es": {"sbc": False, "drop_buyer_id": True, "epochs": 30, "patience": 3},
    "no_sbc_id_top80": {"sbc": False, "buyer_vocab_share": 0.8},
    "no_sbc_id_top80_es": {"sbc": False, "buyer_vocab_share": 0.8, "epochs": 30, "patience": 3},
    "no_sbc_id_top50_es": {"sbc": False, "buyer_vocab_share": 0.5, "epochs": 30, "patience": 3},
    "no_sbc_10": {"sbc": False, "epochs": 10},
    "no_sbc_lr05": {"sbc": False, "learning_rate": 0.05},
    "id_top80": {"buyer_vocab_share": 0.8},
    "id_top50": {"buyer_vocab_share": 0.5},
    "no_buyer_id_es": {"drop_buyer_id": True, "epochs": 30, "patience": 3},
    "id_top80_es": {"buyer_vocab_share": 0.8, "epochs": 30, "patience": 3},
    "lr05": {"learning_rate": 0.05},
    "batch256": {"batch_size": 256},
    "epochs10": {"epochs": 10},
    "time": {"time_feature": True},
    "time_es": {"time_feature": True, "epochs": 30, "patience": 3},
    "time_no_buyer_id": {"time_feature": True, "drop_buyer_id": True},
    "time_epochs10": {"time_feature": True, "epochs": 10},
    "pop": {"popularity_feature": True},
    "pop_es": {"popularity_feature": True, "epochs": 30, "patience": 3},
    "pop_no_buyer_id": {"popularity_feature": True, "drop_buyer_id": True},
    "t05": {"temperature": 0.5},
    "t02": {"temperature": 0.2},
    "t05_es": {"temperature": 0.5, "epochs": 30, "patience": 3},
    "adam01_es": {"optimizer": "adam", "learning_rate": 0.01, "epochs": 30, "patience": 3},
    "adam003_es": {"optimizer": "adam", "learning_rate": 0.003, "epochs": 30, "patience": 3},
    "batch256_es": {"batch_size": 256, "epochs": 30, "patience": 3},
    "lr05_es": {"learning_rate": 0.5, "epochs": 30, "patience": 3},
    "rah": {"remove_accidental_hits": True},
    "rah_es": {"remove_accidental_hits": True, "epochs": 30, "patience": 3},
    "rah_lr05_es": {"remove_accidental_hits": True, "learning_rate": 0.5, "epochs": 30, "patience": 3},
    "rah_lr03_e10": {"remove_accidental_hits": True, "learning_rate": 0.3, "epochs": 10},
    "linear_es": {"layers": [32], "epochs": 30, "patience": 3},
    "linear_rah_es": {"layers": [32], "remove_accidental_hits": True, "epochs": 30, "patience": 3},
    "linear_lr05_es": {"layers": [32], "learning_rate": 0.5, "epochs": 30, "patience": 3},
    "l2_4_es": {"l2": 1e-4, "epochs": 30, "patience": 3},
    "l2_3_es": {"l2": 1e-3, "epochs": 30, "patience": 3},
    "drop02": {"buyer_id_dropout": 0.2},
    "drop05": {"buyer_id_dropout": 0.5},
    "drop02_e8": {"buyer_id_dropout": 0.2, "epochs": 8},
    "drop05_e8": {"buyer_id_dropout": 0.5, "epochs": 8},
    "no_buyer_id_e8": {"drop_buyer_id": True, "epochs": 8},
    "e8": {"epochs": 8},
    "rah_no_sbc_es": {"remove_accidental_hits": True, "sbc": False, "epochs": 30, "patience": 3},
    "prior": {"prior": True},
    "e8_prior": {"epochs": 8, "prior": True},
    "es_prior": {"epochs": 30, "patience": 3, "prior": True},
    "drop05_e8_prior": {"buyer_id_dropout": 0.5, "epochs": 8, "prior": True},
    "drop05_es_prior": {"buyer_id_dropout": 0.5, "epochs": 30, "patience": 3, "prior": True},
    "no_buyer_id_prior": {"drop_buyer_id": True, "prior": True},
    "no_buyer_id_e8_prior": {"drop_buyer_id": True, "epochs": 8, "prior": True},
    "zip_prior": {"query_extra": [("zip2", "categorical", 8)], "prior": True},
    "zip_no_buyer_id_prior": {"query_extra": [("zip2", "categorical", 8)], "drop_buyer_id": True, "prior": True},
    "linear_e8_prior": {"layers": [32], "epochs": 8, "prior": True},
    "linear_es_prior": {"layers": [32], "epochs": 30, "patience": 3, "prior": True},
    "t05_e8_prior": {"temperature": 0.5, "epochs": 8, "prior": True},
    "lr05_e8_prior": {"learning_rate": 0.5, "epochs": 8, "prior": True},
    "rah_e8_prior": {"remove_accidental_hits": True, "epochs": 8, "prior": True},
    "e20_prior": {"epochs": 20, "prior": True},
    "e8_recent_prior": {"epochs": 8, "prior": True, "recent_prior": 14},
    "no_buyer_id_recent_prior": {"drop_buyer_id": True, "prior": True, "recent_prior": 14},
    "drop05_e8_recent_prior": {"buyer_id_dropout": 0.5, "epochs": 8, "prior": True, "recent_prior": 14},
    "unique_e8_prior": {"unique_pairs": True, "epochs": 8, "prior": True},
    "unique_e20_prior": {"unique_pairs": True, "epochs": 20, "prior": True},
    "no_item_id_e8_prior": {"drop_item_id": True, "epochs": 8, "prior": True},
    "no_item_id_prior": {"drop_item_id": True, "prior": True},
    "adam01_e8_prior": {"optimizer": "adam", "learning_rate": 0.01, "epochs": 8, "prior": True},
    "no_item_id_adam01_e8_prior": {"drop_item_id": True, "optimizer": "adam", "learning_rate": 0.01, "epochs": 8,
                                   "prior": True},
    "no_item_id_e20_prior": {"drop_item_id": True, "epochs": 20, "prior": True},
    "history_e8_prior": {"category_history": True, "epochs": 8, "prior": True},
    "history_no_buyer_id_e8_prior": {"category_history": True, "drop_buyer_id": True, "epochs": 8, "prior": True},
    "rah_adam01_es": {"remove_accidental_hits": True, "optimizer": "adam", "learning_rate": 0.01, "epochs": 30,
                      "patience": 3},
}


def load(dataset: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Interactions (buyer, item, time in seconds) with side columns joined, and the feature config."""
    if dataset == "movielens":
        folder = ROOT / "var/warehouse/movielens_100k"
        rows = pd.read_parquet(folder / "interactions.parquet")
        users = pd.read_parquet(folder / "users.parquet")
        items = pd.read_parquet(folder / "items.parquet")
        rows = rows.merge(users, on="user_id", how="left").merge(items, on="item_id", how="left")
        rows["t"] = pd.to_datetime(rows["timestamp"]).astype("int64") // 10**9
        rows["zip2"] = rows["zip_code"].astype(str).str[:2]  # a region: 2-digit ZIP prefix (cold-start screening)
        rows = rows.rename(columns={"user_id": "buyer", "item_id": "item"})
        features = {"query": [("buyer", "id", 32), ("age", "normalize", 0), ("gender", "categorical", 4),
                              ("occupation", "categorical", 8)],
                    "candidate": [("item", "id", 32), ("genres", "text", 8), ("release_year", "bucketize", 4)]}
        return rows, features
    from experiments_platform.data.synthetic_b2b import B2BConfig, generate_b2b

    tables = generate_b2b(B2BConfig())
    rows = tables.transactions.to_pandas().merge(tables.buyers.to_pandas(), on="customer_id", how="left")
    rows = rows.merge(tables.products.to_pandas(), on="product_id", how="left")
    rows["t"] = pd.to_datetime(rows["date"]).astype("int64") // 10**9
    rows = rows.rename(columns={"customer_id": "buyer", "product_id": "item"})
    features = {"query": [("buyer", "id", 32), ("city", "categorical", 8), ("segment", "categorical", 4)],
                "candidate": [("item", "id", 32), ("category", "categorical", 8), ("subcategory", "categorical", 8),
                              ("price", "bucketize", 4)]}
    return rows, features


def splits(rows: pd.DataFrame, split: str, holdout_days: int, sample: float, seed: int,
           validation_days: int = 0) -> dict[str, pd.DataFrame]:
    """The platform's splits; with ``validation_days`` a time holdout validates on the last days before the
    holdout instead of a 10 % pair-hashed draw (the training split ends where validation starts)."""
    # as the platform's hash: the sample and the split are drawn per (buyer, item) pair, so every repeat of a
    # pair lands in one split (decision 010)
    pair = pd.util.hash_pandas_object(rows[["buyer", "item"]].astype(str), index=False).to_numpy()
    sample_draw = np.random.default_rng(seed).random(len(np.unique(pair)))
    codes = np.unique(pair, return_inverse=True)[1]
    kept = rows[sample_draw[codes] < sample].reset_index(drop=True)
    kept_codes = codes[sample_draw[codes] < sample]
    draw = np.random.default_rng(seed + 1).random(int(codes.max()) + 1)[kept_codes]
    if split == "random":
        return {"train": kept[draw < 0.8], "eval": kept[(draw >= 0.8) & (draw < 0.9)], "test": kept[draw >= 0.9]}
    last_day = rows["t"].max() // DAY
    days_ago = last_day - kept["t"] // DAY
    before = days_ago >= holdout_days
    if validation_days:
        trained = days_ago >= holdout_days + validation_days
        return {"train": kept[trained], "eval": kept[before & ~trained], "test": kept[~before],
                "days_ago": days_ago}  # type: ignore[dict-item]
    return {"train": kept[before & (draw >= 0.1)], "eval": kept[before & (draw < 0.1)],
            "test": kept[~before], "days_ago": days_ago}  # type: ignore[dict-item]


class Encoder:
    """Vocabularies and statistics of the training split, applied to any frame (the Transform step)."""

    def __init__(self, train: pd.DataFrame, features: dict[str, list[tuple[str, str, int]]],
                 buyer_vocab_share: float = 1.0, popularity_feature: bool = False) -> None:
        self.features = features
        self.popularity_feature = popularity_feature
        self.vocab: dict[str, dict[str, int]] = {}
        self.stats: dict[str, Any] = {}
        for tower in features.values():
            for column, kind, _ in tower:
                values = train[column]
                if kind in ("id", "categorical"):
                    counts = values.astype(str).value_counts()
                    if column == "buyer" and buyer_vocab_share < 1.0:
                        counts = counts.iloc[: max(1, int(len(counts) * buyer_vocab_share))]
                    self.vocab[column] = {v: i for i, v in enumerate(counts.index)}
                elif kind == "text":
                    tokens = values.fillna("").str.lower().str.split(r"[^a-z0-9]+").explode()
                    counts = tokens[tokens != ""].value_counts()
                    self.vocab[column] = {v: i + 1 for i, v in enumerate(counts.index)}
                elif kind == "normalize":
                    self.stats[column] = (float(values.mean()), float(values.std() or 1.0))
                elif kind == "time":  # the platform's timestamp feature: z-score and quantile buckets
                    self.stats[column] = (float(values.mean()), float(values.std() or 1.0),
                                          np.unique(np.quantile(values.astype(float), np.linspace(0, 1, 11)[1:-1])))
                else:
                    self.stats[column] = np.unique(np.nanquantile(values.astype(float), np.linspace(0, 1, 11)[1:-1]))

    def inputs(self, tower: str) -> list[Any]:
        from experiments_platform.pipeline.feature_names import ModelInput

        out = []
        for column, kind, dim in self.features[tower]:
            if kind in ("id", "categorical"):
                out.append(ModelInput(column, "embedding", size=len(self.vocab[column]) + 1, dim=dim))
                if self.popularity_feature and tower == "candidate" and kind == "id":
                    size = int(np.floor(np.log2(len(self.vocab[column]) + 1.0))) + 1
                    out.append(ModelInput(f"{column}__pop", "embedding", size=size, dim=8))
            elif kind == "text":
                out.append(ModelInput(column, "bag", size=len(self.vocab[column]) + 2, dim=dim, width=8))
            elif kind == "normalize":
                out.append(ModelInput(column, "dense"))
            elif kind == "time":
                out.append(ModelInput(f"{column}__z", "dense"))
                out.append(ModelInput(f"{column}__bucket", "embedding", size=len(self.stats[column][2]) + 2, dim=dim))
            else:
                out.append(ModelInput(column, "embedding", size=len(self.stats[column]) + 2, dim=dim))
        return out

    def encode(self, frame: pd.DataFrame, tower: str) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for column, kind, _ in self.features[tower]:
            values = frame[column]
            if kind in ("id", "categorical"):
                vocab = self.vocab[column]
                out[column] = np.array([vocab.get(v, len(vocab)) for v in values.astype(str)], dtype=np.int64)
                if self.popularity_feature and tower == "candidate" and kind == "id":
                    out[f"{column}__pop"] = np.floor(np.log2(out[column] + 1.0)).astype(np.int64)
            elif kind == "text":
                vocab = self.vocab[column]
                bags = np.zeros((len(frame), 8), dtype=np.int64)
                for r, text in enumerate(values.fillna("").str.lower().str.split(r"[^a-z0-9]+")):
                    ids = [vocab.get(t, len(vocab) + 1) for t in text if t][:8]
                    bags[r, : len(ids)] = ids
                out[column] = bags
            elif kind == "normalize":
                mean, std = self.stats[column]
                out[column] = ((values.fillna(mean).astype(float) - mean) / std).to_numpy(np.float32)[:, None]
            elif kind == "time":
                mean, std, edges = self.stats[column]
                out[f"{column}__z"] = ((values.astype(float) - mean) / std).to_numpy(np.float32)[:, None]
                out[f"{column}__bucket"] = np.searchsorted(edges, values.astype(float)).astype(np.int64)
            else:
                out[column] = np.searchsorted(self.stats[column], values.fillna(-1).astype(float)).astype(np.int64)
        return out


def positions(frame: pd.DataFrame, corpus_index: dict[str, int]) -> np.ndarray:
    """The corpus row of each interaction's item."""
    return np.array([corpus_index[v] for v in frame["item"].astype(str)])


def cold_buyers(test: pd.DataFrame, train: pd.DataFrame) -> np.ndarray:
    """Whether each test interaction's buyer is absent from the training split."""
    return ~test["buyer"].astype(str).isin(set(train["buyer"].astype(str))).to_numpy()


def category_share_ratio(train: pd.DataFrame, k: float, categories: list[str] | None = None) -> pd.DataFrame:
    """Per buyer (rows) and category (columns): the buyer's share of the category among their training rows,
    shrunk towards the overall share with ``k`` pseudo-rows, divided by the overall share."""
    counts = train.groupby(["buyer", "category"]).size().unstack(fill_value=0)
    if categories is not None:
        counts = counts.reindex(columns=categories, fill_value=0)
    overall = counts.sum() / counts.to_numpy().sum()
    return (counts + k * overall).div(counts.sum(axis=1) + k, axis=0) / overall


def recall_at(scores_q: np.ndarray, scores_c: np.ndarray, positives: np.ndarray, k: int = 100) -> float:
    from experiments_platform.pipeline.recall import rank_positives

    ranks = rank_positives(scores_q, scores_c, positives, limit=k).all_items
    return float(np.mean((ranks >= 0) & (ranks < k)))


def run(data: dict[str, Any], config: dict[str, Any], seed: int) -> dict[str, Any]:
    import tensorflow as tf
    from experiments_platform.domain.model import ModelConfig
    from experiments_platform.pipeline.model import SAMPLING_PROBABILITY, build_model

    features = dict(data["features"])
    if config.get("time_feature"):
        features = {**features, "query": [*features["query"], ("t", "time", 8)]}
    if config.get("query_extra"):
        features = {**features, "query": [*features["query"], *config["query_extra"]]}
    if config.get("drop_buyer_id"):
        features = {**features, "query": [f for f in features["query"] if f[0] != "buyer"]}
    if config.get("drop_item_id"):
        features = {**features, "candidate": [f for f in features["candidate"] if f[0] != "item"]}
    train, val, test, corpus = data["train"], data["eval"], data["test"], data["corpus"]
    if config.get("category_history"):  # the buyer's log share of each category in training, shrunk (k = 50)
        ratio = np.log(category_share_ratio(train, 50))
        names = [f"hist_{c}" for c in ratio.columns]
        ratio.columns = names

        def with_history(frame: pd.DataFrame) -> pd.DataFrame:
            joined = frame.join(ratio, on="buyer")
            joined[names] = joined[names].fillna(0.0)
            return joined

        train, val, test = with_history(train), with_history(val), with_history(test)
        data = {**data, "train": train, "eval": val, "test": test}
        features = {**features, "query": [*features["query"], *[(n, "normalize", 0) for n in names]]}
    encoder = Encoder(train, features, config.get("buyer_vocab_share", 1.0), config.get("popularity_feature", False))
    frequency = train["item"].value_counts(normalize=True)
    floor = 1.0 / len(train)

    def arrays(frame: pd.DataFrame) -> dict[str, np.ndarray]:
        out = {**encoder.encode(frame, "query"), **{f"c_{k}": v for k, v in encoder.encode(frame, "candidate").items()}}
        out[SAMPLING_PROBABILITY] = frame["item"].map(frequency).fillna(floor).to_numpy(np.float32)
        return out

    tf.keras.utils.set_random_seed(seed)
    from experiments_platform.pipeline.feature_names import ModelInput

    q_inputs = encoder.inputs("query")
    c_inputs = [ModelInput(f"c_{i.name}", i.kind, i.size, i.dim, i.width) for i in encoder.inputs("candidate")]
    layers = config.get("layers", [64, 32])
    model_config = ModelConfig(name="search", query_tower_layers=layers, candidate_tower_layers=layers,
                               sampling_bias_correction=config.get("sbc", True),
                               optimizer=config.get("optimizer", "adagrad"),
                               l2_regularization=config.get("l2", 0.0))
    model = build_model(q_inputs, c_inputs, model_config, config.get("learning_rate", 0.1))
    model.task._temperature = config.get("temperature")
    if config.get("remove_accidental_hits"):
        _remove_accidental_hits(model, "c_item")
    fitted = train.drop_duplicates(["buyer", "item"]) if config.get("unique_pairs") else train
    train_arrays, corpus_arrays = arrays(fitted), {f"c_{k}": v for k, v in encoder.encode(corpus, "candidate").items()}
    corpus_index = {v: i for i, v in enumerate(corpus["item"].astype(str))}

    def recall(frame: pd.DataFrame) -> float:
        q = model.query_tower(encoder.encode(frame, "query")).numpy()
        c = model.candidate_tower(corpus_arrays).numpy()
        return recall_at(q, c, positions(frame, corpus_index))

    dataset = tf.data.Dataset.from_tensor_slices(train_arrays).shuffle(len(fitted), seed=seed).batch(
        config.get("batch_size", 1024))
    dropout = config.get("buyer_id_dropout")
    if dropout and "buyer" in train_arrays:  # a training row's buyer id reads as unknown (the OOV bucket)
        oov = len(encoder.vocab["buyer"])

        def drop(batch: dict[str, Any]) -> dict[str, Any]:
            unknown = tf.random.uniform(tf.shape(batch["buyer"]), seed=seed) < dropout
            return {**batch, "buyer": tf.where(unknown, tf.constant(oov, tf.int64), batch["buyer"])}

        dataset = dataset.map(drop)
    epochs, patience = config.get("epochs", 3), config.get("patience")
    best, best_epoch, best_weights, history = -1.0, 0, None, []
    started = time.monotonic()
    for epoch in range(1, epochs + 1):
        model.fit(dataset, epochs=1, verbose=0)
        if patience is None:
            continue
        value = recall(val)
        history.append(round(value, 4))
        if value > best:
            best, best_epoch, best_weights = value, epoch, model.get_weights()
        elif epoch - best_epoch >= patience:
            break
    if best_weights is not None:
        model.set_weights(best_weights)
    fit_s = time.monotonic() - started
    prior_fields: dict[str, Any] = {}
    if config.get("prior"):
        test_recall, prior_fields = _recall_with_prior(model, encoder, data, corpus_arrays, corpus_index,
                                                       int(config.get("recent_prior", 0)))
    else:
        test_recall = recall(test)
    cold = cold_buyers(test, train)
    cold_recall = recall(test[cold]) if cold.any() else None
    return {"recall_at_100": round(test_recall, 4), "best_epoch": best_epoch or epochs, "val_history": history,
            "cold_recall_at_100": None if cold_recall is None else round(cold_recall, 4), "fit_s": round(fit_s, 1),
            **prior_fields}


def _recall_with_prior(model: Any, encoder: Encoder, data: dict[str, Any], corpus_arrays: dict[str, np.ndarray],
                       corpus_index: dict[str, int], recent_days: int = 0) -> tuple[float, dict[str, Any]]:
    """Test recall@100 scored as the quick test scores it (decision 060, amendment 2): ``q · c + w × log(1 +
    training count)`` (``recent_days``: the count of the training period's last days, the overall one breaking ties),
    ``w`` chosen on validation recall@100, cold-start test buyers with their own ``w`` chosen
    on validation read with the buyer id in the OOV bucket."""
    from experiments_platform.pipeline.evaluation import log_popularity, prior_weight, with_prior

    train, val, test = data["train"], data["eval"], data["test"]

    def queries(frame: pd.DataFrame, cold: bool = False) -> np.ndarray:
        encoded = encoder.encode(frame, "query")
        if cold and "buyer" in encoded:
            encoded["buyer"] = np.full_like(encoded["buyer"], len(encoder.vocab["buyer"]))
        return np.asarray(model.query_tower(encoded).numpy())

    candidates = np.asarray(model.candidate_tower(corpus_arrays).numpy())
    train_positions = positions(train, corpus_index)
    prior = log_popularity(train_positions, len(corpus_index))
    if recent_days:  # the recent-popularity baseline's own counts: log(1 + recent count), overall count breaking ties
        days = data["days_ago"].loc[train.index].to_numpy()
        recent = days < days.min() + recent_days
        counts = np.bincount(train_positions[recent], minlength=len(corpus_index))[:len(corpus_index)]
        prior = (np.log1p(counts) + 0.01 * prior).astype(np.float32)
    val_positions, test_positions = positions(val, corpus_index), positions(test, corpus_index)
    weight, _ = prior_weight(queries(val), candidates, val_positions, prior)
    cold_weight, _ = prior_weight(queries(val, cold=True), candidates, val_positions, prior)
    cold = cold_buyers(test, train)
    scored_q, scored_c = with_prior(queries(test), candidates, prior, np.where(cold, cold_weight, weight))
    value = recall_at(scored_q, scored_c, test_positions)
    cold_value = recall_at(scored_q[cold], scored_c, test_positions[cold]) if cold.any() else None
    return value, {"prior_weight": weight, "cold_prior_weight": cold_weight,
                   "cold_recall_with_prior": None if cold_value is None else round(cold_value, 4)}


def _remove_accidental_hits(model: Any, id_input: str) -> None:
    """In-batch softmax without the rows' own item among its negatives (TFRS ``remove_accidental_hits``)."""
    import tensorflow as tf
    from experiments_platform.pipeline import model as towers

    model.task._remove_accidental_hits = True

    @tf.autograph.experimental.do_not_convert
    def compute_loss(features: dict[str, Any], training: bool = False) -> Any:
        queries, candidates = model.query_tower(features), model.candidate_tower(features)
        probability = features[towers.SAMPLING_PROBABILITY] if model.correct_sampling_bias else None
        return towers._retrieval_loss(model.task, queries, candidates, candidate_sampling_probability=probability,
                                      candidate_ids=features[id_input], compute_metrics=False)

    model.compute_loss = compute_loss


def baselines(data: dict[str, Any], recent_days: int) -> dict[str, float]:
    from experiments_platform.pipeline.recall import popularity_scores
    from experiments_platform.pipeline.recent_popularity import recent_popularity_scores

    corpus_index = {v: i for i, v in enumerate(data["corpus"]["item"].astype(str))}
    train_pos, positives = positions(data["train"], corpus_index), positions(data["test"], corpus_index)
    ones = np.ones((len(positives), 1), dtype=np.float32)
    out = {"popularity": recall_at(ones, popularity_scores(train_pos, len(corpus_index)), positives)}
    if "days_ago" in data:
        days = data["days_ago"].loc[data["train"].index].to_numpy()
        out["recent_popularity"] = recall_at(ones, recent_popularity_scores(train_pos, days, len(corpus_index),
                                                                            recent_days), positives)
    return {k: round(v, 4) for k, v in out.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=("movielens", "b2b"), default="movielens")
    parser.add_argument("--split", choices=("random", "temporal"), default="random")
    parser.add_argument("--holdout-days", type=int, default=30)
    parser.add_argument("--recent-days", type=int, default=14)
    parser.add_argument("--sample", type=float, default=0.25)
    parser.add_argument("--validation-days", type=int, default=0,
                        help="time holdout: validate on the last N days before it (0: a 10 %% pair-hashed draw)")
    parser.add_argument("--variant", action="append", default=[], choices=sorted(VARIANTS))
    parser.add_argument("--seeds", default="42")
    args = parser.parse_args()
    rows, features = load(args.dataset)
    data: dict[str, Any] = splits(rows, args.split, args.holdout_days, args.sample, 42, args.validation_days)
    data["features"] = features
    data["corpus"] = rows.drop_duplicates("item").reset_index(drop=True)
    base = baselines(data, args.recent_days)
    n = len(data["test"])
    cold_rate = float(np.mean(cold_buyers(data["test"], data["train"])))
    out: dict[str, Any] = {"dataset": args.dataset, "split": args.split, "test_interactions": n,
                           "test_cold_buyer_rate": round(cold_rate, 3), "baselines": base, "variants": {}}
    print(json.dumps({k: v for k, v in out.items() if k != "variants"}), flush=True)
    best = max(base.values())
    for name in args.variant or ["default"]:
        results = [run(data, VARIANTS[name], int(seed)) for seed in args.seeds.split(",")]
        mean = float(np.mean([r["recall_at_100"] for r in results]))
        bound = 1.96 * math.sqrt((mean * (1 - mean) + best * (1 - best)) / n)
        row = {"mean_recall_at_100": round(mean, 4), "vs_best_pp": round((mean - best) * 100, 2),
               "noise_pp": round(bound * 100, 2), "runs": results}
        out["variants"][name] = row
        print(json.dumps({"variant": name, **row}), flush=True)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

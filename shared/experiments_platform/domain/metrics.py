"""The metric catalogue: the one place that says what each reported number means and how it reads.

Every number the trainer reports (final metrics, per-epoch history, protocol counts, timings) has
one ``MetricSpec`` here under its stable name (the MLflow metric name and the key in
``metrics.json``): label, direction (which value is better), unit, display format and group.
Handlers, the API (``GET /api/metrics``) and the UI read it; nothing else decides a label or a
direction. A name missing from the catalogue reads as itself, with no direction, as a decimal.

Display convention (``ui/js/lib/format.js`` implements the same rules; a test keeps them equal):
rates as percents with one decimal (``47.3%``), a difference of rates in percentage points
(``+1.2 pp``; ``±0.0 pp`` and no arrow when it rounds to zero), counts as integers with thousands
separators (``1,682``), seconds as ``1 min 33 s``, other numbers (losses too) with four significant
digits (``0.0342``, ``1,524``). Values read from the data (years, ids) carry no separators (format.js ``plain``).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

Direction = Literal["higher", "lower", "none"]
Unit = Literal["rate", "count", "seconds", "loss", "weight", "number"]
Format = Literal["percent", "count", "duration", "decimal"]
Group = Literal["quality", "baseline", "loss", "protocol", "weights", "timing"]
Source = Literal["final", "history", "recall", "protocol", "timings"]

RECALL_KS = (10, 50, 100)
EXCLUDING_TRAIN_ITEMS = "excluding_train_items"
PER_BUYER = "per_buyer"
CORPUS_PERCENTS = (10, 25, 50, 100)
"""The corpus curve's points: recall@k against this share of the candidates (plus each query's own item)."""
RECENT_POPULARITY_DAYS = 14
"""The recent-popularity baseline's window: the last two weeks of a time split's training period."""
_FORMAT_OF_UNIT: dict[str, Format] = {
    "rate": "percent", "count": "count", "seconds": "duration", "loss": "decimal", "weight": "decimal",
    "number": "decimal",
}
_DIGITS_OF_FORMAT: dict[str, int] = {"percent": 1, "count": 0, "duration": 0, "decimal": 4}
ABSENT = "—"


class MetricSpec(BaseModel):
    """One metric: name, label, direction, unit, format, group, and where the report keeps it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    label: str
    direction: Direction
    unit: Unit
    format: Format
    digits: int = Field(ge=0, le=6, description="decimals of a percent, significant digits of a decimal")
    group: Group
    source: Source = Field(description="the report section holding it: final, history (per epoch), recall, "
                                        "protocol or timings")
    description: str = ""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def is_rate(self) -> bool:
        return self.unit == "rate"

    def better(self, value: float, other: float) -> bool:
        """Whether ``value`` is strictly better than ``other`` (never, for a metric without direction)."""
        if self.direction == "higher":
            return value > other
        if self.direction == "lower":
            return value < other
        return False

    def display(self, value: float | None) -> str:
        """The value as the UI shows it (``47.3%``, ``1,682``, ``1 min 33 s``, ``0.0342``)."""
        if value is None:
            return ABSENT
        if self.format == "percent":
            return f"{_fixed(value * 100, self.digits)}%"
        if self.format == "count":
            return _grouped(_round(value, 0))
        if self.format == "duration":
            return duration_text(value)
        return significant(value, self.digits)

    def display_delta(self, delta: float) -> str:
        """A signed difference: percentage points for rates (``+1.2 pp``), otherwise the value's own format.

        The sign is the shown number's: a difference that rounds to zero reads ``±0.0 pp``.
        """
        text = f"{_fixed(abs(delta) * 100, self.digits)} pp" if self.format == "percent" else self.display(abs(delta))
        sign = "±" if not any(c in "123456789" for c in text) else "+" if delta > 0 else "−"
        return f"{sign}{text}"

    def display_change(self, delta: float) -> str:
        """A difference with an arrow (``↑ 1.2 pp``, ``↓ 0.3 pp``); none when it rounds to zero (``= 0.0 pp``)."""
        signed = self.display_delta(delta)
        arrow = "=" if signed.startswith("±") else "↑" if delta > 0 else "↓"
        return f"{arrow} {signed[1:]}"


def _metric(name: str, label: str, direction: Direction, unit: Unit, group: Group, source: Source,
            description: str = "", digits: int | None = None) -> MetricSpec:
    form = _FORMAT_OF_UNIT[unit]
    return MetricSpec(name=name, label=label, direction=direction, unit=unit, format=form,
                      digits=_DIGITS_OF_FORMAT[form] if digits is None else digits, group=group, source=source,
                      description=description)


_VARIANTS = (
    ("", "", "all items ranked"),
    (f"_{EXCLUDING_TRAIN_ITEMS}", " (excl. training items)", "the buyer's training items removed from the ranking"),
)


def _model_recall(variant: str, note: str, how: str) -> list[MetricSpec]:
    return [_metric(f"recall_at_{k}{variant}", f"Recall@{k}{note}", "higher", "rate", "quality", "final",
                    f"Share of test interactions whose item ranks in the model's top {k}; {how}.") for k in RECALL_KS]


def _popularity_recall(variant: str, note: str, how: str) -> list[MetricSpec]:
    return [_metric(f"popularity_recall_at_{k}{variant}", f"Popularity Recall@{k}{note}", "none", "rate", "baseline",
                    "final", f"Recall@{k} of ranking by training popularity, same protocol; {how}.")
            for k in RECALL_KS]


def _recent_popularity_recall(variant: str, note: str, how: str) -> list[MetricSpec]:
    return [_metric(f"recent_popularity_recall_at_{k}{variant}", f"Recent popularity Recall@{k}{note}", "none",
                    "rate", "baseline", "final",
                    f"Recall@{k} of ranking by training interactions in the last {RECENT_POPULARITY_DAYS} days of "
                    f"the training period, then by training popularity (time splits only), same protocol; {how}.")
            for k in RECALL_KS]


def _history_metrics() -> list[MetricSpec]:
    losses = [("loss", "Training loss",
               "Summed in-batch softmax cross-entropy per training step, epoch mean; it grows with the batch "
               "size, compare loss per example instead."),
              ("regularization_loss", "Regularization loss", "L2 penalty of the towers' weights."),
              ("total_loss", "Total loss", "Training loss plus regularization loss."),
              ("loss_per_example", "Training loss per example",
               "In-batch softmax cross-entropy summed over every row of the epoch, divided by its rows (at the "
               "configuration's batch size: more in-batch negatives give a higher loss).")]
    out = [_metric(name, label, "lower", "loss", "loss", "history", text) for name, label, text in losses]
    out += [_metric(f"val_{name}", label.replace("Training", "Validation") if label.startswith("Training")
                    else f"Validation {label[0].lower()}{label[1:]}", "lower", "loss", "loss", "history",
                    f"{text} On the validation split.") for name, label, text in losses]
    out += [_metric(f"val_recall_at_{k}", f"Validation Recall@{k}", "higher", "rate", "quality", "history",
                    f"Recall@{k} of the validation split after the epoch, every candidate of the corpus ranked "
                    "exactly; a full training stops early on it and keeps its best epoch.") for k in RECALL_KS]
    out.append(_metric("weight_norm", "Weight norm (L2)", "none", "weight", "weights", "history",
                       "L2 norm of every trainable weight of both towers."))
    for tower, tower_label in (("query", "Query tower"), ("candidate", "Candidate tower")):
        out.append(_metric(f"{tower}_weight_norm", f"{tower_label} weight norm (L2)", "none", "weight", "weights",
                           "history"))
        for stat in ("mean", "std", "min", "max"):
            out.append(_metric(f"{tower}_weights_{stat}", f"{tower_label} weights {stat}", "none", "weight",
                               "weights", "history"))
    return out


_CURVE_RANKERS: tuple[tuple[str, str, Direction, Group, str], ...] = (
    ("", "", "higher", "quality", "the model"),
    ("popularity_", "Popularity ", "none", "baseline", "ranking by training popularity"),
)
"""Who the corpus curve ranks for: metric prefix, label prefix, direction, group, description."""

CATALOGUE: tuple[MetricSpec, ...] = (
    *_model_recall(*_VARIANTS[0]),
    _metric("test_loss_per_example", "Test loss per example", "lower", "loss", "loss", "final",
            "In-batch softmax cross-entropy of the test split per test interaction, in batches of 1,024 rows "
            "whatever the configuration's batch size, so that it compares across configurations on one split "
            "(decision 079)."),
    _metric("test_loss", "Test loss (summed per batch)", "none", "loss", "loss", "final",
            "Summed in-batch softmax cross-entropy per batch of the configuration's size on the test split, mean "
            "over batches; it grows with the batch size, so it ranks nothing (rank by test loss per example)."),
    *_model_recall(*_VARIANTS[1]),
    *(m for variant in _VARIANTS for m in _popularity_recall(*variant)),
    *(m for variant in _VARIANTS for m in _recent_popularity_recall(*variant)),
    *(_metric(f"recall_at_{k}_{PER_BUYER}", f"Recall@{k} per buyer", "higher", "rate", "quality", "final",
              f"Mean over test buyers of the share of their test items in the model's top {k}, the buyer's "
              "training and validation items masked (the protocol RecBole and most papers report); test items "
              "the buyer already had are dropped.") for k in RECALL_KS),
    *(_metric(f"popularity_recall_at_{k}_{PER_BUYER}", f"Popularity Recall@{k} per buyer", "none", "rate",
              "baseline", "final", f"Recall@{k} per buyer of ranking by training popularity, same masking.")
      for k in RECALL_KS),
    *(_metric(f"recall_at_{k}_{who}", f"Recall@{k}, {label} buyers", "higher", "rate", "quality", "final",
              f"Recall@{k} (all items, per interaction) of the test interactions whose buyer {how}.")
      for who, label, how in (("known_buyers", "known", "occurs in the training split"),
                              ("cold_buyers", "cold-start", "never occurs in the training split"))
      for k in RECALL_KS),
    *(_metric(f"{who}recall_at_{k}_corpus_{percent}pct", f"{label}Recall@{k}, {percent}% of the corpus", direction,
              "rate", group, "final",
              f"Recall@{k} (all items, per interaction) of {whose}, each test item ranked against a seeded {percent}% "
              "sample of the candidates plus itself: with the other points, how recall falls as the corpus grows.")
      for who, label, direction, group, whose in _CURVE_RANKERS
      for percent in CORPUS_PERCENTS if percent < 100 for k in RECALL_KS),
    _metric("test_cold_buyer_rate", "Cold-start buyers in test", "none", "rate", "protocol", "final",
            "Share of test interactions whose buyer never occurs in the training split (out of its id vocabulary)."),
    _metric("test_cold_item_rate", "Cold-start items in test", "none", "rate", "protocol", "final",
            "Share of test interactions whose item never occurs in the training split."),
    _metric("random_recall_at_100", "Random Recall@100", "none", "rate", "baseline", "recall",
            "Expected Recall@100 of a random ranking: 100 / corpus size."),
    *_history_metrics(),
    _metric("corpus_size", "Candidates ranked", "none", "count", "protocol", "protocol",
            "Every distinct candidate of the interactions table; each test query ranks all of them."),
    _metric("test_interactions", "Test interactions", "none", "count", "protocol", "protocol"),
    _metric("positives_outside_corpus", "Test items outside the corpus", "none", "count", "protocol", "recall"),
    _metric("load_s", "Loading the splits", "none", "seconds", "timing", "timings"),
    _metric("fit_s", "Training", "none", "seconds", "timing", "timings"),
    _metric("evaluate_s", "Evaluation", "none", "seconds", "timing", "timings"),
    _metric("trainer_s", "Trainer step", "none", "seconds", "timing", "timings"),
)
"""Every metric, in display order: the model's before the baselines', all items before excluding training items."""
BY_NAME: dict[str, MetricSpec] = {m.name: m for m in CATALOGUE}
_ORDER = {name: i for i, name in enumerate(BY_NAME)}
PRIMARY_METRIC = "recall_at_100"
REQUIRED_FINAL = ("test_loss", *(f"recall_at_{k}" for k in RECALL_KS), "popularity_recall_at_100")


def spec(name: str) -> MetricSpec:
    """The catalogue entry of ``name``; a name outside the catalogue reads as itself, without direction."""
    known = BY_NAME.get(name)
    if known is not None:
        return known
    return _metric(name, name, "none", "number", "protocol", "final")


def is_known(name: str) -> bool:
    return name in BY_NAME


def display_order(name: str) -> tuple[int, str]:
    """Sort key: catalogue order, then names outside the catalogue alphabetically."""
    return (_ORDER.get(name, len(_ORDER)), name)


def rankable(names: Iterable[str] | None = None) -> list[MetricSpec]:
    """Catalogued metrics with a direction (leaderboard and heatmap choices), of ``names`` when given."""
    chosen = BY_NAME if names is None else {n: BY_NAME[n] for n in names if n in BY_NAME}
    return [m for m in CATALOGUE if m.name in chosen and m.direction != "none" and m.source == "final"]


def catalogue_document() -> dict[str, object]:
    """The catalogue as the API serves it: every metric, in catalogue order, and the groups' order."""
    return {
        "metrics": [m.model_dump(mode="json") for m in CATALOGUE],
        "primary": PRIMARY_METRIC,
        "recall_ks": list(RECALL_KS),
    }


# Number formatting, shared by every ``display``. Rounding is half away from zero on the exact
# binary value, as JavaScript's toFixed / toPrecision do, so that both languages print the same.


def _round(value: float, decimals: int) -> Decimal:
    return Decimal(value).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def _fixed(value: float, decimals: int) -> str:
    return f"{_round(value, decimals):.{decimals}f}"


def _grouped(number: Decimal) -> str:
    text = f"{number:,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def significant(value: float, digits: int = 4) -> str:
    """``digits`` significant digits, thousands separators, no trailing zeros (``0.0342``, ``1,524``)."""
    if value == 0:
        return "0"
    exact = Decimal(value)
    decimals = digits - 1 - exact.adjusted()
    rounded = exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    if rounded.adjusted() > exact.adjusted():
        rounded = exact.quantize(Decimal(1).scaleb(-(decimals - 1)), rounding=ROUND_HALF_UP)
    return _grouped(rounded)


def duration_text(seconds: float) -> str:
    """``45 s``, ``1 min 33 s``, ``2 min``, ``1 h 5 min``."""
    if seconds < 0:
        return ABSENT
    whole = int(_round(seconds, 0))
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"

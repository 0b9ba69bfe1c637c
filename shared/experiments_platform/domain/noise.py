"""How far a number can move by chance: seed-group spread, paired bootstrap, and the verdict (decision 065).

Two sources of noise decide whether one run really beat another:

- **run-to-run** (initialisation and shuffling): a seed group trains one configuration N times on
  the same split with different training seeds; ``spread`` gives its mean ± sample std.
- **which test buyers were drawn**: two runs on the same split rank the same test interactions,
  so their difference can be resampled over buyers (``paired_bootstrap``): each resample draws
  the test buyers with replacement and recomputes both recalls from the same draw; the 2.5th and
  97.5th percentiles of the differences are the 95 % interval. A buyer is the unit (not the
  interaction) because one buyer's interactions succeed or fail together.

``verdict`` turns an interval into better / within noise / worse in the metric's direction.
Every difference of a rate is reported in percentage points (0.473 − 0.461 → 1.2 pp).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import Field, model_validator

from experiments_platform.domain.base import DomainModel

HITS_FILE = "test_hits.json"
"""Per-buyer test hits, written by the trainer beside ``metrics.json``."""
DEFAULT_RESAMPLES = 2000
CONFIDENCE = 0.95
MAX_REPEATS = 10

Verdict = Literal["better", "within_noise", "worse", "unknown"]
VERDICT_TEXT: dict[str, str] = {"better": "better", "within_noise": "within noise", "worse": "worse",
                                "unknown": "no noise estimate"}

_T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
          2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
          2.045, 2.042)


def t_quantile_975(df: int) -> float:
    """Student's t 97.5 % quantile (two-sided 95 %) for ``df`` degrees of freedom (normal beyond 30)."""
    if df < 1:
        raise ValueError("df must be 1 or more")
    return _T_975[df - 1] if df <= len(_T_975) else 1.96


class Spread(DomainModel):
    """Mean ± sample standard deviation of one metric over a seed group; ``ci95`` half-width of the mean."""

    mean: float
    std: float | None = Field(default=None, description="sample std (n − 1); None for a single value")
    n: int = Field(ge=0)
    ci95: float | None = Field(default=None, description="half-width of the 95 % t interval of the mean")
    values: list[float] = Field(default_factory=list)


def spread(values: Sequence[float]) -> Spread | None:
    """Mean, sample std and the 95 % t half-width of the mean; None without values."""
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return None
    n = len(finite)
    mean = math.fsum(finite) / n
    if n == 1:
        return Spread(mean=mean, n=1, values=finite)
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in finite) / (n - 1))
    return Spread(mean=mean, std=std, n=n, ci95=t_quantile_975(n - 1) * std / math.sqrt(n), values=finite)


class HitsVariant(DomainModel):
    """Per buyer (same order as ``BuyerHits.buyers``): test interactions evaluated and hits at each k."""

    interactions: list[int]
    hits: dict[str, list[int]] = Field(description="k → hits per buyer")


class BuyerHits(DomainModel):
    """``test_hits.json``: each test buyer's evaluated interactions and hits, per protocol variant."""

    buyers: list[str]
    variants: dict[str, HitsVariant] = Field(description="all_items, excluding_train_items")

    @model_validator(mode="after")
    def _aligned(self) -> BuyerHits:
        n = len(self.buyers)
        for name, variant in self.variants.items():
            lengths = {len(variant.interactions), *(len(v) for v in variant.hits.values())}
            if lengths != {n}:
                raise ValueError(f"variants.{name}: every list must have one entry per buyer ({n})")
        return self

    def recall(self, variant: str, k: int) -> float:
        v = self.variants[variant]
        total = sum(v.interactions)
        return sum(v.hits[str(k)]) / total if total else 0.0


class PairedInterval(DomainModel):
    """``b − a`` in percentage points, with its paired-bootstrap 95 % interval over test buyers."""

    metric: str
    difference_pp: float
    low_pp: float
    high_pp: float
    buyers: int
    resamples: int
    unmatched_buyers: int = Field(default=0, description="buyers in only one of the runs (left out)")


def paired_bootstrap(a_interactions: Sequence[int], a_hits: Sequence[int], b_interactions: Sequence[int],
                     b_hits: Sequence[int], *, resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
                     confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """``(difference, low, high)`` of recall(b) − recall(a) (fractions), buyers aligned by position.

    Each resample draws buyer indices with replacement; both runs' recalls are computed on that same
    draw (sum of hits / sum of interactions), so what the buyers share cancels out.
    """
    import numpy as np  # only here: the services' images without numpy import this module

    arrays = [np.asarray(x, dtype=np.float64) for x in (a_interactions, a_hits, b_interactions, b_hits)]
    if len({len(x) for x in arrays}) != 1 or not len(arrays[0]):
        raise ValueError("paired_bootstrap needs the same, non-zero number of buyers in both runs")
    a_n, a_h, b_n, b_h = arrays
    if a_n.sum() == 0 or b_n.sum() == 0:
        raise ValueError("paired_bootstrap needs evaluated interactions in both runs")
    difference = b_h.sum() / b_n.sum() - a_h.sum() / a_n.sum()
    rng = np.random.default_rng(seed)
    buyers = len(a_n)
    diffs = np.empty(resamples)
    chunk = max(1, 2_000_000 // buyers)
    for start in range(0, resamples, chunk):
        rows = min(chunk, resamples - start)
        counts = rng.multinomial(buyers, np.full(buyers, 1.0 / buyers), size=rows).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            diffs[start:start + rows] = counts @ b_h / (counts @ b_n) - counts @ a_h / (counts @ a_n)
    diffs = diffs[np.isfinite(diffs)]
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(diffs, [tail, 100 - tail])
    return float(difference), float(low), float(high)


def paired_interval(a: BuyerHits, b: BuyerHits, variant: str, k: int, metric: str, *,
                    resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> PairedInterval:
    """The paired interval of ``b − a`` for one recall metric, buyers matched by id."""
    va, vb = a.variants.get(variant), b.variants.get(variant)
    if va is None or vb is None or str(k) not in va.hits or str(k) not in vb.hits:
        raise ValueError(f"{metric}: both runs need per-buyer hits of variant {variant!r} at k={k}")
    index_b = {buyer: i for i, buyer in enumerate(b.buyers)}
    pairs = [(i, index_b[buyer]) for i, buyer in enumerate(a.buyers) if buyer in index_b]
    if not pairs:
        raise ValueError(f"{metric}: the two runs share no test buyer; they were not evaluated on the same split")
    ia, ib = (list(x) for x in zip(*pairs, strict=True))
    difference, low, high = paired_bootstrap(
        [va.interactions[i] for i in ia], [va.hits[str(k)][i] for i in ia],
        [vb.interactions[i] for i in ib], [vb.hits[str(k)][i] for i in ib], resamples=resamples, seed=seed)
    unmatched = len(a.buyers) + len(b.buyers) - 2 * len(pairs)
    return PairedInterval(metric=metric, difference_pp=difference * 100, low_pp=low * 100, high_pp=high * 100,
                          buyers=len(pairs), resamples=resamples, unmatched_buyers=unmatched)


def interval_from_spreads(a: Spread, b: Spread) -> tuple[float, float, float] | None:
    """Welch's 95 % interval of mean(b) − mean(a) from two seed groups; None unless both have a std."""
    if a.std is None or b.std is None:
        return None
    variance = a.std ** 2 / a.n + b.std ** 2 / b.n
    difference = b.mean - a.mean
    if variance == 0:
        return difference, difference, difference
    df_num = variance ** 2
    df_den = (a.std ** 2 / a.n) ** 2 / (a.n - 1) + (b.std ** 2 / b.n) ** 2 / (b.n - 1)
    df = max(1, int(df_num / df_den)) if df_den else 30
    half = t_quantile_975(df) * math.sqrt(variance)
    return difference, difference - half, difference + half


def verdict(low: float | None, high: float | None, direction: str) -> Verdict:
    """better / worse when the whole interval of ``new − old`` lies on one side of zero, in the metric's
    direction; within noise when it straddles zero; unknown without an interval or a direction."""
    if low is None or high is None or direction not in ("higher", "lower"):
        return "unknown"
    if low > 0:
        return "better" if direction == "higher" else "worse"
    if high < 0:
        return "worse" if direction == "higher" else "better"
    return "within_noise"


def recall_metric_parts(metric: str, excluding_suffix: str) -> tuple[str, int] | None:
    """``recall_at_100`` → ("all_items", 100); ``recall_at_10_<excluding>`` → (excluding, 10); else None."""
    if not metric.startswith("recall_at_"):
        return None
    rest = metric[len("recall_at_"):]
    variant = "all_items"
    if rest.endswith("_" + excluding_suffix):
        rest, variant = rest[: -len(excluding_suffix) - 1], excluding_suffix
    return (variant, int(rest)) if rest.isdigit() else None


def summarize_hits(buyer_ids: Sequence[str], interactions: Mapping[str, Sequence[int]],
                   hits: Mapping[str, Mapping[int, Sequence[int]]]) -> BuyerHits:
    """A ``BuyerHits`` from per-variant lists (what the trainer assembles)."""
    return BuyerHits(buyers=[str(b) for b in buyer_ids], variants={
        name: HitsVariant(interactions=[int(x) for x in interactions[name]],
                          hits={str(k): [int(x) for x in v] for k, v in hits[name].items()})
        for name in interactions})

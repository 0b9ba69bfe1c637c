"""Regenerate the TFDV fixtures in tests/fixtures/tfdv/ with real TFX (pipeline environment).

Runs CsvExampleGen → StatisticsGen → SchemaGen with TFX's LocalDagRunner on the first rows of
MovieLens 100k (joined with its user and item features, as shipped in the recbole 1.2.1 wheel)
and copies exactly the files TFX wrote:

- ``movielens/statistics/Split-{train,eval}/FeatureStats.pb`` (StatisticsGen, binary
  DatasetFeatureStatisticsList),
- ``movielens/schema/schema.pbtxt`` (SchemaGen, text proto),
- ``movielens/legacy_statistics/Split-train/stats_tfrecord`` (the same statistics wrapped in a
  TFRecord, the format of TFX releases before 1.0),
- ``movielens/expected.json``: per split values computed independently with pandas from the
  examples ExampleGen wrote, which the parser tests check the parsed statistics against.

The golden files beside them (``*.golden.json``) are the parser's output, rewritten by running the
tests with ``UPDATE_GOLDEN=1``; they compare floats with a relative tolerance, since TFDV's sums
may differ in the last bits from one run to the next.

Usage (about 40 s on two cores)::

    TF_USE_LEGACY_KERAS=1 .venv-tfx/bin/python scripts/make_tfdv_fixtures.py [--rows 4000]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "tests" / "fixtures" / "tfdv" / "movielens"
WHEEL_PREFIX = "recbole/dataset_example/ml-100k/ml-100k."
STRING_COLUMNS = ("user_id", "item_id", "gender", "occupation", "zip_code", "movie_title", "genres")
INT_COLUMNS = ("rating", "timestamp", "age", "release_year")


def recbole_wheel(cache: Path) -> Path:
    found = sorted(cache.glob("recbole-1.2.1-*.whl"))
    if found:
        return found[0]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "recbole==1.2.1", "-d", str(cache), "-q"], check=True
    )
    return sorted(cache.glob("recbole-1.2.1-*.whl"))[0]


def read_table(wheel: zipfile.ZipFile, kind: str) -> list[list[str]]:
    lines = wheel.read(WHEEL_PREFIX + kind).decode("latin-1").splitlines()
    return [line.split("\t") for line in lines[1:]]


def movielens_rows(wheel_path: Path, rows: int) -> list[dict[str, str]]:
    """The first ``rows`` ratings, each joined with its user's and its item's features."""
    with zipfile.ZipFile(wheel_path) as wheel:
        users = {u[0]: u for u in read_table(wheel, "user")}
        items = {i[0]: i for i in read_table(wheel, "item")}
        ratings = read_table(wheel, "inter")[:rows]
    out = []
    for user_id, item_id, rating, timestamp in ratings:
        _, age, gender, occupation, zip_code = users[user_id]
        _, title, year, genres = items[item_id]
        out.append({
            "user_id": f"u{user_id}",
            "item_id": f"i{item_id}",
            "rating": rating,
            "timestamp": timestamp,
            "age": age,
            "gender": gender,
            "occupation": occupation,
            "zip_code": zip_code,
            "movie_title": title,
            "release_year": year if year.isdigit() else "",
            "genres": genres,
        })
    return out


def write_csv(rows: list[dict[str, str]], folder: Path) -> None:
    import csv

    folder.mkdir(parents=True)
    with open(folder / "ratings.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def run_tfx(csv_dir: Path, root: Path) -> None:
    from tfx import v1 as tfx

    example_gen = tfx.components.CsvExampleGen(input_base=str(csv_dir))
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = tfx.components.SchemaGen(statistics=statistics_gen.outputs["statistics"])
    pipeline = tfx.dsl.Pipeline(
        pipeline_name="tfdv-fixtures",
        pipeline_root=str(root / "pipeline"),
        components=[example_gen, statistics_gen, schema_gen],
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            str(root / "metadata.sqlite")
        ),
    )
    tfx.orchestration.LocalDagRunner().run(pipeline)


def only(pattern: str) -> Path:
    matches = glob.glob(pattern)
    if len(matches) != 1:
        raise RuntimeError(f"expected one match for {pattern}, found {matches}")
    return Path(matches[0])


def read_split(examples_dir: Path):
    import pandas as pd
    import tensorflow as tf

    records = []
    for path in sorted(examples_dir.glob("*.gz")):
        for raw in tf.data.TFRecordDataset(str(path), compression_type="GZIP"):
            example = tf.train.Example.FromString(raw.numpy())
            row = {}
            for name, feature in example.features.feature.items():
                kind = feature.WhichOneof("kind")
                values = list(getattr(feature, kind).value) if kind else []
                row[name] = values[0] if values else None
            records.append(row)
    frame = pd.DataFrame.from_records(records)
    for column in STRING_COLUMNS:
        frame[column] = frame[column].map(lambda v: v.decode("utf-8") if isinstance(v, bytes) else v)
    return frame


def expected_values(frame) -> dict:
    """Statistics computed with pandas, independently of TFDV."""
    total = len(frame)
    out: dict = {"num_examples": total, "numeric": {}, "categorical": {}}
    for column in INT_COLUMNS:
        values = frame[column].dropna().astype(float)
        out["numeric"][column] = {
            "count": int(values.size),
            "missing": int(total - values.size),
            "mean": float(values.mean()),
            "std_dev": float(values.std(ddof=0)),
            "min": float(values.min()),
            "max": float(values.max()),
            "zeros": int((values == 0).sum()),
        }
    for column in STRING_COLUMNS:
        values = frame[column].dropna()
        counts = values.value_counts()
        top = counts.iloc[0]
        out["categorical"][column] = {
            "count": int(values.size),
            "missing": int(total - values.size),
            "unique": int(counts.size),
            "top_count": int(top),
            "top_values_with_top_count": sorted(counts[counts == top].index.tolist()),
            "avg_length": float(values.str.len().mean()),
        }
    return out


def write_legacy_tfrecord(binary_pb: Path, target: Path) -> None:
    import tensorflow as tf

    target.parent.mkdir(parents=True)
    with tf.io.TFRecordWriter(str(target)) as writer:
        writer.write(binary_pb.read_bytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=4000, help="number of MovieLens ratings (default 4000)")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "recbole-wheel")
    args = parser.parse_args()

    args.cache.mkdir(parents=True, exist_ok=True)
    rows = movielens_rows(recbole_wheel(args.cache), args.rows)
    with tempfile.TemporaryDirectory(prefix="tfdv-fixtures-") as tmp:
        work = Path(tmp)
        write_csv(rows, work / "csv")
        run_tfx(work / "csv", work)
        pipeline = work / "pipeline"
        statistics = only(f"{pipeline}/StatisticsGen/statistics/*")
        schema = only(f"{pipeline}/SchemaGen/schema/*/schema.pbtxt")
        examples = only(f"{pipeline}/CsvExampleGen/examples/*")

        for generated in ("statistics", "schema", "legacy_statistics"):
            shutil.rmtree(OUT / generated, ignore_errors=True)
        for split_dir in sorted(statistics.glob("Split-*")):
            target = OUT / "statistics" / split_dir.name
            target.mkdir(parents=True)
            shutil.copy2(split_dir / "FeatureStats.pb", target / "FeatureStats.pb")
        (OUT / "schema").mkdir(parents=True)
        shutil.copy2(schema, OUT / "schema" / "schema.pbtxt")
        write_legacy_tfrecord(
            statistics / "Split-train" / "FeatureStats.pb", OUT / "legacy_statistics" / "Split-train" / "stats_tfrecord"
        )
        expected = {
            "source": f"MovieLens 100k (recbole 1.2.1 wheel), first {args.rows} ratings with user and item features",
            "splits": {
                split_dir.name[len("Split-"):]: expected_values(read_split(split_dir))
                for split_dir in sorted(examples.glob("Split-*"))
            },
        }
        (OUT / "expected.json").write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n")
    print(f"fixtures written to {OUT}")


if __name__ == "__main__":
    main()

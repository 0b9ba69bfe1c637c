"""Refit the launch-estimate constants (shared/experiments_platform/domain/estimates.json) from measured runs.

Inputs, any mix of:

- ``--quicktest FILE``: the output of ``benchmarks/quicktest.py`` (its last line is one JSON object
  with ``stages`` and ``tutorial_stages``: seconds per TFX component; ``compile_s``; ``rows`` or
  ``protocol.rows``, else ``--rows``; epochs and train share from ``--epochs``/``--train-fraction``,
  the quick-test protocol by default). Warm runs (``"case": "warm"``) are skipped: their cached data
  stages say nothing about cost.
- ``--measure-data-stages ROWS...``: runs CsvExampleGen → StatisticsGen → SchemaGen → Transform (a
  vocabulary and z-score preprocessing like the platform's) with TFX's LocalDagRunner on the first
  ROWS ratings of MovieLens 100k in the pipeline environment, timing each component from ML Metadata.
- the runs already stored in the constants file (unless ``--forget-stored-runs``).

Each stage is fitted as ``fixed_s + per_unit_s × thousands of units`` by least squares with both
terms kept non-negative; a stage whose runs all have the same size keeps its fixed part and fits
only the slope. Prints the new calibration; ``--write`` stores it.

    .venv/bin/python benchmarks/calibrate_estimates.py --measure-data-stages 5000 25000 100000 --write
    .venv/bin/python benchmarks/calibrate_estimates.py --quicktest var/quicktest-cold.txt --write
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CONSTANTS = REPO / "shared" / "experiments_platform" / "domain" / "estimates.json"
TFX_PYTHON = Path(os.environ.get("PLATFORM_TFX_PYTHON", REPO / ".venv-tfx" / "bin" / "python"))
PROXY_SOURCE = (
    "measured here: TFX 1.16 LocalDagRunner, MovieLens 100k first {rows} ratings, proxy Transform, CPU seconds"
)


def preprocessing_fn(inputs: dict[str, Any]) -> dict[str, Any]:
    """The Transform of the measurement runs: vocabularies for ids and categoricals, z-scores."""
    import tensorflow as tf
    import tensorflow_transform as tft

    outputs = {}
    for key in ("user_id", "item_id", "gender", "occupation", "zip_code"):
        outputs[key] = tft.compute_and_apply_vocabulary(inputs[key], num_oov_buckets=1, vocab_filename=key)
    for key in ("age", "timestamp", "rating"):
        outputs[key] = tft.scale_to_z_score(tf.cast(inputs[key], tf.float32))
    return outputs


def _cpu_seconds() -> float:
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _measure_child(rows: int) -> None:
    """Runs inside the pipeline environment; prints one JSON line of component seconds.

    The pipeline runs once per prefix of its components with TFX caching on, so that each run
    executes one new component: its CPU seconds (user + system, all threads) are that component's
    time. CPU time does not grow when other work shares the machine, unlike wall time; on an idle
    machine a component's wall time is at most its CPU time (less where it runs threads in parallel).
    """
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    sys.path[:0] = [str(REPO / "scripts"), str(Path(__file__).parent)]
    from make_tfdv_fixtures import movielens_rows, recbole_wheel, write_csv
    from ml_metadata.metadata_store import metadata_store
    from tfx import v1 as tfx

    cache = Path(tempfile.gettempdir()) / "recbole-wheel"
    cache.mkdir(parents=True, exist_ok=True)
    data = movielens_rows(recbole_wheel(cache), rows)
    with tempfile.TemporaryDirectory(prefix="calibrate-") as tmp:
        work = Path(tmp)
        write_csv(data, work / "csv")
        example_gen = tfx.components.CsvExampleGen(input_base=str(work / "csv"))
        statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
        schema_gen = tfx.components.SchemaGen(statistics=statistics_gen.outputs["statistics"])
        transform = tfx.components.Transform(
            examples=example_gen.outputs["examples"],
            schema=schema_gen.outputs["schema"],
            preprocessing_fn="calibrate_estimates.preprocessing_fn",
        )
        metadata = tfx.orchestration.metadata.sqlite_metadata_connection_config(str(work / "metadata.sqlite"))
        components = [example_gen, statistics_gen, schema_gen, transform]
        started = time.monotonic()
        stages = {}
        for count in range(1, len(components) + 1):
            pipeline = tfx.dsl.Pipeline(
                pipeline_name="calibrate-estimates",
                pipeline_root=str(work / "pipeline"),
                components=components[:count],
                metadata_connection_config=metadata,
                enable_cache=True,
            )
            before = _cpu_seconds()
            tfx.orchestration.LocalDagRunner().run(pipeline)
            stages[type(components[count - 1]).__name__] = round(_cpu_seconds() - before, 3)
        wall = time.monotonic() - started
        store = metadata_store.MetadataStore(metadata)
        names = {t.id: t.name.rsplit(".", 1)[-1] for t in store.get_execution_types()}
        wall_stages = {
            names[e.type_id]: (e.last_update_time_since_epoch - e.create_time_since_epoch) / 1000
            for e in store.get_executions()
            if e.last_known_state == e.COMPLETE
        }
    record = {"source": PROXY_SOURCE.format(rows=rows), "rows": rows, "wall_s": wall, "stages": stages,
              "wall_stages": wall_stages}
    print(json.dumps(record))


def measure_data_stages(rows: int, repeat: int) -> dict[str, Any]:
    """The smallest time of each component over ``repeat`` runs."""
    records = []
    for _ in range(repeat):
        load_before = os.getloadavg()[0]
        completed = subprocess.run(
            [str(TFX_PYTHON), __file__, "--_measure-child", str(rows)],
            capture_output=True, text=True, check=False, cwd=REPO,
        )
        if completed.returncode != 0:
            raise SystemExit(f"measuring {rows} rows failed:\n{completed.stderr[-4000:]}")
        record = json.loads(completed.stdout.strip().splitlines()[-1])
        record["load"] = (load_before, os.getloadavg()[0])
        print(f"measured {rows} rows (1-min load {record['load'][0]:.1f} → {record['load'][1]:.1f}): "
              f"CPU {json.dumps(record['stages'])}, wall {json.dumps(record['wall_stages'])}", file=sys.stderr)
        records.append(record)
    best = {name: min(r["stages"][name] for r in records) for name in records[0]["stages"]}
    loads = [value for r in records for value in r["load"]]
    source = f"{records[0]['source']}, fastest of {repeat}, 1-min load {min(loads):.1f}-{max(loads):.1f}"
    return {"source": source, "rows": rows, "stages": best}


def last_json_line(path: Path) -> dict[str, Any]:
    for line in reversed(path.read_text().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise SystemExit(f"{path}: no JSON line found (expected benchmarks/quicktest.py output)")


def stage_seconds(stages: dict[str, Any]) -> dict[str, float]:
    """Component or stage names → seconds per stage (components of one stage are added up)."""
    from experiments_platform.domain.status import COMPONENT_STAGES, Stage

    out: dict[str, float] = {}
    for name, value in stages.items():
        seconds = float(value["wall_s"] if isinstance(value, dict) else value)
        stage = COMPONENT_STAGES.get(name) or next((s for s in Stage if s.value == name.lower()), None)
        if stage is None:
            print(f"ignoring unknown stage {name!r}", file=sys.stderr)
            continue
        out[stage.value] = out.get(stage.value, 0.0) + seconds
    return out


def run_from(
    record: dict[str, Any], args: argparse.Namespace, source: str, stages_key: str = "stages"
) -> dict[str, Any]:
    """One calibration run from a measurement record (``rows`` or ``protocol.rows``; ``compile_s`` as Compile)."""
    protocol = record.get("protocol") or {}
    stages = stage_seconds(record[stages_key])
    if "compile" not in stages and stages_key == "stages" and "compile_s" in record:
        stages["compile"] = float(record["compile_s"])
    return {
        "source": record.get("source", source),
        "rows": int(record.get("rows") or protocol.get("rows") or args.rows),
        "epochs": int(record.get("epochs", args.epochs)),
        "train_fraction": float(record.get("train_fraction", args.train_fraction)),
        "model_cost_ratio": float(record.get("model_cost_ratio", 1.0)),
        "stages": stages,
    }


def quicktest_runs(path: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """The cold runs of one ``benchmarks/quicktest.py`` output: the default model's and the tutorial's."""
    record = last_json_line(path)
    if record.get("warm") or record.get("case") == "warm":
        print(f"skipping warm run {path}", file=sys.stderr)
        return []
    source = f"benchmarks/quicktest.py ({path.name}"
    runs = [run_from(record, args, source=f"{source}, default model)")]
    if "tutorial_stages" in record:
        runs.append(run_from(record, args, source=f"{source}, tutorial model)", stages_key="tutorial_stages"))
    return runs


def fit_line(points: list[tuple[float, float]], prior_fixed: float) -> tuple[float, float]:
    """Least-squares ``t = a + b·x`` with a, b ≥ 0; one distinct x keeps ``a = prior_fixed``."""
    xs = [x for x, _ in points]
    if len(set(xs)) < 2:
        mean_x = sum(xs) / len(xs)
        mean_t = sum(t for _, t in points) / len(points)
        fixed = min(prior_fixed, mean_t)
        return fixed, max(0.0, (mean_t - fixed) / mean_x) if mean_x else 0.0
    n = len(points)
    mean_x = sum(xs) / n
    mean_t = sum(t for _, t in points) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (t - mean_t) for x, t in points) / sxx
    if slope < 0:
        return mean_t, 0.0
    fixed = mean_t - slope * mean_x
    if fixed < 0:
        slope = sum(x * t for x, t in points) / sum(x * x for x in xs)
        return 0.0, slope
    return fixed, slope


def units(run: dict[str, Any], stage: str) -> float:
    if stage == "train":
        return run["rows"] * run["train_fraction"] * run["epochs"] * run["model_cost_ratio"] / 1000
    if stage == "compile":
        return 0.0
    return run["rows"] / 1000


def refit(constants: dict[str, Any], runs: list[dict[str, Any]]) -> dict[str, Any]:
    calibration = dict(constants["calibration"])
    stages = dict(calibration["stages"])
    for stage, prior in stages.items():
        points = [(units(run, stage), run["stages"][stage]) for run in runs if stage in run["stages"]]
        if stage == "train":
            points = [p for p in points if p[0] > 0]
        if not points:
            continue
        if stage == "compile":
            stages[stage] = {"fixed_s": round(sum(t for _, t in points) / len(points), 3), "per_unit_s": 0.0}
            continue
        fixed, slope = fit_line(points, prior["fixed_s"])
        stages[stage] = {"fixed_s": round(fixed, 3), "per_unit_s": round(slope, 5)}
    calibration.update(stages=stages, runs=runs, fitted_at=date.today().isoformat())
    return {**constants, "calibration": calibration}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quicktest", type=Path, nargs="*", default=[], help="benchmarks/quicktest.py outputs")
    parser.add_argument("--measure-data-stages", type=int, nargs="*", default=[], metavar="ROWS")
    parser.add_argument("--repeat", type=int, default=1, help="measurements per size; the fastest counts")
    parser.add_argument("--rows", type=int, default=100_000, help="rows of a quick-test run without 'rows'")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of a quick-test run without 'epochs'")
    parser.add_argument("--train-fraction", type=float, default=0.8)
    parser.add_argument("--forget-stored-runs", action="store_true")
    parser.add_argument("--write", action="store_true", help=f"store the result in {CONSTANTS.relative_to(REPO)}")
    parser.add_argument("--_measure-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._measure_child:
        _measure_child(args._measure_child)
        return

    sys.path.insert(0, str(REPO / "shared"))
    constants = json.loads(CONSTANTS.read_text())
    runs = [] if args.forget_stored_runs else list(constants["calibration"]["runs"])
    for path in args.quicktest:
        runs.extend(quicktest_runs(path, args))
    for rows in args.measure_data_stages:
        record = measure_data_stages(rows, args.repeat)
        runs.append(run_from(record, args, source=record["source"]))
    if not runs:
        raise SystemExit("no runs: pass --quicktest or --measure-data-stages")
    updated = refit(constants, runs)

    from experiments_platform.domain.estimates import EstimateConstants

    EstimateConstants.model_validate(updated)
    text = json.dumps(updated, indent=2, ensure_ascii=False) + "\n"
    if args.write:
        CONSTANTS.write_text(text)
        print(f"wrote {CONSTANTS.relative_to(REPO)}", file=sys.stderr)
    print(json.dumps(updated["calibration"]["stages"], indent=2))


if __name__ == "__main__":
    main()

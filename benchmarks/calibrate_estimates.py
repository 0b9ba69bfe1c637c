"""Refit the launch-estimate constants (shared/experiments_platform/domain/estimates.json) from measured runs.

Inputs, any mix of:

- ``--quicktest FILE...``: outputs of ``benchmarks/quicktest.py`` (its last line is one JSON object
  with ``stages`` and ``tutorial_stages``: seconds per TFX component, ``compile_s``, and
  ``protocol.rows``: rows per split). Warm runs (``"case": "warm"``) are skipped: their cached data
  stages say nothing about cost.
- ``--measure SAMPLE_PERCENT...``: runs the product's quick test (the local build and pipeline
  runners of ``benchmarks/quicktest.py``: compile, then ExampleGen → StatisticsGen → SchemaGen →
  Transform → Trainer → Evaluator on MovieLens 100k, the platform's default model, 3 epochs) once
  per sample percentage (5, 10, 25 or 100), so that the stages are measured at several sizes.
- the runs already stored in the constants file (unless ``--forget-stored-runs``).

Stage times are wall times from the pipeline's task events: measure on a quiet machine (each run
records the 1-minute load average before and after it). The pipeline's wall time outside its
components (process start, imports, hand-offs; ``pipeline_s`` minus the stages) is kept as
``overhead_s`` and its mean becomes ``pipeline_overhead_s``, added to local estimates. Each stage is fitted as
``fixed_s + per_unit_s × thousands of units`` by least squares with both terms kept non-negative;
a stage whose runs all have the same size keeps its fixed part and fits only the slope. Prints the
new calibration; ``--write`` stores it.

    .venv/bin/python benchmarks/calibrate_estimates.py --measure 10 25 --quicktest var/quicktest-cold.txt --write
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CONSTANTS = REPO / "shared" / "experiments_platform" / "domain" / "estimates.json"
TFX_PYTHON = Path(os.environ.get("PLATFORM_TFX_PYTHON", REPO / ".venv-tfx" / "bin" / "python"))


def _measure_child(sample_percent: int) -> None:
    """Runs inside the pipeline environment: one cold quick test; prints one JSON line."""
    sys.path.insert(0, str(Path(__file__).parent))
    import quicktest

    quicktest.PARAMETERS = quicktest.PARAMETERS.model_copy(update={"sample_percent": sample_percent})
    data_dir = REPO / "var"
    quicktest.movielens_dataset(data_dir)
    with tempfile.TemporaryDirectory(prefix="calibrate-") as scratch:
        base = Path(scratch)
        uri, server = quicktest.start_mlflow(base)
        try:
            load_before = os.getloadavg()[0]
            runners = quicktest.Runners(base / "run")
            try:
                result = quicktest.run_once(runners, base / "run", data_dir, "default", uri, "calibrate")
            finally:
                runners.close()
            load_after = os.getloadavg()[0]
        finally:
            server.terminate()
            server.wait(timeout=30)
    rows = result["protocol"]["rows"]
    print(json.dumps({
        "source": f"measured here: quick test, MovieLens 100k {sample_percent} % sample, default model, 3 epochs, "
                  f"1-min load {load_before:.1f}-{load_after:.1f}",
        "protocol": {"rows": rows},
        "compile_s": result["compile_s"],
        "pipeline_s": result["pipeline_s"],
        "stages": {name: info["seconds"] for name, info in result["stages"].items()},
    }))


def measure(sample_percent: int) -> dict[str, Any]:
    completed = subprocess.run(
        [str(TFX_PYTHON), __file__, "--_measure-child", str(sample_percent)],
        capture_output=True, text=True, check=False, cwd=REPO,
        env={**os.environ, "TF_USE_LEGACY_KERAS": "1"},
    )
    if completed.returncode != 0:
        raise SystemExit(f"measuring a {sample_percent} % quick test failed:\n{completed.stderr[-4000:]}")
    record = json.loads(completed.stdout.strip().splitlines()[-1])
    print(f"{record['source']}: compile {record['compile_s']} s, {json.dumps(record['stages'])}", file=sys.stderr)
    return record


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
    """One calibration run from a measurement record.

    Rows: ``rows`` or ``protocol.rows`` (a number, or rows per split whose train share then gives
    the train fraction), else ``--rows``. ``compile_s`` counts as the Compile stage.
    """
    rows: Any = record.get("rows") or (record.get("protocol") or {}).get("rows") or args.rows
    train_fraction = float(record.get("train_fraction", args.train_fraction))
    if isinstance(rows, dict):
        total = sum(int(v) for v in rows.values())
        train_fraction = int(rows.get("train", 0)) / total if rows.get("train") else train_fraction
        rows = total
    stages = stage_seconds(record[stages_key])
    run: dict[str, Any] = {
        "source": record.get("source", source),
        "rows": int(rows),
        "epochs": int(record.get("epochs", args.epochs)),
        "train_fraction": round(train_fraction, 4),
        "model_cost_ratio": float(record.get("model_cost_ratio", 1.0)),
        "stages": stages,
    }
    if stages_key == "stages" and "pipeline_s" in record:
        in_components = sum(seconds for stage, seconds in stages.items() if stage != "compile")
        run["overhead_s"] = round(max(0.0, float(record["pipeline_s"]) - in_components), 2)
    if "compile" not in stages and stages_key == "stages" and "compile_s" in record:
        stages["compile"] = float(record["compile_s"])
    return run


def quicktest_runs(path: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """The cold runs of one ``benchmarks/quicktest.py`` output: the default model's and the tutorial's."""
    record = last_json_line(path)
    if "cases" in record:  # the anchor-side output: one run per cold case (first, cold, loaded); warm skipped
        loads = record.get("load_average") or {}
        return [run_from({**case, "protocol": record.get("protocol") or {}}, args,
                         source=f"benchmarks/quicktest.py ({path.name}, {name} case, load {loads.get(name)})")
                for name, case in record["cases"].items() if name != "warm"]
    if record.get("warm") or record.get("case") == "warm":
        print(f"skipping warm run {path}", file=sys.stderr)
        return []
    source = f"benchmarks/quicktest.py ({path.name}"
    runs = [run_from(record, args, source=f"{source}, default model)")]
    if "tutorial_stages" in record:
        runs.append(run_from(record, args, source=f"{source}, tutorial model)", stages_key="tutorial_stages"))
    return runs


def fit_line(points: list[tuple[float, float]], prior_fixed: float) -> tuple[float, float]:
    """The domain's fit (``estimate_learning.fit_line``), the one a deployment refits with as runs complete."""
    sys.path.insert(0, str(REPO / "shared"))
    from experiments_platform.domain.estimate_learning import fit_line as domain_fit_line

    return domain_fit_line(points, prior_fixed)


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
    overheads = [run["overhead_s"] for run in runs if run.get("overhead_s") is not None]
    if overheads:
        calibration["pipeline_overhead_s"] = round(sum(overheads) / len(overheads), 2)
    calibration.update(stages=stages, runs=runs, fitted_at=date.today().isoformat())
    return {**constants, "calibration": calibration}


def evaluate(constants: dict[str, Any], runs: list[dict[str, Any]]) -> float:
    """Leave one out: each run estimated by the deployment's learning (``estimate_learning``) from the
    others, as if it had been launched last; prints each error and the median absolute error."""
    import statistics

    from experiments_platform.domain.estimate_learning import leave_one_out
    from experiments_platform.domain.estimates import CalibrationRun, EstimateConstants

    typed = [CalibrationRun.model_validate(run) for run in runs]
    static = EstimateConstants.model_validate(constants)
    errors = []
    for run, estimated, actual in leave_one_out(typed, static):
        error = (estimated - actual) / actual
        errors.append(abs(error))
        print(f"{run.source}: estimated {estimated:.1f} s, actual {actual:.1f} s, error {error:+.0%}", file=sys.stderr)
    median = statistics.median(errors)
    print(f"median absolute error over {len(errors)} runs: {median:.0%} (target 25 %)", file=sys.stderr)
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quicktest", type=Path, nargs="*", default=[], help="benchmarks/quicktest.py outputs")
    parser.add_argument("--measure", type=int, nargs="*", default=[], metavar="SAMPLE_PERCENT",
                        choices=[5, 10, 25, 100], help="run a cold quick test at each sample percentage")
    parser.add_argument("--rows", type=int, default=100_000, help="rows of a run that does not say")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of a run that does not say")
    parser.add_argument("--train-fraction", type=float, default=0.8)
    parser.add_argument("--forget-stored-runs", action="store_true")
    parser.add_argument("--write", action="store_true", help=f"store the result in {CONSTANTS.relative_to(REPO)}")
    parser.add_argument("--evaluate", action="store_true",
                        help="estimate each run from the others (leave one out) and print the errors and their median")
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
    for sample_percent in args.measure:
        record = measure(sample_percent)
        runs.append(run_from(record, args, source=record["source"]))
    if not runs:
        raise SystemExit("no runs: pass --quicktest or --measure")
    updated = refit(constants, runs)
    if args.evaluate:
        evaluate(constants, runs)

    from experiments_platform.domain.estimates import EstimateConstants

    EstimateConstants.model_validate(updated)
    text = json.dumps(updated, indent=2, ensure_ascii=False) + "\n"
    if args.write:
        CONSTANTS.write_text(text)
        print(f"wrote {CONSTANTS.relative_to(REPO)}", file=sys.stderr)
    print(json.dumps(updated["calibration"]["stages"], indent=2))


if __name__ == "__main__":
    main()

"""Where a quick test's time goes: each stage of one MovieLens 100k quick test under pyinstrument.

    .venv-tfx/bin/python benchmarks/profile_quicktest.py [--out DIR] [--warm]

In this one process (no pipeline worker): the worker's imports, each timed (``PRELOAD``, in its
order, so a module's time excludes what earlier ones imported), the compile step, then every
component of the pipeline, each under its own pyinstrument profiler (all threads' Python frames
sampled every millisecond; time in C++ shows under the Python frame that called it), and its CPU
seconds (all threads of the process: on a loaded machine far steadier than wall time). The
benchmark protocol of ``benchmarks/quicktest.py`` (default model, cold pipeline root; ``--warm``
runs it a second time on the cached data stages with another experiment id). Writes
``{out}/{stage}.txt`` (pyinstrument's call tree) and ``{out}/{stage}.html``, prints per stage its
wall time and its heaviest frames, and, last, one JSON line with the imports, compile and stage
seconds and the load average.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from experiments_platform.pipeline.worker import PRELOAD  # noqa: E402


def timed_imports() -> dict[str, float]:
    seconds = {}
    for name in PRELOAD:
        started = time.perf_counter()
        importlib.import_module(name)
        seconds[name] = round(time.perf_counter() - started, 3)
    return seconds


def heaviest(session: Any, count: int = 12) -> list[tuple[float, str]]:
    """Frames by their own time (not their callees'), the largest first: what the stage spends on."""
    own: dict[str, float] = {}
    stack = list(session.root_frame().children) if session.root_frame() else []
    while stack:
        frame = stack.pop()
        stack.extend(frame.children)
        if frame.total_self_time == 0 or frame.function == "[self]":
            continue
        key = f"{frame.function} ({Path(frame.file_path or '?').name}:{frame.line_no})"
        own[key] = own.get(key, 0.0) + frame.total_self_time
    return sorted(((round(t, 3), k) for k, t in own.items()), reverse=True)[:count]


class StageProfiler:
    """The task-event callback of one run: times each component, under its own profiler unless ``plain``."""

    def __init__(self, run: str, out: Path, plain: bool, stages: dict[str, dict[str, float]],
                 load: list[float]) -> None:
        self.run, self.out, self.plain, self.stages, self.load = run, out, plain, stages, load
        self.profilers: dict[str, Any] = {}
        self.clock: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def __call__(self, event: dict[str, Any]) -> None:
        component, state = event["component"], event["state"]
        if state == "RUNNING":
            self.clock[component] = time.perf_counter()
            self.cpu[component] = time.process_time()
            if not self.plain:
                from pyinstrument import Profiler

                self.profilers[component] = Profiler(interval=0.001, async_mode="disabled")
                self.profilers[component].start()
            return
        seconds = time.perf_counter() - self.clock[component]
        cpu = time.process_time() - self.cpu[component]
        self.stages.setdefault(self.run, {})[component] = round(seconds, 2)
        self.stages.setdefault(f"{self.run}_cpu", {})[component] = round(cpu, 2)
        print(f"== {self.run} {component}: {seconds:.2f} s, {cpu:.2f} s of CPU ({state})", flush=True)
        self.load.append(os.getloadavg()[0])
        if self.plain:
            return
        profiler = self.profilers[component]
        session = profiler.stop()
        name = f"{self.run}-{component}"
        (self.out / f"{name}.txt").write_text(profiler.output_text(unicode=True, show_all=False))
        (self.out / f"{name}.html").write_text(profiler.output_html())
        print("   heaviest own time:")
        for own, frame in heaviest(session):
            print(f"   {own:7.3f} s  {frame}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("var/profiles"))
    parser.add_argument("--data-dir", type=Path, default=ROOT / "var")
    parser.add_argument("--warm", action="store_true", help="also profile a model-only change on cached data stages")
    parser.add_argument("--mlflow-uri", default=os.environ.get("QT_BENCH_MLFLOW_URI"))
    parser.add_argument("--plain", action="store_true",
                        help="time the stages only (to run under py-spy, whose overhead is far lower)")
    parser.add_argument("--beam-args", default=None,
                        help="comma-separated Beam arguments instead of LOCAL_BEAM_ARGS (to measure one of them)")
    args = parser.parse_args()
    load = [os.getloadavg()[0]]
    imports = timed_imports()
    from experiments_platform.pipeline import definition
    from experiments_platform.pipeline.compile import compile_local
    from experiments_platform.pipeline.run_local import run_compiled
    from quicktest import make_spec, start_mlflow

    if args.beam_args is not None:
        definition.LOCAL_BEAM_ARGS = tuple(a for a in args.beam_args.split(",") if a)
    args.out.mkdir(parents=True, exist_ok=True)
    stages: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="qt-profile-") as scratch:
        work = Path(scratch)
        uri, server = (args.mlflow_uri, None) if args.mlflow_uri else start_mlflow(work)
        try:
            for run, model in (("cold", "default"), ("warm", "tutorial"))[:2 if args.warm else 1]:
                spec = make_spec(work, args.data_dir, model, uri)
                started = time.perf_counter()
                ir = compile_local(spec)
                compile_s = time.perf_counter() - started
                on_task = StageProfiler(run, args.out, args.plain, stages, load)
                run_compiled(ir, work / "logs" / run, work / "artifacts" / run / "artifacts.json", on_task=on_task)
                stages.setdefault(run, {})["compile"] = round(compile_s, 2)
        finally:
            if server:
                server.terminate()
                server.wait(timeout=30)
    print(json.dumps({"imports_s": round(sum(imports.values()), 2), "imports": imports, "stages": stages,
                      "beam_args": list(definition.LOCAL_BEAM_ARGS), "load_average": [round(x, 2) for x in load]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

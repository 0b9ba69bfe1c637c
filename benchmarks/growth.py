"""Growth benchmark: quick tests on the synthetic B2B data at growing sizes; time and memory per stage.

    .venv-tfx/bin/python benchmarks/growth.py                                   # 100k and 1M, 10 % and 100 %
    .venv-tfx/bin/python benchmarks/growth.py --sizes 100000,1000000,10000000 --samples 10,100

For each size the generator (``data/synthetic_b2b.py``, seed 7) writes the transactions with
``size / 50`` buyers and ``size / 1000`` products (at least its defaults, 2,000 and 500), once per
size (kept under ``{data-dir}/warehouse/growth_{size}``). Each (size, sample) pair is one quick
test through the product's local build and pipeline runners (``benchmarks/quicktest.py``), on a
new pipeline root and a pre-imported worker: customer and product id embeddings (32-d), random
80/10/10 split, the platform default model (3 epochs, batch 1024). Per stage: wall time (task
events) and the largest resident set of the pipeline worker while the stage ran (sampled every
0.2 s); per run the largest resident set of any worker process. Prints one JSON line per run and,
last, one JSON object holding them all with the load averages.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from experiments_platform.adapters.local_workers import WORKER_MODULE  # noqa: E402
from experiments_platform.data.synthetic_b2b import B2BConfig, synthetic_b2b_dataset  # noqa: E402
from experiments_platform.domain.features import FeatureConfig  # noqa: E402
from experiments_platform.domain.model import ModelConfig  # noqa: E402
from experiments_platform.domain.pipeline_spec import (  # noqa: E402
    ArtifactUris,
    MlflowTarget,
    QuickTestSpec,
    SplitQueries,
    data_pipeline_name,
)
from experiments_platform.sql import render_split_queries  # noqa: E402
from quicktest import PARAMETERS, Runners, run_spec, start_mlflow  # noqa: E402

FEATURES = FeatureConfig(
    name="b2b ids",
    query_features=[{"kind": "id", "column": "customer_id", "embedding_dim": 32}],
    candidate_features=[{"kind": "id", "column": "product_id", "embedding_dim": 32}],
)
MODEL = ModelConfig(name="platform default", query_tower_layers=[], candidate_tower_layers=[], optimizer="adagrad",
                    learning_rate=0.1, epochs=3, batch_size=1024, sampling_bias_correction=True)
LIMIT_GIB = 2.0
TARGET_1M_S = 90.0


class ProcessMemory:
    """Samples every pipeline worker's resident set (pid → [(time, bytes)]) until stopped."""

    def __init__(self, every_s: float = 0.2) -> None:
        self.samples: dict[int, list[tuple[float, int]]] = {}
        self.every_s = every_s
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.page = os.sysconf("SC_PAGE_SIZE")

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            now = time.time()
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    if WORKER_MODULE.encode() not in (entry / "cmdline").read_bytes():
                        continue
                    rss = int((entry / "statm").read_text().split()[1]) * self.page
                except (OSError, IndexError, ValueError):
                    continue
                self.samples.setdefault(int(entry.name), []).append((now, rss))

    def peak(self, began: float = 0.0, ended: float = float("inf")) -> int:
        """The largest resident set of one worker process between ``began`` and ``ended``."""
        return max((rss for series in self.samples.values() for when, rss in series if began <= when <= ended),
                   default=0)

    def __enter__(self) -> ProcessMemory:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.thread.join()


def make_spec(work: Path, data_dir: Path, size: int, sample: int, mlflow_uri: str) -> tuple[QuickTestSpec, float]:
    started = time.monotonic()
    config = B2BConfig(transactions=size, buyers=max(2000, size // 50), products=max(500, size // 1000))
    dataset = synthetic_b2b_dataset(data_dir, config, folder=f"growth_{size}")
    generated_s = time.monotonic() - started
    parameters = PARAMETERS.model_copy(update={"sample_percent": sample})
    queries = SplitQueries.from_rendered(render_split_queries(dataset, FEATURES, parameters, "duckdb"))
    name = data_pipeline_name(dataset.id, queries)
    experiment_id = f"growth{size}s{sample}"
    spec = QuickTestSpec(
        experiment_id=experiment_id, experiment_number=1, pipeline_name=name, dataset_id=dataset.id,
        queries=queries, query_id_column="customer_id", candidate_id_column="product_id", features=FEATURES,
        model=MODEL, parameters=parameters, pipeline_root=(work / "pipelines" / experiment_id / name).as_uri(),
        artifacts=ArtifactUris.under((work / "artifacts").as_uri(), experiment_id),
        mlflow=MlflowTarget(tracking_uri=mlflow_uri, experiment_name="growth", run_name=experiment_id),
    )
    path = work / "artifacts" / "experiments" / experiment_id / "spec.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(spec.to_json())
    return spec, generated_s


def measure(runners: Runners, work: Path, data_dir: Path, size: int, sample: int, uri: str,
            memory: ProcessMemory) -> dict:
    spec, generated_s = make_spec(work, data_dir, size, sample, uri)
    waited = runners.wait_for_spare()
    started = time.time()
    result = run_spec(runners, work, spec)
    stages = {name: {"seconds": info["seconds"],
                     "peak_gib": round(memory.peak(info["began"], info["ended"]) / 2**30, 2)}
              for name, info in result["stages"].items()}
    peak = memory.peak(started, time.time()) / 2**30
    record = {
        "transactions": size, "sample_percent": sample, "rows": result["protocol"]["rows"],
        "wall_s": result["wall_s"], "compile_s": result["compile_s"], "pipeline_s": result["pipeline_s"],
        "stages": stages, "peak_process_gib": round(peak, 2), "within_limit": peak <= LIMIT_GIB,
        "trainer_timings": result["trainer_timings"], "recall_at_100": result["final"].get("recall_at_100"),
        "load_average": result["load_average"], "load_after": round(os.getloadavg()[0], 2),
        "generate_s": round(generated_s, 1), "waited_for_spare_s": waited,
    }
    print(json.dumps(record), flush=True)
    return record


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated transaction counts")
    parser.add_argument("--samples", default="10,100", help="comma-separated sample percentages")
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[1] / "var")
    parser.add_argument("--mlflow-uri", default=os.environ.get("QT_BENCH_MLFLOW_URI"))
    args = parser.parse_args()
    try:
        sizes = [int(x) for x in args.sizes.split(",") if x]
        samples = [int(x) for x in args.samples.split(",") if x]
    except ValueError:
        parser.error("--sizes and --samples: comma-separated whole numbers, e.g. --sizes 100000,1000000")
    records = []
    with tempfile.TemporaryDirectory(prefix="growth-") as scratch:
        base = Path(scratch)
        uri, server = (args.mlflow_uri, None) if args.mlflow_uri else start_mlflow(base)
        runners = Runners(base)
        try:
            with ProcessMemory() as memory:
                for size in sizes:
                    for sample in samples:
                        records.append(measure(runners, base, args.data_dir, size, sample, uri, memory))
        finally:
            runners.close()
            if server:
                server.terminate()
                server.wait(timeout=30)
    one_million = [r for r in records if r["transactions"] == 1_000_000 and r["sample_percent"] == 100]
    print(json.dumps({
        "runs": records,
        "target_1m_100pct": {"wall_s_max": TARGET_1M_S, "process_gib_max": LIMIT_GIB,
                             "met": bool(one_million) and all(r["wall_s"] <= TARGET_1M_S and r["within_limit"]
                                                               for r in one_million)},
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())

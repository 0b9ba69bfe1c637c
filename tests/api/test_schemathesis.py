"""The API document is exact (issue 10 section 6): schemathesis, every check and every phase (examples,
coverage, fuzzing, stateful), against the OpenAPI document the gateway serves, finds nothing.

The gateway runs on the real embedded adapters (``conftest``), served on loopback, with one dataset,
feature config, model config and five experiments seeded so that paths and bodies naming an id reach the views
(``schemathesis.toml`` is a template the test fills with their ids; the output is kept beside the report).
Bounded: ``MAX_EXAMPLES`` per operation for examples, fuzzing and stateful and a fixed seed; the coverage phase
(boundary values of every parameter, not bounded by examples) takes most of the run: 65-185 s in all on the shared
2-core machine at load 5-8, most of it valid ``PUT /api/datasets/{id}`` bodies, each reading the source again
(~0.2 s); 254-306 s at load 15 with the watches and promote operations. The run is killed after ``MAX_SECONDS``,
a bound against a hung run sized for CI's busy 2 cores, not a speed target.
"""

from __future__ import annotations

import json
import string
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from experiments_platform.bootstrap import Platform
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from .conftest import dataset_payload, feature_payload, finish, model_payload, results, start_payload
from .test_insights import _with_data_artifacts as with_data_artifacts
from .test_sweeps import _hits as write_hits

CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = 5
MAX_SECONDS = 900
SEED = 20261204


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


def seed_documents(app: Flask, platform: Platform, files: dict[str, Path]) -> dict[str, str]:
    """A dataset, its feature config, a model config and five experiments, the first with real statistics; the
    first two completed, with results and per-buyer test hits; a seed group."""
    client = app.test_client()

    def created(path: str, body: dict[str, Any], status: int = 201) -> str:
        response = client.post(path, json=body)
        assert response.status_code == status, response.json
        return str(response.json["id"])  # type: ignore[index]

    dataset = created("/api/datasets", dataset_payload(files))
    feature = created("/api/feature-configs", feature_payload(dataset))
    model = created("/api/model-configs", model_payload())
    experiment = created("/api/experiments", start_payload({"id": feature}, {"id": model}), 202)
    with_data_artifacts(platform, experiment)
    ids = {"ST_DATASET_ID": dataset, "ST_FEATURE_CONFIG_ID": feature, "ST_MODEL_CONFIG_ID": model,
           "ST_EXPERIMENT_ID": experiment}
    for n in range(1, 5):  # a comparison takes up to 5
        ids[f"ST_EXPERIMENT_ID_{n}"] = created("/api/experiments", start_payload({"id": feature}, {"id": model},
                                                                                 name=f"more {n}"), 202)
    for n, (name, recall) in enumerate((("ST_EXPERIMENT_ID", 0.3), ("ST_EXPERIMENT_ID_1", 0.4))):
        write_hits(platform, ids[name], [1] * (30 + 10 * n) + [0] * (70 - 10 * n))  # what /api/paired reads
        # no MLflow run: the tests' MLflow never answers, and a run without a journal is then a 503
        finish(platform, ids[name], results={k: v for k, v in results(recall, 0.5).items() if k != "mlflow_run_id"})
    ids["ST_WATCH_ID"] = created(f"/api/datasets/{dataset}/watches", {"experiment_id": ids["ST_EXPERIMENT_ID"]})
    sweep = {**start_payload({"id": feature}, {"id": model}, name="seed group"), "repeats": 2}
    ids["ST_SWEEP_ID"] = created("/api/sweeps", sweep, 202)
    return ids


def findings(report: dict[str, Any]) -> list[str]:
    """Each kind of failure, each error and each warning of a schemathesis JSON report, as one line."""
    lines = [f"{f['code']} {f['title']} ×{f['count']}: {', '.join(f['operations'])}" for f in report["failures"]]
    lines += [f"error: {json.dumps(e)[:400]}" for e in report["errors"]]
    lines += [f"warning {name}: {', '.join(map(str, ops))}" for name, ops in report["warnings"].items() if ops]
    return lines


def test_schemathesis_finds_nothing(app: Flask, served: str, platform: Platform, data_files: dict[str, Path],
                                    tmp_path: Path) -> None:
    config = tmp_path / CONFIG.name
    config.write_text(string.Template(CONFIG.read_text()).substitute(seed_documents(app, platform, data_files)))
    report_path = tmp_path / "schemathesis.json"
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "--no-color",
        "run", f"{served}/api/openapi.json",
        "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful",
        "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--workers", "1",
        "--report", "json", "--report-json-path", str(report_path),
    ]
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=MAX_SECONDS)
    (tmp_path / "schemathesis.txt").write_text(run.stdout + run.stderr)  # the whole output, beside the report
    assert report_path.exists(), run.stdout[-4000:] + run.stderr[-2000:]
    report = json.loads(report_path.read_text())
    assert findings(report) == [], "\n".join(findings(report)) + "\n" + run.stdout[-12000:]
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert report["complete"], "the run stopped before every phase had run"


def test_the_document_carries_what_the_server_checks(client: FlaskClient) -> None:
    document = client.get("/api/openapi.json").json
    schemas = document["components"]["schemas"]
    dataset = schemas["DatasetInput"]["properties"]
    assert dataset["query_id_column"]["pattern"] == "^[A-Za-z_][A-Za-z0-9_]{0,63}$"
    assert dataset["name"]["minLength"] == 1
    assert schemas["ModelConfigInput"]["properties"]["epochs"]["type"] == "integer"
    compare = document["paths"]["/api/experiments/compare"]["post"]["requestBody"]["content"]["application/json"]
    assert compare["schema"]["properties"]["experiment_ids"]["uniqueItems"] is True
    for path in ("/api/datasets/{dataset_id}/duplicate", "/api/dashboard/export.csv"):
        operation = next(iter(v for k, v in document["paths"][path].items() if k in ("get", "post")))
        assert "400" in operation["responses"], path

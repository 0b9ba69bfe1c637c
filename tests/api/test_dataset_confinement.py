"""Datasets read no server file (issue 10 section 1, decision 050): each hole of the attack, reproduced.

Sources must be files inside the warehouse folders (``{data_dir}/warehouse``, the uploads folder,
``PLATFORM_WAREHOUSE_ROOTS``), checked after symlinks; a missing file, a folder and a path outside
get one answer; DuckDB never reaches the network; the API runs the registration's checks.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
from experiments_platform.adapters.duckdb_warehouse import DuckDBWarehouse
from experiments_platform.bootstrap import Platform
from experiments_platform.domain.dataset import TableSource
from experiments_platform.errors import InvalidInput
from experiments_platform.events.messages import SubmitExperiment
from experiments_platform.handlers.submitter import on_submit
from experiments_platform.repositories.experiments import ExperimentRepository
from flask.testing import FlaskClient

from .conftest import dataset_payload, feature_payload, model_payload, start_payload

SECRET = "user_id,item_id,api_key\nroot,db,hunter2-secret\nops,vault,s3cr3t-token\n"


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    """A server file outside every warehouse folder, named so that the format check passes."""
    folder = tmp_path / "etc"
    folder.mkdir()
    path = folder / "passwd.csv"
    path.write_text(SECRET)
    return path


def register(client: FlaskClient, files: dict[str, Path], uri: str, **overrides: Any) -> Any:
    values = {"source": {"kind": "file", "uri": uri}, "buyer_features": None, "date_column": None, **overrides}
    payload = dataset_payload(files, **values)
    return client.post("/api/datasets", json=payload)


def refusal(response: Any, uri: str) -> str:
    """The message with the URI taken out, after checking it is a 400 on source.uri."""
    assert response.status_code == 400, response.json
    assert response.json["field"] == "source.uri"
    return str(response.json["message"]).replace(repr(uri), "<uri>")


def test_a_server_file_outside_the_warehouse_cannot_be_registered(
    client: FlaskClient, data_files: dict[str, Path], secret_file: Path
) -> None:
    response = register(client, data_files, secret_file.as_uri())
    assert response.status_code == 400
    assert "hunter2" not in response.get_data(as_text=True)
    assert client.get("/api/datasets").json["total"] == 0


@pytest.mark.parametrize("how", ["symlink", "dotdot", "host", "relative"])
def test_no_path_trick_leaves_the_warehouse(
    client: FlaskClient, data_files: dict[str, Path], secret_file: Path, how: str
) -> None:
    warehouse = data_files["interactions"].parent
    if how == "symlink":
        link = warehouse / "innocent.csv"
        link.symlink_to(secret_file)
        uri = link.as_uri()
    elif how == "dotdot":
        uri = f"file://{warehouse}/../../etc/passwd.csv"
    elif how == "host":
        uri = f"file://localhost{secret_file}"
    else:
        uri = os.path.relpath(secret_file, warehouse)
    response = register(client, data_files, uri)
    assert refusal(response, uri).startswith("no file at <uri> inside the warehouse folders")


def test_missing_folder_and_outside_paths_get_the_same_answer(
    client: FlaskClient, data_files: dict[str, Path], secret_file: Path
) -> None:
    warehouse = data_files["interactions"].parent
    (warehouse / "folder.csv").mkdir()
    uris = {
        "missing": (warehouse / "missing.csv").as_uri(),
        "folder": (warehouse / "folder.csv").as_uri(),
        "outside, existing": secret_file.as_uri(),
        "outside, missing": (secret_file.parent / "shadow.csv").as_uri(),
    }
    answers = {what: refusal(register(client, data_files, uri), uri) for what, uri in uris.items()}
    assert len(set(answers.values())) == 1, answers
    assert "upload" in answers["missing"]


def test_a_relative_path_is_read_from_the_warehouse_folder_and_stored_by_its_real_path(
    client: FlaskClient, data_files: dict[str, Path]
) -> None:
    response = register(client, data_files, "interactions.csv")
    assert response.status_code == 201, response.json
    assert response.json["source"]["uri"] == data_files["interactions"].resolve().as_uri()


def test_a_dataset_stored_before_confinement_is_refused_at_launch_and_fails_at_submit_without_reading_the_file(
    client: FlaskClient, platform: Platform, data_files: dict[str, Path], secret_file: Path
) -> None:
    """The attack's second half: a dataset document naming a server file, then one quick test."""
    dataset = client.post("/api/datasets", json=dataset_payload(data_files, buyer_features=None)).json
    features = client.post("/api/feature-configs", json=feature_payload(dataset["id"], cross_features=[])).json
    model = client.post("/api/model-configs", json=model_payload()).json
    started = client.post("/api/experiments", json=start_payload(features, model))
    assert started.status_code == 202, started.json
    dataset["source"]["uri"] = secret_file.as_uri()
    platform.documents.set("datasets", dataset["id"], dataset)

    refused = client.post("/api/experiments", json=start_payload(features, model))
    assert refused.status_code == 400 and refused.json["field"] == "dataset_id", refused.json
    assert "cannot read the table" in refused.json["message"] and "hunter2" not in str(refused.json)

    stored = platform.documents.get("experiments", started.json["id"])  # launched before confinement
    assert stored is not None
    stored["dataset_snapshot"]["source"]["uri"] = secret_file.as_uri()
    ExperimentRepository(platform.documents).save(stored)
    on_submit(platform, SubmitExperiment(experiment_id=started.json["id"]))
    experiment = client.get(f"/api/experiments/{started.json['id']}").json
    assert experiment["status"] == "failed"
    assert experiment["cloud_build_id"] is None
    assert "no file at" in experiment["error"]["excerpt"]
    assert "hunter2" not in str(experiment)


def test_gs_and_http_paths_never_make_duckdb_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    warehouse = DuckDBWarehouse(roots=[tmp_path / "warehouse"])
    with pytest.raises(InvalidInput, match="files on this machine only") as caught:
        warehouse.describe(TableSource(kind="file", uri="gs://bucket/events.csv"))
    assert caught.value.field == "source.uri"
    for url in ("gs://bucket/events.csv", "https://example.com/events.csv", "s3://bucket/events.parquet"):
        with pytest.raises(duckdb.PermissionException, match="disabled by configuration"):
            warehouse.query(f"SELECT * FROM read_csv('{url}')")
    with pytest.raises(duckdb.Error):
        warehouse.query("INSTALL httpfs")
    with pytest.raises(duckdb.Error):
        warehouse.query("SET enable_external_access = true")
    settings = warehouse.query(
        "SELECT current_setting('autoinstall_known_extensions') AS install, "
        "current_setting('autoload_known_extensions') AS load")
    assert settings == [{"install": False, "load": False}]
    assert not (tmp_path / ".duckdb").exists(), "DuckDB created an extension folder"


def test_sql_through_the_warehouse_reads_only_inside_its_folders(tmp_path: Path, secret_file: Path) -> None:
    inside = tmp_path / "warehouse" / "events.csv"
    inside.parent.mkdir()
    inside.write_text("user_id,item_id\nu1,i1\n")
    warehouse = DuckDBWarehouse(roots=[inside.parent])
    assert warehouse.query(f"SELECT count(*) AS n FROM read_csv('{inside}')") == [{"n": 1}]
    with pytest.raises(duckdb.PermissionException):
        warehouse.query(f"SELECT * FROM read_csv('{secret_file}')")


# --- the API runs the registration's checks ----------------------------------------------------

def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text)
    return path.as_uri()


@pytest.mark.parametrize(("content", "overrides", "field", "message"), [
    ("user_id,item_id,score\nu1,i1,0.5\n", {"candidate_id_column": "score"}, "candidate_id_column",
     r"column 'score' has type float; candidate_id_column needs a string or integer column"),
    ("user_id,item_id\nu1,i1\n", {"candidate_id_column": "user_id"}, "candidate_id_column",
     r"the buyer and product id columns must differ"),
    ("user_id,item_id,day\nu1,i1,monday\n", {"date_column": "day"}, "date_column",
     r"column 'day' has type string; date_column needs a timestamp or date column"),
    ("user_id,item_id\n", {}, "source.uri", r"the file has no rows"),
    ("", {}, "source.uri", r"the file has no rows"),
    ("user id,item id\nu1,i1\n", {}, "source.uri", r"no column of .* can be used \('user id': name is not letters"),
    ("user_id,item_id\nu1,i1\n", {"query_id_column": "user id"}, "query_id_column", r"'user id' is not a valid name"),
])
def test_the_api_runs_the_registration_checks(
    client: FlaskClient, data_files: dict[str, Path], content: str, overrides: dict[str, Any], field: str,
    message: str,
) -> None:
    uri = write(data_files["interactions"].parent, "table.csv", content)
    response = register(client, data_files, uri, **overrides)
    assert response.status_code == 400, response.json
    assert response.json["field"] == field
    assert re.search(message, response.json["message"]), response.json["message"]

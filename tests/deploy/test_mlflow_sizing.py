"""The MLflow sizing of docs/decisions/031 stays in the Terraform (the spec's 15-30 s per request)."""

from __future__ import annotations

from deploy_model import MODULES, blocks, parse

SHARED_CORE = ("db-f1-micro", "db-g1-small")


def variables() -> dict[str, dict]:
    return {name: body for block in blocks(MODULES / "mlflow", "variable") for name, body in block.items()}


def test_the_database_tier_is_dedicated_core_and_shared_tiers_are_refused() -> None:
    tier = variables()["database_tier"]
    assert tier["default"] == "db-custom-1-3840"
    condition = tier["validation"][0]["condition"]
    for shared in SHARED_CORE:
        assert shared in condition


def test_connection_pools_fit_the_database() -> None:
    v = {name: body["default"] for name, body in variables().items() if "default" in body}
    assert v["max_instances"] * v["workers"] * (v["pool_size"] + v["pool_max_overflow"]) < v["max_connections"]
    main = (MODULES / "mlflow" / "main.tf").read_text()
    assert 'check "connections_fit"' in main


def test_the_server_stays_warm_and_lean() -> None:
    assert variables()["min_instances"]["default"] >= 1
    [server] = [b["server"] for b in parse(MODULES / "mlflow" / "main.tf")["module"] if "server" in b]
    assert server["env"]["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    assert server["memory"] == "2Gi"
    assert server["health_path"] == "/health"
    assert "--workers" in server["args"]

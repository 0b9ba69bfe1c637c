"""The failure corpus: real failures, provoked on purpose and recorded, each gets its specific code.

``tests/fixtures/failures/{class}/{case}.json`` holds the exact text the classifier received in
a real run (``scripts/provoke_failures.py`` provokes and records them; the folder's README says
how). Zero ``UNKNOWN``: every case gets the code it was recorded for, that code's title, a fix
and an excerpt taken from the text.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from experiments_platform.domain.error_codes import CODES
from experiments_platform.domain.error_patterns import classify
from experiments_platform.domain.status import Stage

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fixtures" / "failures"
CASES = sorted(CORPUS.glob("*/*.json"))
CLASSES = {  # the failure classes of issue 11 (point 2) that can be provoked on one machine
    "nan_loss", "tower_mismatch", "empty_split", "worker_killed", "out_of_memory", "mlflow_unreachable",
    "compile_crash", "missing_column", "retyped_column", "disk_full",
}


def load(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def provoke_script() -> Any:
    spec = importlib.util.spec_from_file_location("provoke_failures", ROOT / "scripts" / "provoke_failures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_corpus_holds_every_class_of_failure() -> None:
    cases = [load(path) for path in CASES]
    assert {case["class"] for case in cases} == CLASSES
    assert all(path.parent.name == load(path)["class"] and path.stem == load(path)["case"] for path in CASES)


def test_every_case_of_the_script_is_recorded_with_the_same_class_and_code() -> None:
    recorded = {(case["case"], case["class"], case["expected_code"]) for case in map(load, CASES)}
    scripted = {(case.name, case.failure_class, case.expected_code) for case in provoke_script().CASES}
    assert recorded == scripted


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_a_real_failure_gets_its_specific_code(path: Path) -> None:
    case = load(path)
    assert case["text"] and case["how"] and case["date"]
    stage = Stage(case["stage"]) if case["stage"] else None
    error = classify(case["text"], stage)
    assert error.code == case["expected_code"] != "UNKNOWN", error.excerpt
    assert error.title == CODES[error.code].title
    assert error.suggestion and error.stage == stage
    assert error.excerpt and error.excerpt in case["text"]

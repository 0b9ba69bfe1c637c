"""The error-code table: every code once, with a title and a fix; the patterns and the platform use it."""

from __future__ import annotations

import ast
from pathlib import Path

from experiments_platform.domain import error_codes
from experiments_platform.domain.error_codes import CODES
from experiments_platform.domain.error_patterns import PATTERNS
from experiments_platform.domain.status import Stage

LIBRARY = Path(error_codes.__file__).resolve().parents[1]


def test_every_code_is_named_once_with_a_title_and_a_fix() -> None:
    assert all(name == entry.code for name, entry in CODES.items())
    assert all(getattr(error_codes, name) is entry for name, entry in CODES.items())
    assert all(entry.title and entry.fix.endswith((".", ")")) for entry in CODES.values())
    assert {"UNKNOWN", "BUILD_WITHOUT_JOB", "METRICS_MISSING", "SUBMIT_UNAVAILABLE", "TIMEOUT"} <= set(CODES)


def test_every_pattern_finds_a_code_of_the_table() -> None:
    assert all(CODES[pattern.code] is pattern.error for pattern in PATTERNS)


def test_an_error_carries_the_table_text_or_a_precise_fix() -> None:
    error = error_codes.METRICS_MISSING.error(stage=Stage.TRAIN, excerpt="no metrics.json")
    assert (error.code, error.title, error.suggestion) == (
        "METRICS_MISSING", error_codes.METRICS_MISSING.title, error_codes.METRICS_MISSING.fix)
    assert (error.stage, error.excerpt) == (Stage.TRAIN, "no metrics.json")
    assert error_codes.UNKNOWN_COLUMN.error(fix="Use 'rating' instead").suggestion == "Use 'rating' instead"


def test_no_module_outside_the_table_builds_an_error_by_hand() -> None:
    """A ``ClassifiedError(...)`` or an ``ErrorCode(...)`` anywhere else would be a second table."""
    builders = {"ClassifiedError", "ErrorCode"}
    found = []
    for path in sorted(LIBRARY.rglob("*.py")):
        if path.name == "error_codes.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in builders:
                    found.append(f"{path.relative_to(LIBRARY)}:{node.lineno}")
    assert found == [], f"errors built outside domain/error_codes.py: {found}"


"""One formatting convention (issue 15): data values without thousands separators, one count style,
one decimal rule, no sign or arrow on a difference that rounds to zero, percents written one way, and
no view formatting numbers by hand. format.js runs under Node; domain/metrics.py is checked alongside."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from experiments_platform.adapters.sqlite_documents import SqliteDocumentStore
from experiments_platform.domain.metrics import spec
from experiments_platform.handlers import results
from experiments_platform.repositories.experiments import COLLECTION

UI = Path(__file__).resolve().parents[2] / "ui" / "js"
FORMAT_JS = UI / "lib" / "format.js"
SCRIPT = """
const format = await import(`data:text/javascript;base64,${process.argv[1]}`);
const cases = JSON.parse(process.argv[2]);
console.log(JSON.stringify(cases.map(([fn, args]) => (format[fn] ? format[fn](...args) : null))));
"""


def tracked_ui_files() -> Iterator[Path]:
    """The UI's committed modules (a module still being written elsewhere is checked once committed)."""
    listed = subprocess.run(["git", "ls-files", "*.js"], cwd=UI, capture_output=True, text=True, check=True)
    return (UI / name for name in listed.stdout.split())


def run_format(cases: list[tuple[str, list[object]]]) -> list[object]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: the UI's formatter runs under Node 20 (make setup installs it)")
    source = base64.b64encode(FORMAT_JS.read_bytes()).decode()
    out = subprocess.run([node, "--input-type=module", "-e", SCRIPT, source, json.dumps(cases)],
                         capture_output=True, text=True, timeout=60, check=True)
    return list(json.loads(out.stdout))


def rate() -> dict[str, object]:
    return spec("recall_at_100").model_dump(mode="json")


def loss() -> dict[str, object]:
    return spec("loss").model_dump(mode="json")


def test_data_values_keep_their_digits_and_counts_have_one_style() -> None:
    cases: list[tuple[str, list[object]]] = [
        ("plain", [1930]), ("plain", [874724710]), ("plain", [1988.1234]), ("plain", [33.64]),
        ("int", [15000]), ("int", [5096]),
        ("compact", [15000]),
    ]
    assert run_format(cases) == ["1930", "874724710", "1988.1", "33.64", "15,000", "5,096", None]


def test_losses_and_other_numbers_follow_one_decimal_rule() -> None:
    cases: list[tuple[str, list[object]]] = [
        ("num", [5539]), ("num", [5400.4]), ("num", [930.83]), ("formatValue", [loss(), 5400.4]),
        ("formatValue", [loss(), 5539]),
    ]
    assert run_format(cases) == ["5,539", "5,400", "930.8", "5,400", "5,539"]


def test_a_difference_that_rounds_to_zero_has_no_sign_and_no_arrow() -> None:
    cases: list[tuple[str, list[object]]] = [
        ("formatDelta", [rate(), 0.0004]), ("formatDelta", [rate(), -0.0004]), ("formatDelta", [rate(), 0.012]),
        ("formatChange", [rate(), 0.0004]), ("formatChange", [rate(), 0.012]), ("formatChange", [rate(), -0.003]),
        ("points", [0.04]), ("points", [-1.26]), ("points", [2.0, 1, {"unit": False}]),
    ]
    assert run_format(cases) == ["±0.0 pp", "±0.0 pp", "+1.2 pp", "= 0.0 pp", "↑ 1.2 pp", "↓ 0.3 pp",
                                 "±0.0 pp", "−1.3 pp", "+2.0"]


def test_percents_are_written_without_a_space() -> None:
    assert run_format([("percentText", [12]), ("percentText", [4.25, 1]), ("pct", [0.473])]) == ["12%", "4.3%", "47.3%"]
    spaced = [f"{path.relative_to(UI)}:{n}: {line.strip()[:120]}"
              for path in tracked_ui_files() for n, line in enumerate(path.read_text().splitlines(), 1)
              if re.search(r"\d[}\)]? %|\} %`|\b95 % ", line) and not line.lstrip().startswith(("*", "//"))]
    assert spaced == [], "percent with a space (write 12%, as format.js does):\n" + "\n".join(spaced)


def test_views_format_numbers_only_through_format_js() -> None:
    by_hand = [f"{path.relative_to(UI)}:{n}: {line.strip()[:120]}"
               for path in tracked_ui_files() if path != FORMAT_JS
               for n, line in enumerate(path.read_text().splitlines(), 1)
               if re.search(r"\.(toFixed|toLocaleString|toPrecision)\(|Intl\.NumberFormat", line)]
    assert by_hand == [], "format these through ui/js/lib/format.js:\n" + "\n".join(by_hand)


def test_durations_have_one_style() -> None:
    cases: list[tuple[str, list[object]]] = [("duration", [93]), ("duration", [45]), ("duration", [3900])]
    assert run_format(cases) == ["1 min 33 s", "45 s", "1 h 5 min"]
    by_hand = [f"{path.relative_to(UI)}:{n}: {line.strip()[:120]}"
               for path in tracked_ui_files() if path != FORMAT_JS
               for n, line in enumerate(path.read_text().splitlines(), 1)
               if re.search(r"\$\{[^}]*\}\s?(m|min|h)\s?\$\{|\$\{[^}]*\}m\b", line)]
    assert by_hand == [], "durations through format.js's duration() (1 min 33 s, never 1m 33s):\n" + "\n".join(by_hand)


def test_the_api_puts_no_sign_and_no_arrow_on_a_difference_that_rounds_to_zero(tmp_path: Path) -> None:
    recall = spec("recall_at_100")
    assert [recall.display_delta(0.0004), recall.display_delta(-0.0004), recall.display_change(0.0004),
            recall.display_change(0.012), recall.display_change(-0.003)] == [
        "±0.0 pp", "±0.0 pp", "= 0.0 pp", "↑ 1.2 pp", "↓ 0.3 pp"]
    store = SqliteDocumentStore(tmp_path / "documents.sqlite")
    store.set(COLLECTION, "e2", {"id": "e2", "number": 2, "dataset_id": "d", "status": "completed",
                                 "results": {"final": {"recall_at_100": 0.4100}}})
    comparison = results.compare_with_previous_best(store, "e9", "d", {"final": {"recall_at_100": 0.4104}})
    assert comparison is not None and comparison["summary"] == "= 0.0 pp vs Exp #2", "was '↑ 0.0 pp vs Exp #2'"

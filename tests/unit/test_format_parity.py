"""The UI's formatter (ui/js/lib/format.js, run by Node) prints every catalogued metric as the API does."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import get_args

import pytest
from experiments_platform.domain.metrics import CATALOGUE

FORMAT_JS = Path(__file__).resolve().parents[2] / "ui" / "js" / "lib" / "format.js"
VALUES = {
    "percent": [0.0, 0.473, 0.0885, 0.4425, 0.12345, 1.0, 0.0006, 0.99951],
    "count": [0, 7, 1682, 1234567, 99999.5],
    "duration": [0.4, 45.4, 59.5, 93.4, 119.6, 3599.6, 3900, 86400],
    "decimal": [0.0, 0.034, 0.03, 1523.7, 12.34567, 9999.7, 0.000123456, 1e-7, -0.5, 2.0, 5539.25, 123456789.0],
}
SCRIPT = """
const { formatValue, formatDelta } = await import(`data:text/javascript;base64,${process.argv[1]}`);
const cases = JSON.parse(process.argv[2]);
console.log(JSON.stringify(cases.map(([spec, value]) => [formatValue(spec, value), formatDelta(spec, value)])));
"""


def test_every_metric_format_reads_the_same_in_both_languages():
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: the UI's formatter runs under Node 20 (make setup installs it)")
    specs = {m.format: m for m in CATALOGUE}
    cases = [(spec, value) for form, spec in specs.items() for value in VALUES[form]]
    payload = json.dumps([[spec.model_dump(mode="json"), value] for spec, value in cases])
    source = base64.b64encode(FORMAT_JS.read_bytes()).decode()
    out = subprocess.run([node, "--input-type=module", "-e", SCRIPT, source, payload], capture_output=True,
                         text=True, timeout=60, check=True)
    printed = json.loads(out.stdout)
    expected = [[spec.display(value), spec.display_delta(value)] for spec, value in cases]
    mismatches = [(spec.name, value, js, py) for (spec, value), js, py in zip(cases, printed, expected, strict=True)
                  if js != py]
    assert not mismatches, f"(metric, value, format.js, domain/metrics.py): {mismatches}"
    assert len(specs) == 4, "one sample metric per display format"


LABELS_JS = Path(__file__).resolve().parents[2] / "ui" / "js" / "components" / "labels.js"
FEATURES = [
    {"column": "user_id", "kind": "id", "embedding_dim": 64},
    {"column": "occupation", "kind": "categorical", "embedding_dim": 8},
    {"column": "age", "kind": "numeric", "transform": "normalize"},
    {"column": "price", "kind": "numeric", "transform": "bucketize", "buckets": 10, "embedding_dim": 4},
    {"column": "day", "kind": "timestamp", "embedding_dim": 8},
    {"column": "title", "kind": "text", "embedding_dim": 16},
    {"column": "category", "kind": "history", "max_values": 12},
]


def test_every_feature_kind_is_labelled_the_same_in_both_languages():
    from experiments_platform.domain.features import Feature
    from experiments_platform.handlers.compare import format_feature

    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: the UI's labels run under Node 20 (make setup installs it)")
    script = ("const { featureLabel } = await import(process.argv[1]);"
              "console.log(JSON.stringify(JSON.parse(process.argv[2]).map(featureLabel)));")
    out = subprocess.run([node, "--input-type=module", "-e", script, LABELS_JS.as_uri(), json.dumps(FEATURES)],
                         capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout) == [format_feature(f) for f in FEATURES]
    assert format_feature(FEATURES[-1]) == "category(history, 12v)"
    kinds = {cls.model_fields["kind"].default for cls in get_args(get_args(Feature)[0])}
    assert {f["kind"] for f in FEATURES} == kinds, "one sample feature per kind"

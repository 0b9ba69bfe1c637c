"""The summary of a component's log, from real logs: ``tests/fixtures/logs/quick_test`` is every component log
of a real quick test on the local stack (MovieLens, first 50 users), ``failed_trainer/Trainer.log`` the
Trainer log of a real full training that failed."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from experiments_platform.domain.log_summary import TEXT_CHARS, summarize
from experiments_platform.jsonlog import fields
from experiments_platform.pipeline.run_local import ComponentLogFormatter

LOGS = Path(__file__).resolve().parents[1] / "fixtures" / "logs"


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def texts(component: str, folder: str = "quick_test") -> list[tuple[str, str]]:
    return [(e.kind, e.text) for e in summarize(lines(LOGS / folder / f"{component}.log")).entries]


def test_trainer_summary_is_start_epochs_and_end_without_the_dumps() -> None:
    raw = lines(LOGS / "quick_test" / "Trainer.log")
    assert any("node_info" in line for line in raw) and any("spec_version" in line for line in raw)
    summary = summarize(raw)
    kinds = [e.kind for e in summary.entries]
    assert kinds[0] == "stage" and summary.entries[0].text == "Started"
    assert summary.entries[-1].text == "Finished"
    epochs = [e for e in summary.entries if e.kind == "epoch"]
    assert [e.values["epoch"] for e in epochs] == [1, 2, 3]
    assert epochs[-1].text.startswith("Epoch 3: loss ")
    assert all("node_info" not in e.text and "spec_version" not in e.text for e in summary.entries)
    assert len(summary.entries) < 15 < len(raw)
    assert summary.scanned_lines == len(raw)
    assert summary.seconds is not None and summary.seconds > 0


def test_every_component_starts_and_finishes_and_says_what_it_did() -> None:
    assert ("progress", "Examples written") in texts("ExampleGen")
    assert ("progress", "Computing statistics of split train") in texts("StatisticsGen")
    assert ("progress", "Schema written") in texts("SchemaGen")
    assert ("progress", "Analysing the training split (building vocabularies)") in texts("Transform")
    for component in ("ExampleGen", "StatisticsGen", "SchemaGen", "Transform", "Trainer", "Evaluator"):
        entries = texts(component)
        assert entries[0] == ("stage", "Started") and entries[-1] == ("stage", "Finished"), component


def test_a_failed_execution_is_an_error_and_ends_the_component() -> None:
    summary = summarize(lines(LOGS / "failed_trainer" / "Trainer.log"))
    errors = [e for e in summary.entries if e.level == "error"]
    assert [e.text for e in errors] == ["Failed"] and errors[0].at == summary.finished_at
    assert summary.entries[-1] is errors[0]


def test_warnings_are_kept_known_noise_dropped_and_repeats_folded() -> None:
    log = [
        "2026-12-04 14:20:31,955 WARNING absl: ArtifactQuery.property_predicate is not supported.",
        "2026-12-04 14:20:32,000 WARNING tensorflow: Skipping 3 rows with a null user_id",
        "2026-12-04 14:20:33,000 WARNING tensorflow: Skipping 3 rows with a null user_id",
        "2026-12-04 14:20:34,000 INFO absl: Feature age has a shape dim {",
        "  size: 1",
        "}",
    ]
    entries = summarize(log).entries
    assert [(e.kind, e.text, e.count) for e in entries] == [
        ("warning", "Skipping 3 rows with a null user_id", 2)]


def test_a_traceback_is_one_error_named_by_its_exception() -> None:
    log = [
        "2026-12-04 14:20:31,000 ERROR absl: Execution 5 failed.",
        "Traceback (most recent call last):",
        '  File "trainer.py", line 3, in run_fn',
        "    raise KeyError('user_id')",
        "KeyError: 'user_id'",
        "2026-12-04 14:20:32,000 INFO absl: Cleaning up stateless execution info.",
    ]
    entries = summarize(log).entries
    assert [(e.level, e.text) for e in entries] == [("error", "Failed"), ("error", "KeyError: 'user_id'")]


def test_lines_without_a_time_header_stand_alone_and_long_texts_are_cut() -> None:
    compile_log = lines(LOGS / "quick_test" / "Compile.log")
    entries = summarize(compile_log).entries
    assert entries and entries[0].text.startswith("pipeline worker")
    long = summarize([f"2026-12-04 14:20:31,000 ERROR x: {'a' * 1000}"]).entries[0]
    assert len(long.text) == TEXT_CHARS and long.text.endswith("…")
    assert summarize([]).to_document() == {"entries": [], "scanned_lines": 0, "started_at": None,
                                           "finished_at": None, "seconds": None}


def test_component_log_formatter_writes_the_record_fields(caplog: pytest.LogCaptureFixture) -> None:
    record = logging.LogRecord("experiments_platform.pipeline.trainer", logging.INFO, __file__, 1,
                               "epoch finished", None, None)
    record.__dict__.update(fields(epoch=2, loss=812.5))
    text = ComponentLogFormatter().format(record)
    assert text.endswith(' experiments_platform.pipeline.trainer: epoch finished {"epoch": 2, "loss": 812.5}')
    entry = summarize([text]).entries[0]
    assert (entry.kind, entry.text, entry.values) == ("epoch", "Epoch 2: loss 812.5", {"epoch": 2, "loss": 812.5})
    plain = logging.LogRecord("absl", logging.INFO, __file__, 1, "Training model.", None, None)
    assert ComponentLogFormatter().format(plain).endswith("INFO absl: Training model.")
    assert json.loads(text.split(" ", 5)[-1].split("finished ", 1)[1]) == {"epoch": 2, "loss": 812.5}


def test_absl_formatted_lines_are_records_too() -> None:
    """TFX's lines as absl formats them (a container on Vertex AI): the same summary as the local runner's."""
    from absl import logging as absl_logging

    formatter = absl_logging.PythonFormatter()

    def absl_line(level: int, message: str, created: float) -> str:
        record = logging.LogRecord("absl", level, "/tfx/orchestration/launcher.py", 123, message, None, None)
        record.created = created
        return formatter.format(record)

    log = [absl_line(logging.INFO, "Running launcher for node_info {", 1_796_403_945.0), '  id: "Trainer"', "}",
           absl_line(logging.WARNING, "Skipping 3 rows with a null user_id", 1_796_403_946.0),
           absl_line(logging.ERROR, "Execution 5 failed.", 1_796_403_950.0)]
    summary = summarize(log)
    assert [(e.kind, e.text) for e in summary.entries] == [
        ("stage", "Started"), ("warning", "Skipping 3 rows with a null user_id"), ("error", "Failed")]
    assert summary.seconds == 5.0


# Copied from the component log of a real run of the DuckDB ExampleGen executor
# (tests/pipeline/test_example_gen.py::test_example_gen_logs_the_rows_it_wrote_to_each_split).
SPLITS_WRITTEN = [
    '2026-12-04 18:49:20,638 INFO experiments_platform.pipeline.example_gen: split written '
    '{"split": "train", "rows": 1200}',
    '2026-12-04 18:49:20,674 INFO experiments_platform.pipeline.example_gen: split written '
    '{"split": "eval", "rows": 30}',
]


def test_rows_written_to_each_split_are_progress_with_the_count() -> None:
    entries = summarize(SPLITS_WRITTEN).entries
    assert [(e.kind, e.text) for e in entries] == [
        ("progress", "Wrote 1,200 rows to split train"), ("progress", "Wrote 30 rows to split eval")]
    assert entries[0].values == {"split": "train", "rows": 1200}


# Copied from the Trainer's component log of a real full training on the MovieLens sample
# (tests/pipeline/test_full_training.py::test_the_trainer_logs_the_rows_it_read_of_each_split).
SPLITS_READ = [
    '2026-12-04 21:28:59,758 INFO experiments_platform.pipeline.trainer_data: split read '
    '{"split": "train", "rows": 4280}',
    '2026-12-04 21:29:00,300 INFO experiments_platform.pipeline.trainer_data: split read '
    '{"split": "test", "rows": 518}',
    '2026-12-04 21:29:01,036 INFO experiments_platform.pipeline.trainer_data: split read '
    '{"split": "eval", "rows": 556}',
]


def test_rows_the_trainer_read_of_each_split_are_progress_named_as_users_know_the_splits() -> None:
    entries = summarize(SPLITS_READ).entries
    assert [(e.kind, e.text) for e in entries] == [
        ("progress", "Read 4,280 training rows"), ("progress", "Read 518 test rows"),
        ("progress", "Read 556 validation rows")]
    assert entries[2].values == {"split": "eval", "rows": 556}

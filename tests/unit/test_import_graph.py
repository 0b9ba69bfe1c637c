"""The library's shape (``scripts/import_graph.py``): no import cycle, no layer breach."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "import_graph.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("import_graph", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and annotations look their module up
    spec.loader.exec_module(module)
    return module


graph = load_script()


def test_the_library_has_no_import_cycle_and_no_breach() -> None:
    summary = graph.summary()
    assert summary["cycles"] == []
    assert summary["breaches"] == []


def test_a_handler_importing_another_services_handler_is_a_breach() -> None:
    p = "experiments_platform"
    edges = {
        f"{p}.handlers.reconcile": {f"{p}.handlers.status_watcher", f"{p}.handlers.compute"},
        f"{p}.handlers.status_watcher": {f"{p}.handlers.compute"},
        f"{p}.handlers.dashboard": {f"{p}.handlers.experiments"},
        f"{p}.handlers.compute": {f"{p}.handlers.results", f"{p}.repositories.experiments"},
    }
    assert graph.breaches(edges) == [
        f"{p}.handlers.reconcile imports {p}.handlers.status_watcher "
        "(a reconcile handler may not use a status_watcher handler)",
    ]


def test_the_domain_may_not_reach_up_to_repositories_or_events() -> None:
    p = "experiments_platform"
    edges = {f"{p}.domain.lifecycle": {f"{p}.repositories.experiments", f"{p}.events.messages", f"{p}.errors"}}
    assert graph.breaches(edges) == [
        f"{p}.domain.lifecycle imports {p}.events.messages (domain may not use events)",
        f"{p}.domain.lifecycle imports {p}.repositories.experiments (domain may not use repositories)",
    ]


def test_a_lazy_import_counts_and_closes_a_cycle(tmp_path: Path) -> None:
    source = tmp_path / "status_watcher.py"
    source.write_text("def on_build():\n    from experiments_platform.handlers.cancel import finish_cancel\n")
    found = graph.imported(source, "experiments_platform.handlers.status_watcher")
    assert "experiments_platform.handlers.cancel" in found
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert graph.cycles(edges) == [["a", "b", "c"]]

"""The shape of the shared library: modules and lines per package, import cycles, layer breaches.

A breach is an import the tier table (``FORBIDDEN``) forbids, or a handler module importing the
handler module of another service (``SERVICE_HANDLERS``): services share the domain, the
repositories and the shared service-layer modules (every handler module not listed), never each
other's handlers.

    python3 scripts/import_graph.py            # a table, then the cycles and breaches found
    python3 scripts/import_graph.py --json     # the same as one JSON object
    python3 scripts/import_graph.py --check    # exit 1 when there is a cycle or a breach

Every ``import`` counts, including imports inside functions (a lazy import still ties two modules
together). Standard library only, so it runs before any environment is set up.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "experiments_platform"
SOURCE = ROOT / "shared" / PACKAGE

# A module of the left package may not import a module of any package on the right.
FORBIDDEN = {
    "domain": ("adapters", "handlers", "web", "local", "pipeline", "bootstrap", "events", "repositories"),
    "ports": ("adapters", "handlers", "web", "local", "pipeline", "bootstrap", "repositories"),
    "repositories": ("adapters", "handlers", "web", "local", "pipeline", "bootstrap", "events"),
    "events": ("adapters", "handlers", "web", "local", "pipeline", "bootstrap"),
    "adapters": ("handlers", "web", "local", "bootstrap", "repositories"),
    "handlers": ("web", "local", "pipeline"),
    "sql": ("adapters", "handlers", "web", "local", "pipeline", "bootstrap", "repositories"),
    "tfdv": ("adapters", "handlers", "web", "local", "pipeline", "bootstrap", "repositories"),
    "data": ("handlers", "web", "local", "pipeline", "repositories"),
    "pipeline": ("handlers", "web", "local", "bootstrap", "repositories"),
}

# Handler modules that serve one service's messages or routes, by the service they belong to.
# Status watcher, cancel and reconcile run in one service but answer different messages, so each
# stands alone; the gateway's modules form one service. Any other handler module is shared.
SERVICE_HANDLERS = {
    "submitter": "submitter",
    "status_watcher": "status_watcher",
    "cancel": "cancel",
    "reconcile": "reconcile",
    "artifact_reader": "artifact_reader",
    "experiments": "api_gateway",
    "configs": "api_gateway",
    "compare": "api_gateway",
    "dashboard": "api_gateway",
    "export": "api_gateway",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, module: str) -> set[str]:
    """Modules of the package that ``path`` imports (anywhere in the file)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {name for name in found if name == PACKAGE or name.startswith(PACKAGE + ".")}


def graph() -> tuple[dict[str, set[str]], dict[str, int]]:
    paths = {module_name(p): p for p in sorted(SOURCE.rglob("*.py"))}
    edges: dict[str, set[str]] = {}
    lines: dict[str, int] = {}
    for module, path in paths.items():
        lines[module] = len(path.read_text().splitlines())
        targets = set()
        for name in imported(path, module):
            while name and name not in paths:
                name = name.rpartition(".")[0]
            if name and name != module and not module.startswith(name + "."):
                targets.add(name)
        edges[module] = targets
    return edges, lines


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


SUBPACKAGES = {p.parent.name for p in SOURCE.glob("*/__init__.py")}


def tier(module: str) -> str:
    """The subpackage a module belongs to, or ``(root)`` for a module at the package root."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in SUBPACKAGES else "(root)"


def service_of(module: str) -> str | None:
    """The service whose handler ``module`` is (``SERVICE_HANDLERS``); None for any other module."""
    return SERVICE_HANDLERS.get(module.rpartition(".")[2]) if tier(module) == "handlers" else None


def breaches(edges: dict[str, set[str]]) -> list[str]:
    """Imports against ``FORBIDDEN``, and handlers importing another service's handler module."""
    found = []
    for module, targets in sorted(edges.items()):
        source = tier(module)
        for target in sorted(targets):
            destination = tier(target)
            if destination == "(root)":
                destination = target.rpartition(".")[2]
            if destination in FORBIDDEN.get(source, ()):
                found.append(f"{module} imports {target} ({source} may not use {destination})")
            owner, used = service_of(module), service_of(target)
            if owner and used and owner != used:
                found.append(f"{module} imports {target} (a {owner} handler may not use a {used} handler)")
    return found


def summary() -> dict[str, object]:
    edges, lines = graph()
    packages: dict[str, dict[str, int]] = defaultdict(lambda: {"modules": 0, "lines": 0})
    for module, count in lines.items():
        packages[tier(module)]["modules"] += 1
        packages[tier(module)]["lines"] += count
    root_modules = sorted(m.rpartition(".")[2] for m in lines if tier(m) == "(root)" and m != PACKAGE)
    return {
        "modules": len(lines),
        "lines": sum(lines.values()),
        "packages": dict(sorted(packages.items())),
        "root_modules": root_modules,
        "cycles": cycles(edges),
        "breaches": breaches(edges),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--check", action="store_true", help="exit 1 on a cycle or a breach")
    args = parser.parse_args(argv)
    result = summary()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{'package':<12} {'modules':>7} {'lines':>7}")
        for name, counts in result["packages"].items():  # type: ignore[attr-defined]
            print(f"{name:<12} {counts['modules']:>7} {counts['lines']:>7}")
        print(f"{'total':<12} {result['modules']:>7} {result['lines']:>7}")
        print(f"root modules ({len(result['root_modules'])}): {', '.join(result['root_modules'])}")  # type: ignore[arg-type]
        print(f"import cycles: {len(result['cycles'])}")  # type: ignore[arg-type]
        for cycle in result["cycles"]:  # type: ignore[attr-defined]
            print("  " + " ↔ ".join(cycle))
        print(f"layer breaches: {len(result['breaches'])}")  # type: ignore[arg-type]
        for breach in result["breaches"]:  # type: ignore[attr-defined]
            print("  " + breach)
    return 1 if args.check and (result["cycles"] or result["breaches"]) else 0


if __name__ == "__main__":
    sys.exit(main())

"""UI at scale: 1,000 experiments in the local stack, measured in headless Chromium.

Loads 1,000 finished experiments (parameters, final metrics, per-epoch history; completed runs also
get an MLflow run with their per-epoch metrics) into a fresh all-in-one local stack, then measures in
Debian's Chromium, each several times on a fresh page:

- navigation → the dashboard's leaderboard (all completed runs as rows) and heatmap drawn;
- navigation → the comparison modal of 5 experiments drawn (``#/experiments?compare=...``), and
  click on "Compare (5)" in the selection modal → the comparison drawn;
- main-thread freezes: every long task (``PerformanceObserver`` type ``longtask``) during those;
- each dashboard request as the browser saw it (Resource Timing: request start to response end,
  bytes on the wire and decoded), the four fired at once and answered from one shared read.

Targets: dashboard ≤ 1 s, comparison ≤ 0.5 s, no long task over 100 ms. The last line is a JSON
object with the figures.

    .venv/bin/python benchmarks/ui_scale.py [--experiments 1000] [--runs 5] [--no-mlflow]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from experiments_platform.config import Settings  # noqa: E402
from experiments_platform.domain.dataset import Dataset  # noqa: E402
from experiments_platform.local.stack import LocalStack  # noqa: E402
from playwright.sync_api import Page, sync_playwright  # noqa: E402

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, LAPTOP, SAMPLE_DATASET  # noqa: E402
from tests.browser.seeding import seed_experiments  # noqa: E402

DASHBOARD_TARGET_MS = 1000
COMPARISON_TARGET_MS = 500
LONG_TASK_LIMIT_MS = 100

LONG_TASKS = """
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__longTasks.push(entry.duration);
}).observe({ type: "longtask", buffered: true });
"""

DASHBOARD_DRAWN = """(rows) => {
  const drawn = document.querySelectorAll('#leaderboard-table [role=row][data-id]').length >= rows
    && document.querySelector('#heatmap-table td.cell.best') !== null;
  if (drawn && window.__drawnAt === undefined) window.__drawnAt = performance.now();
  return drawn;
}"""

COMPARISON_DRAWN = """(count) => {
  const table = document.querySelector('#comparison-table');
  const drawn = table !== null && table.querySelectorAll('thead th').length === count + 2;
  if (drawn && window.__drawnAt === undefined) window.__drawnAt = performance.now();
  return drawn;
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def drawn_at(page: Page, script: str, arg: Any) -> float:
    page.wait_for_function(script, arg=arg, polling="raf", timeout=60_000)
    return float(page.evaluate("window.__drawnAt"))


def long_tasks(page: Page) -> list[float]:
    return [float(d) for d in page.evaluate("window.__longTasks")]


API_TIMINGS = """() => performance.getEntriesByType('resource')
  .filter((e) => e.name.includes('/api/dashboard/') && !e.name.includes('/mlflow'))
  .map((e) => ({ name: new URL(e.name).pathname.replace('/api/dashboard/', ''),
                 ms: e.responseEnd - e.startTime, wire: e.transferSize, decoded: e.decodedBodySize }))"""


def api_timings(page: Page) -> list[dict[str, Any]]:
    return list(page.evaluate(API_TIMINGS))


def measure(url: str, completed: int, compare_ids: list[str], runs: int) -> dict[str, Any]:
    dashboard, navigation_compare, click_compare = [], [], []
    requests: dict[str, list[dict[str, Any]]] = {}
    tasks: dict[str, list[float]] = {"dashboard": [], "comparison": [], "selection_and_comparison": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=LAPTOP)
        context.add_init_script(LONG_TASKS)
        warm = context.new_page()
        warm.goto(f"{url}/#/dashboard")
        drawn_at(warm, DASHBOARD_DRAWN, completed)
        warm.close()
        for _ in range(runs):
            page = context.new_page()
            page.goto(f"{url}/#/dashboard")
            dashboard.append(drawn_at(page, DASHBOARD_DRAWN, completed))
            page.wait_for_timeout(300)
            tasks["dashboard"] += long_tasks(page)
            for timing in api_timings(page):
                requests.setdefault(timing["name"], []).append(timing)
            page.close()

            page = context.new_page()
            page.goto(f"{url}/#/experiments?compare={','.join(compare_ids)}")
            navigation_compare.append(drawn_at(page, COMPARISON_DRAWN, len(compare_ids)))
            page.wait_for_timeout(300)
            tasks["comparison"] += long_tasks(page)
            page.close()

            page = context.new_page()
            page.goto(f"{url}/#/experiments")
            page.locator("#compare-button").click()
            for experiment_id in compare_ids:
                page.locator(f".select-row input[data-id='{experiment_id}']").check()
            page.evaluate("""() => {
                window.__drawnAt = undefined;
                document.querySelector('#compare-go').addEventListener('click', () => {
                  window.__clickedAt = performance.now();
                }, { capture: true, once: true });
            }""")
            page.locator("#compare-go").click()
            drawn = drawn_at(page, COMPARISON_DRAWN, len(compare_ids))
            click_compare.append(drawn - float(page.evaluate("window.__clickedAt")))
            page.wait_for_timeout(300)
            tasks["selection_and_comparison"] += long_tasks(page)
            page.close()
        browser.close()
    return {"dashboard": dashboard, "navigation_compare": navigation_compare, "click_compare": click_compare,
            "long_tasks": tasks, "requests": requests}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiments", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5, help="measurements of each view (median reported)")
    parser.add_argument("--no-mlflow", action="store_true", help="keep the per-epoch history in the results only")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="ui-scale-") as folder:
        mlflow_uri = f"http://127.0.0.1:{free_port()}"
        settings = Settings(data_dir=Path(folder), mlflow_tracking_uri=mlflow_uri)
        started = time.monotonic()
        with LocalStack(settings, port=0, with_mlflow=not args.no_mlflow, load_data=True) as stack:
            print(f"local stack up in {time.monotonic() - started:.1f} s at {stack.url}", flush=True)
            dataset = Dataset.model_validate(stack.platform.documents.get("datasets", SAMPLE_DATASET))
            started = time.monotonic()
            seeded = seed_experiments(stack.platform.documents, dataset, args.experiments,
                                      mlflow_uri=None if args.no_mlflow else mlflow_uri)
            seed_s = time.monotonic() - started
            print(f"loaded {len(seeded.ids)} experiments ({len(seeded.completed)} completed"
                  f"{'' if args.no_mlflow else ', each with an MLflow run'}) in {seed_s:.1f} s", flush=True)
            figures = measure(stack.url, len(seeded.completed), seeded.completed[:5], args.runs)

    dashboard_ms = statistics.median(figures["dashboard"])
    navigation_ms = statistics.median(figures["navigation_compare"])
    click_ms = statistics.median(figures["click_compare"])
    every_task = [t for view in figures["long_tasks"].values() for t in view]
    worst_task = max(every_task, default=0.0)
    over = [t for t in every_task if t > LONG_TASK_LIMIT_MS]
    worst_by_view = {view: round(max(found, default=0.0), 1) for view, found in figures["long_tasks"].items()}
    print(f"dashboard (leaderboard of {len(seeded.completed)} + heatmap) drawn after navigation: "
          f"median {dashboard_ms:.0f} ms, runs {[round(v) for v in figures['dashboard']]} "
          f"(target ≤ {DASHBOARD_TARGET_MS})")
    print(f"comparison of 5 drawn after navigation: median {navigation_ms:.0f} ms, "
          f"runs {[round(v) for v in figures['navigation_compare']]} (target ≤ {COMPARISON_TARGET_MS})")
    print(f"comparison of 5 drawn after the Compare click: median {click_ms:.0f} ms, "
          f"runs {[round(v) for v in figures['click_compare']]}")
    print(f"long tasks: {len(every_task)}, longest {worst_task:.0f} ms, {len(over)} over {LONG_TASK_LIMIT_MS} ms; "
          f"longest per view {worst_by_view}")
    requests = {
        name: {"median_ms": round(statistics.median(t["ms"] for t in found), 1),
               "wire_bytes": found[-1]["wire"], "decoded_bytes": found[-1]["decoded"]}
        for name, found in sorted(figures["requests"].items())
    }
    for name, figure in requests.items():
        print(f"  /api/dashboard/{name}: median {figure['median_ms']:.0f} ms, {figure['wire_bytes']:,} bytes on the "
              f"wire ({figure['decoded_bytes']:,} decoded)")
    met = dashboard_ms <= DASHBOARD_TARGET_MS and navigation_ms <= COMPARISON_TARGET_MS and not over
    print(json.dumps({
        "experiments": len(seeded.ids),
        "completed": len(seeded.completed),
        "seed_s": round(seed_s, 1),
        "dashboard_ms": round(dashboard_ms, 1),
        "comparison_navigation_ms": round(navigation_ms, 1),
        "comparison_click_ms": round(click_ms, 1),
        "longest_task_ms": round(worst_task, 1),
        "long_tasks_over_100ms": len(over),
        "longest_task_ms_by_view": worst_by_view,
        "dashboard_requests": requests,
        "runs": args.runs,
        "targets": {"dashboard_ms": DASHBOARD_TARGET_MS, "comparison_ms": COMPARISON_TARGET_MS,
                    "long_task_ms": LONG_TASK_LIMIT_MS},
        "targets_met": met,
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

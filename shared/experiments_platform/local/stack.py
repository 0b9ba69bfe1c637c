"""The whole platform on one machine.

``python -m experiments_platform.local.stack`` (the README's ``make run``): every service in one
process on the embedded defaults, gunicorn's worker (``local.server``, the WSGI server of Cloud Run):
the gateway and its UI on http://127.0.0.1:8080, the submitter
and status watcher subscribed on the embedded bus, the local build and pipeline runners (pipeline
environment subprocesses), an ``mlflow server`` subprocess with a SQLite backend, a reconcile
sweep every 30 s, and MovieLens 100k registered as datasets.

``--emulated`` (``make run-emulated``): as on Cloud Run, each service is its own process on its
own port, messages travel as push subscriptions of the Pub/Sub emulator to those ports,
documents live in the Firestore emulator (``scripts/emulators.sh`` starts both), and the services
call each other over HTTP (gateway → artifact_reader → tfdv_parser, ``service_urls``).

``--serve SERVICE --port N`` runs one service under gunicorn (what ``--emulated`` starts for each).
``LocalStack`` used as a context manager (tests, benchmarks) serves its gateway on a werkzeug thread.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlparse

import requests

from experiments_platform.bootstrap import Platform
from experiments_platform.config import Settings, load_settings
from experiments_platform.errors import ConfigurationError
from experiments_platform.events.topology import RECONCILE_PATH, SERVICES, SUBSCRIPTIONS
from experiments_platform.jsonlog import configure_logging, fields, get_logger
from experiments_platform.local.server import SERVICE_THREADS, gateway_threads, serve_wsgi
from experiments_platform.web.app import create_app

log = get_logger(__name__)

ROOT = Path(__file__).resolve().parents[3]
SERVICE_PORTS = {"api_gateway": 8080, "submitter": 8081, "status_watcher": 8082, "artifact_reader": 8083,
                 "tfdv_parser": 8084}
RECONCILE_EVERY_S = 30.0


def wait_for_http(url: str, timeout_s: float, process: subprocess.Popen[Any] | None = None) -> float:
    """Poll ``url`` until it answers 200; seconds waited. Fails early when ``process`` exits.

    Each probe asks the server to close its connection (``Connection: close``): a kept-alive probe
    connection that its client closes later comes back to a gthread worker as a readable socket and waits
    for a thread like a request, which a test of the shedding bound counted as one of its queued requests."""
    start = time.monotonic()
    while True:
        try:
            if requests.get(url, timeout=2, headers={"Connection": "close"}).status_code == 200:
                return time.monotonic() - start
        except requests.RequestException:
            pass
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the process serving {url} exited with code {process.returncode}")
        if time.monotonic() - start > timeout_s:
            raise TimeoutError(f"{url} did not answer within {timeout_s:.0f} s")
        time.sleep(0.2)


def stop_process(process: subprocess.Popen[Any] | None, timeout_s: float = 10.0) -> None:
    """Terminate a process group started by this module, then kill it if it lingers."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout_s)
    except ProcessLookupError:
        pass


class MlflowServer:
    """``mlflow server`` with a SQLite backend and a local artifact root under ``{data_dir}/mlflow``.

    One worker and no job execution: ~10 s and ~0.5 GiB here instead of ~25 s and 2+ GiB.
    """

    def __init__(self, settings: Settings) -> None:
        parsed = urlparse(settings.mlflow_tracking_uri)
        if parsed.scheme != "http" or parsed.hostname not in ("127.0.0.1", "localhost"):
            raise ConfigurationError(
                f"PLATFORM_MLFLOW_TRACKING_URI={settings.mlflow_tracking_uri!r}: the local stack starts its own "
                "server and needs an http://127.0.0.1:PORT URI (or pass --no-mlflow to use an existing server)"
            )
        self.url = settings.mlflow_tracking_uri.rstrip("/")
        self.port = parsed.port or 5000
        self.folder = (settings.data_dir / "mlflow").resolve()
        self.process: subprocess.Popen[bytes] | None = None

    def already_running(self) -> bool:
        try:
            return requests.get(f"{self.url}/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def start(self, timeout_s: float = 120.0) -> None:
        if self.already_running():
            log.info("mlflow server already running", extra=fields(url=self.url))
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        executable = Path(sys.executable).with_name("mlflow")
        command = [
            str(executable) if executable.exists() else "mlflow", "server",
            "--backend-store-uri", f"sqlite:///{self.folder / 'mlflow.db'}",
            "--default-artifact-root", (self.folder / "artifacts").as_uri(),
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
        ]
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        log_file = (self.folder / "server.log").open("ab")
        self.process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, env=env,
                                        start_new_session=True)
        waited = wait_for_http(f"{self.url}/health", timeout_s, self.process)
        log.info("mlflow server started", extra=fields(url=self.url, seconds=round(waited, 1)))

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None


def prewarm_pipeline_worker(platform: Platform) -> None:
    """Start the spare pipeline-environment worker now, so the first quick test does not wait for its imports."""
    if platform.settings.build_service == "local":
        platform.builds.prewarm()  # type: ignore[attr-defined]


def register_movielens(platform: Platform, sample_users: int = 50) -> list[str]:
    """MovieLens 100k and its first-``sample_users``-users sample as datasets (idempotent)."""
    from experiments_platform.data.movielens import movielens_dataset, movielens_sample

    registered = []
    for dataset in (movielens_dataset(platform.settings.data_dir),
                    movielens_sample(platform.settings.data_dir, sample_users)):
        if platform.documents.get("datasets", dataset.id) is None:
            platform.documents.set("datasets", dataset.id, dataset.to_document())
        registered.append(dataset.id)
    return registered


class HttpServer:
    """A threaded WSGI server on a background thread (werkzeug)."""

    def __init__(self, app: Any, host: str, port: int) -> None:
        from werkzeug.serving import make_server

        self.server = make_server(host, port, app, threaded=True)
        self.url = f"http://{host}:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name=f"http-{port}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


class Sweeper:
    """Calls ``action`` every ``every_s`` seconds on a daemon thread (the Cloud Scheduler of one machine)."""

    def __init__(self, action: Any, every_s: float = RECONCILE_EVERY_S) -> None:
        self.action = action
        self.every_s = every_s
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="reconcile-sweep", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.action()
            except Exception:
                log.exception("reconcile sweep failed")

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self.thread.is_alive():
            self.thread.join(timeout=10)


class LocalStack:
    """All services in one process on the embedded defaults."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        with_mlflow: bool = True,
        load_data: bool = True,
        reconcile_every_s: float = RECONCILE_EVERY_S,
        platform: Platform | None = None,
    ) -> None:
        self.settings = settings or load_settings()
        if self.settings.event_bus != "embedded":
            raise ConfigurationError(
                "the all-in-one stack needs PLATFORM_EVENT_BUS=embedded; use --emulated for Pub/Sub"
            )
        self.platform = platform or Platform(self.settings)
        self.host, self.port = host, port
        self.mlflow = MlflowServer(self.settings) if with_mlflow else None
        self.load_data = load_data
        self.sweeper = Sweeper(self._reconcile, reconcile_every_s)
        self.server: HttpServer | None = None
        self.app: Any = None

    @property
    def url(self) -> str:
        return self.server.url if self.server else f"http://{self.host}:{self.port}"

    def _reconcile(self) -> None:
        from experiments_platform.handlers.reconcile import reconcile

        reconcile(self.platform)

    def start(self, *, serve_http: bool = True) -> LocalStack:
        """Start every part; the gateway on a werkzeug thread when ``serve_http``, else only built
        (``self.app``) for the caller's server (``main`` hands it to gunicorn)."""
        from experiments_platform.web.push import embedded_subscriptions

        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        if self.mlflow:
            self.mlflow.start()
        if self.load_data:
            datasets = register_movielens(self.platform)
            log.info("datasets registered", extra=fields(datasets=datasets))
        embedded_subscriptions(self.platform)
        prewarm_pipeline_worker(self.platform)
        self.app = create_app("api_gateway", self.platform)
        if serve_http:
            self.server = HttpServer(self.app, self.host, self.port)
            self.server.start()
        self.sweeper.start()
        log.info("local stack running", extra=fields(url=self.url, mlflow=self.settings.mlflow_tracking_uri))
        return self

    def stop(self) -> None:
        self.sweeper.stop()
        if self.server:
            self.server.stop()
        for port in ("builds", "pipelines"):
            if self.platform.is_built(port):
                closer = getattr(getattr(self.platform, port), "close", None)
                if callable(closer):
                    closer()
        self.platform.close()
        if self.mlflow:
            self.mlflow.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def emulated_environment(settings: Settings, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of each service process in emulated mode (Firestore and Pub/Sub emulators)."""
    env = dict(os.environ if environ is None else environ)
    for variable in ("PUBSUB_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST"):
        if not env.get(variable):
            raise ConfigurationError(f"{variable} is not set: start the emulators (make emulators-start) and export it")
    env.update({
        "PLATFORM_DOCUMENT_STORE": "firestore",
        "PLATFORM_EVENT_BUS": "pubsub",
        "PLATFORM_GCP_PROJECT": settings.gcp_project or env.get("PLATFORM_GCP_PROJECT") or "local-emulated",
        "PLATFORM_DATA_DIR": str(settings.data_dir.resolve()),
        "PLATFORM_MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri,
    })
    return env


class EmulatedStack:
    """Each service its own process; Pub/Sub emulator push subscriptions to their ports."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        ports: Mapping[str, int] | None = None,
        with_mlflow: bool = True,
        load_data: bool = True,
        reconcile_every_s: float = RECONCILE_EVERY_S,
        environ: Mapping[str, str] | None = None,
        services: tuple[str, ...] = SERVICES,
    ) -> None:
        self.settings = settings or load_settings()
        self.env = emulated_environment(self.settings, environ)
        self.services = services
        self.project = self.env["PLATFORM_GCP_PROJECT"]
        self.ports = dict(ports or SERVICE_PORTS)
        self.mlflow = MlflowServer(self.settings) if with_mlflow else None
        self.load_data = load_data
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.sweeper = Sweeper(self._reconcile, reconcile_every_s)

    def base_url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def url(self) -> str:
        return self.base_url("api_gateway" if "api_gateway" in self.services else self.services[0])

    def service_urls(self) -> dict[str, str]:
        """``PLATFORM_*_URL`` of the called services this stack runs, as Terraform sets them on Cloud Run."""
        called = {"artifact_reader": "PLATFORM_ARTIFACT_READER_URL", "tfdv_parser": "PLATFORM_TFDV_PARSER_URL"}
        return {variable: self.base_url(service) for service, variable in called.items() if service in self.services}

    def _reconcile(self) -> None:
        requests.post(self.base_url("status_watcher") + RECONCILE_PATH, timeout=60).raise_for_status()

    def provision(self) -> None:
        from experiments_platform.adapters.pubsub_push import provision

        saved = os.environ.get("PUBSUB_EMULATOR_HOST")
        os.environ["PUBSUB_EMULATOR_HOST"] = self.env["PUBSUB_EMULATOR_HOST"]
        try:
            chosen = [s for s in SUBSCRIPTIONS if s.service in self.services]
            provision(self.project, chosen, {s: self.base_url(s) for s in self.services})
        finally:
            if saved is None:
                os.environ.pop("PUBSUB_EMULATOR_HOST", None)
            else:
                os.environ["PUBSUB_EMULATOR_HOST"] = saved

    def start(self, timeout_s: float = 60.0) -> EmulatedStack:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        logs = self.settings.data_dir / "logs" / "services"
        logs.mkdir(parents=True, exist_ok=True)
        if self.mlflow:
            self.mlflow.start()
        for service in self.services:
            command = [sys.executable, "-m", "experiments_platform.local.stack", "--serve", service,
                       "--port", str(self.ports[service])]
            env = {**self.env, **self.service_urls(), "PLATFORM_SERVICE": service}
            out = (logs / f"{service}.log").open("ab")
            self.processes[service] = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                                       cwd=str(ROOT), start_new_session=True)
        for service, process in self.processes.items():
            wait_for_http(f"{self.base_url(service)}/healthz", timeout_s, process)
        self.provision()
        if self.load_data:
            platform = Platform(Settings.model_validate({
                **self.settings.model_dump(), "document_store": "firestore", "gcp_project": self.project,
            }))
            saved = os.environ.get("FIRESTORE_EMULATOR_HOST")
            os.environ["FIRESTORE_EMULATOR_HOST"] = self.env["FIRESTORE_EMULATOR_HOST"]
            try:
                register_movielens(platform)
            finally:
                platform.close()
                if saved is None:
                    os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
        if "status_watcher" in self.services:
            self.sweeper.start()
        log.info("emulated stack running", extra=fields(url=self.url, ports=self.ports, project=self.project))
        return self

    def stop(self) -> None:
        if self.sweeper.thread.is_alive():
            self.sweeper.stop()
        for process in self.processes.values():
            stop_process(process)
        self.processes.clear()
        if self.mlflow:
            self.mlflow.stop()

    def __enter__(self) -> EmulatedStack:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def serve(service: str, port: int, host: str = "127.0.0.1") -> None:
    """Run one service under gunicorn, as on Cloud Run, until SIGTERM/SIGINT (one worker: its platform
    is built in the worker)."""
    settings = load_settings()
    configure_logging(service, settings.gcp_project)
    built: list[Platform] = []

    def load() -> Any:
        platform = Platform(settings)
        built.append(platform)
        if service == "submitter":
            prewarm_pipeline_worker(platform)
        if service == "api_gateway":
            warm_in_background(platform)
        return create_app(service, platform)

    def close() -> None:
        for platform in built:
            platform.close()

    gateway = service == "api_gateway"
    threads = gateway_threads(settings.gateway_max_in_flight) if gateway else SERVICE_THREADS
    log.info("service listening", extra=fields(url=f"http://{host}:{port}", server="gunicorn", threads=threads))
    serve_wsgi(load, f"{host}:{port}", threads=threads, name=service, stop=close,
               max_queued=settings.gateway_max_queued if gateway else 0)


def run_all_in_one(args: argparse.Namespace) -> None:
    """The all-in-one stack in gunicorn's one worker process (the embedded bus is in-process): its
    gateway served as on Cloud Run, with as many threads as its backpressure needs."""
    settings = load_settings()
    stacks: list[LocalStack] = []

    def load() -> Any:
        stack = LocalStack(settings, host=args.host, port=args.port, with_mlflow=not args.no_mlflow,
                           load_data=not args.no_data)
        stacks.append(stack)
        return stack.start(serve_http=False).app

    def ready() -> None:
        for stack in stacks:
            warm_in_background(stack.platform)
        url = f"http://{args.host}:{args.port}"
        print(f"Experiments platform on {url}  (MLflow {settings.mlflow_tracking_uri}); Ctrl+C stops it",
              flush=True)
        if args.demo:
            threading.Thread(target=_demo, args=(url,), name="demo", daemon=True).start()

    def stop() -> None:
        for stack in stacks:
            stack.stop()

    serve_wsgi(load, f"{args.host}:{args.port}", threads=gateway_threads(settings.gateway_max_in_flight),
               name="experiments-platform", ready=ready, stop=stop, max_queued=settings.gateway_max_queued)


def warm_in_background(platform: Platform) -> None:
    """The gateway's experiment index loaded on a thread as the worker starts serving, not by its
    first request, then kept out of full garbage collections (``experiment_index.warm``)."""
    from experiments_platform.repositories.experiment_index import warm

    def run() -> None:
        try:
            warm(platform.documents)
        except Exception:
            log.exception("the experiment index could not be loaded ahead; the first request loads it")

    threading.Thread(target=run, name="warm-index", daemon=True).start()


def _demo(url: str) -> None:
    from experiments_platform.local.demo import launch_demo

    wait_for_http(f"{url}/healthz", 60)
    started = launch_demo(url)
    print(f"Demo quick test started: {url}/#/experiments" if started
          else "Experiments exist already: no demo quick test started", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments_platform.local.stack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--emulated", action="store_true", help="one process per service on the emulators")
    parser.add_argument("--serve", choices=SERVICES, help="run only this service")
    parser.add_argument("--port", type=int, default=8080, help="gateway port (or the --serve service's port)")
    parser.add_argument("--host", default="127.0.0.1", help="address the gateway listens on")
    parser.add_argument("--no-mlflow", action="store_true", help="use an MLflow server that is already running")
    parser.add_argument("--no-data", action="store_true", help="do not register MovieLens 100k")
    parser.add_argument("--demo", action="store_true",
                        help="start a MovieLens 100k quick test through the API when there is no experiment yet")
    args = parser.parse_args(argv)
    if args.demo and args.no_data:
        parser.error("--demo needs the MovieLens datasets: drop --no-data")
    if args.serve:
        serve(args.serve, args.port)
        return 0
    configure_logging("local-stack")
    if not args.emulated:
        run_all_in_one(args)
        return 0
    ports = {**SERVICE_PORTS, "api_gateway": args.port}
    stack = EmulatedStack(ports=ports, with_mlflow=not args.no_mlflow, load_data=not args.no_data)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    with stack:
        print(f"Experiments platform on {stack.url}  (MLflow {stack.settings.mlflow_tracking_uri}); Ctrl+C stops it",
              flush=True)
        if args.demo:
            from experiments_platform.local.demo import launch_demo

            started = launch_demo(stack.url)
            print(f"Demo quick test started: {stack.url}/#/experiments" if started
                  else "Experiments exist already: no demo quick test started", flush=True)
        stopping.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())

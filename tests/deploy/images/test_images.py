"""Every image built from the repository's Dockerfiles, and run the way Google Cloud runs it.

* Cloud Run: the image's own user and CMD, ``PORT`` set (here not 8080, so binding ``$PORT`` is
  checked), ``K_SERVICE``/``K_REVISION``/``K_CONFIGURATION`` as Cloud Run's container contract sets
  them (cloud.google.com/run/docs/container-contract); ``/healthz`` must answer.
* Cloud Build: each step of ``cloudbuild/compile-and-submit.yaml`` with its substitutions, as the
  image's own user, with ``/workspace``, ``/builder/home`` (``HOME``) and ``$BUILDER_OUTPUT``
  (``/builder/outputs``) mounted root-owned and 0755, as Cloud Build mounts them (public reports of
  non-root steps failing there: GoogleCloudPlatform/cloud-builders#641, GoogleCloudPlatform/ruby-docker#205);
  the submit step's Vertex AI client talks to a local recorder of the PipelineService.
* Vertex AI: one component (StatisticsGen) started with the command and arguments of the compiled
  spec, ``{{$}}`` replaced by an ExecutorInput on local files, as the image's user.
* Dataflow: what a custom SDK container needs (Beam's boot program as entrypoint, the same Beam as
  the lock, the SDK harness module the boot program starts).

Base images are the stand-ins of ``docker/standins`` (decision 080 says how they differ).
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from deploy_model import REPO, parse, service_build
from experiments_platform.events import google_events, topology
from grpc_recorder import GrpcRecorder
from podman import build, build_standins, container, free_port, image_config, logs, podman, record
from test_build_steps_run import EXPERIMENT, build_substitutions, recording_vertex, spec, substitute

TAG = "localhost/experiments-platform/{}:test"
STARTUP_TIMEOUT_S = 120
BUILDER_OUTPUT = "/builder/outputs"
ROWS = 20_000


@pytest.fixture(scope="session")
def standins() -> None:
    build_standins()


_built: dict[str, str] = {}


def image(name: str, dockerfile: Path, args: dict[str, str] | None = None) -> str:
    """The image, built once per session (one build at a time)."""
    if name not in _built:
        _built[name] = build(dockerfile, TAG.format(name), args)
    return _built[name]


def hcl_string(value: str) -> str:
    """A Terraform string literal's value (python-hcl2 keeps its escapes)."""
    return value.replace('\\"', '"').replace("\\\\", "\\")


def wait_for_health(port: int, cid: str, path: str = "/healthz", host: str | None = None) -> requests.Response:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    headers = {"Connection": "close", **({"Host": host} if host else {})}
    while time.monotonic() < deadline:
        state = podman("inspect", "--format", "{{.State.Running}}", cid, check=False).stdout.strip()
        assert state == "true", f"container exited:\n{logs(cid)[-3000:]}"
        try:
            return requests.get(f"http://127.0.0.1:{port}{path}", timeout=5, headers=headers)
        except requests.ConnectionError:
            time.sleep(0.25)
    raise AssertionError(f"no answer on {path} within {STARTUP_TIMEOUT_S}s:\n{logs(cid)[-3000:]}")


# --- Cloud Run services --------------------------------------------------------------------------


@pytest.mark.parametrize("service", topology.SERVICES)
def test_the_service_answers_healthz_as_cloud_run_starts_it(service: str, standins: None) -> None:
    dockerfile, args = service_build(service)
    tag = image(service.replace("_", "-"), dockerfile, args)
    port, inner = free_port(), 9090
    started = time.monotonic()
    with container(tag, "-p", f"127.0.0.1:{port}:{inner}", "-e", f"PORT={inner}",
                   "-e", f"K_SERVICE={service.replace('_', '-')}", "-e", "K_REVISION=r1", "-e", "K_CONFIGURATION=c1",
                   "-e", "PLATFORM_DATA_DIR=/tmp/platform") as cid:
        response = wait_for_health(port, cid)
        record("start", service, time.monotonic() - started)
        assert response.status_code == 200, response.text
        assert podman("exec", cid, "id", "-u").stdout.strip() == "10001", "the image's own user"
        assert "[ERROR]" not in logs(cid), logs(cid)[-3000:]
        if service == "artifact_reader":  # component logs read the pipeline job (issue 13 item 7)
            podman("exec", cid, "python", "-c", "from google.cloud.aiplatform_v1 import PipelineServiceClient")


def test_mlflow_migrates_with_the_job_command_and_serves_both_cloud_run_host_names(standins: None) -> None:
    tag = image("mlflow", REPO / "docker" / "mlflow" / "Dockerfile")
    module = (REPO / "terraform" / "modules" / "mlflow" / "main.tf")
    resources = {name: body for block in parse(module)["resource"] for rtype, named in block.items()
                 if rtype == "google_cloud_run_v2_job" for name, body in named.items()}
    [task] = resources["migrate"]["template"][0]["template"]
    [job] = task["containers"]
    store = "sqlite:////home/mlflow/mlflow.db"  # Cloud SQL PostgreSQL in deployment
    command = [hcl_string(a) for a in [*job["command"], *job["args"]]]
    podman("run", "--rm", "-e", f"MLFLOW_BACKEND_STORE_URI={store}", "--entrypoint", command[0], tag, *command[1:],
           timeout=300)

    [server] = [b["server"] for b in parse(module)["module"] if "server" in b]
    allowed = (server["env"]["MLFLOW_SERVER_ALLOWED_HOSTS"]
               .replace("${local.service_host}", "mlflow-123456789.europe-west1.run.app")
               .replace("${local.service_name}", "mlflow"))
    port = free_port()
    with container(tag, "-p", f"127.0.0.1:{port}:8080", "-e", f"MLFLOW_SERVER_ALLOWED_HOSTS={allowed}",
                   "-e", f"MLFLOW_BACKEND_STORE_URI={store}") as cid:
        assert wait_for_health(port, cid, "/health", host="localhost:8080").status_code == 200
        for host in ("mlflow-123456789.europe-west1.run.app", "mlflow-abcdefghij-ew.a.run.app"):
            answer = requests.get(f"http://127.0.0.1:{port}/api/2.0/mlflow/experiments/search?max_results=1",
                                  headers={"Host": host}, timeout=30)
            assert answer.status_code == 200, (host, answer.status_code, answer.text[:300])
        foreign = requests.get(f"http://127.0.0.1:{port}/api/2.0/mlflow/experiments/search?max_results=1",
                               headers={"Host": "evil.example.com"}, timeout=30)
        assert foreign.status_code == 403, foreign.status_code


# --- Cloud Build steps ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vertex() -> Iterator[GrpcRecorder]:
    with recording_vertex() as recorder:
        yield recorder


class CloudBuild:
    """Runs steps of a build config as Cloud Build does, in one root-owned workspace."""

    def __init__(self, root: Path, substitutions: dict[str, str], config: dict[str, Any]) -> None:
        self.substitutions = substitutions
        self.config = config
        self.dirs = {"/workspace": root / "workspace", "/builder/home": root / "home", BUILDER_OUTPUT: root / "outputs"}
        for path in self.dirs.values():
            path.mkdir(parents=True)
            os.chown(path, 0, 0)
            path.chmod(0o755)

    def step(self, step_id: str, *, user: str | None = None, mounts: tuple[str, ...] = (),
             replace_module: tuple[str, list[str]] | None = None) -> Any:
        [step] = [s for s in self.config["steps"] if s["id"] == step_id]
        args = [substitute(a, self.substitutions) for a in step["args"]]
        if replace_module:  # the same main() with the Vertex AI client bound to the recorder
            module, wrapper = replace_module
            assert args[:2] == ["-m", module]
            args = [*wrapper, *args[2:]]
        env = [substitute(e, self.substitutions) for e in self.config["options"]["env"]]
        options = ["--rm", "--network", "host", "--workdir", "/workspace", "-e", "HOME=/builder/home",
                   "-e", f"BUILDER_OUTPUT={BUILDER_OUTPUT}", *[a for e in env for a in ("-e", e)], *mounts]
        for inside, outside in self.dirs.items():
            options += ["-v", f"{outside}:{inside}"]
        if user:
            options += ["--user", user]
        name = substitute(step["name"], self.substitutions)
        return podman("run", *options, "--entrypoint", step["entrypoint"], name, *args, check=False, timeout=900)


@pytest.fixture(scope="module")
def compiler(standins: None) -> str:
    return image("tfx-compiler", REPO / "docker" / "tfx-compiler" / "Dockerfile")


def build_config() -> dict[str, Any]:
    return yaml.safe_load((REPO / "cloudbuild" / "compile-and-submit.yaml").read_text())


@pytest.fixture(scope="module")
def compiled(compiler: str, vertex: GrpcRecorder, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Compile then submit, as the build runs them; the compiled pipeline job for the Vertex test."""
    inputs = tmp_path_factory.mktemp("inputs")
    (inputs / "spec.json").write_text(spec().to_json())
    inputs.chmod(0o755)
    (inputs / "spec.json").chmod(0o644)
    build_ = CloudBuild(tmp_path_factory.mktemp("build"), build_substitutions("file:///inputs/spec.json", compiler),
                        build_config())
    mounts = ("-v", f"{inputs}:/inputs:ro", "-v", f"{Path(__file__).parents[1]}:/tests:ro")
    started = time.monotonic()
    compiled_step = build_.step("compile", mounts=mounts)
    assert compiled_step.returncode == 0, compiled_step.stderr[-3000:]
    record("run", "compile step", time.monotonic() - started)
    submitted = build_.step("submit", mounts=mounts, replace_module=(
        "experiments_platform.adapters.vertex_pipelines", ["/tests/run_submit_step.py", vertex.address]))
    assert submitted.returncode == 0, submitted.stderr[-3000:]
    output = (build_.dirs[BUILDER_OUTPUT] / "output").read_bytes()
    return {"job": json.loads((build_.dirs["/workspace"] / "pipeline.json").read_text()), "output": output,
            "build": build_, "mounts": mounts}


def test_compile_and_submit_run_as_cloud_build_runs_them(compiled: dict[str, Any], vertex: GrpcRecorder) -> None:
    [request] = vertex.of("CreatePipelineJob")
    assert request.parent == "projects/demo/locations/europe-west1"
    assert request.pipeline_job.labels["experiment_id"] == EXPERIMENT
    build = google_events.build_resource("b-1", EXPERIMENT, "SUCCESS", project="demo")
    build["results"] = {"buildStepOutputs": ["", base64.b64encode(compiled["output"]).decode()]}
    event = google_events.parse_build(build)
    assert event is not None
    assert event.pipeline_job_name == f"{request.parent}/pipelineJobs/{request.pipeline_job_id}"


def test_a_non_root_step_user_cannot_write_cloud_builds_workspace(compiled: dict[str, Any],
                                                                  vertex: GrpcRecorder) -> None:
    """Why the compiler image runs as root (blocker 1): as USER 10001 the compile step cannot write
    /workspace, and the submit step creates the Vertex AI job, then cannot write $BUILDER_OUTPUT,
    so the build fails with a job running that no notification names."""
    build_: CloudBuild = compiled["build"]
    result = build_.step("compile", user="10001:10001", mounts=compiled["mounts"])
    assert result.returncode != 0
    assert "Permission denied" in result.stderr, result.stderr[-2000:]

    jobs_before = len(vertex.of("CreatePipelineJob"))
    submitted = build_.step("submit", user="10001:10001", mounts=compiled["mounts"], replace_module=(
        "experiments_platform.adapters.vertex_pipelines", ["/tests/run_submit_step.py", vertex.address]))
    assert submitted.returncode != 0
    assert "Permission denied" in submitted.stderr, submitted.stderr[-2000:]
    assert len(vertex.of("CreatePipelineJob")) == jobs_before + 1, "the job was created before the failure"


# --- Vertex AI component and Dataflow harness ---------------------------------------------------


@pytest.fixture(scope="module")
def pipeline_image(standins: None) -> str:
    return image("tfx-pipeline", REPO / "docker" / "tfx-pipeline" / "Dockerfile")


def test_the_pipeline_image_is_what_dataflow_starts(pipeline_image: str) -> None:
    config = image_config(pipeline_image)
    assert config["Entrypoint"] == ["/opt/apache/beam/boot"]
    assert str(config["User"]) == "10001"
    lock = (REPO / "requirements" / "tfx-1.16-py3.10.lock").read_text()
    version = re.search(r"^apache-beam==([\d.]+)$", lock, re.M)
    assert version
    check = ("import os, sys, apache_beam, apache_beam.runners.worker.sdk_worker_main; "
             "assert os.access('/opt/apache/beam/boot', os.X_OK); "
             f"assert apache_beam.__version__ == {version.group(1)!r}, apache_beam.__version__; "
             "assert sys.version_info[:2] == (3, 10), sys.version")
    podman("run", "--rm", "--entrypoint", "python", pipeline_image, "-c", check, timeout=300)


def executor_input(task: dict[str, Any], data: str, out: str) -> dict[str, Any]:
    """The ExecutorInput Vertex AI hands StatisticsGen, with local paths for its artifacts."""
    parameters = {name: value["runtimeValue"]["constantValue"]["stringValue"]
                  for name, value in task["inputs"]["parameters"].items()}
    return {
        "inputs": {
            "artifacts": {"examples": {"artifacts": [{
                "name": "projects/1/locations/europe-west1/metadataStores/default/artifacts/1",
                "type": {"schemaTitle": "tfx.Examples"}, "uri": data,
                "metadata": {"split_names": '["train", "eval"]', "span": 0, "version": 0},
            }]}},
            "parameterValues": parameters,
        },
        "outputs": {
            "artifacts": {"statistics": {"artifacts": [{
                "name": "projects/1/locations/europe-west1/metadataStores/default/artifacts/2",
                "type": {"schemaTitle": "tfx.ExampleStatistics"}, "uri": f"{out}/statistics", "metadata": {},
            }]}},
            "outputFile": f"{out}/task/executor_output.json",
        },
    }


@pytest.mark.parametrize("workers", [None, 2], ids=["compiled-args", "sdk-harness-processes"])
def test_a_component_runs_as_vertex_ai_starts_it(pipeline_image: str, compiled: dict[str, Any], tmp_path: Path,
                                                 workers: int | None) -> None:
    """StatisticsGen with the compiled spec's command and arguments (a quick test: Beam in process);
    then with worker processes, the SDK harness (sdk_worker_main) that larger samples use on Vertex AI
    and that Beam's boot program starts on Dataflow."""
    from tensorflow_metadata.proto.v0 import statistics_pb2

    data, out = tmp_path / "examples", tmp_path / "out"
    data.mkdir()
    out.mkdir()
    out.chmod(0o777)  # Vertex AI's outputs are gs:// paths the job's service account may write
    podman("run", "--rm", "--user", "0", "-v", f"{data}:/data", "-v", f"{Path(__file__).parent}:/helpers:ro",
           "--entrypoint", "python", pipeline_image, "/helpers/make_examples.py", "/data", str(ROWS), timeout=300)

    job = compiled["job"]["pipelineSpec"]
    task = job["root"]["dag"]["tasks"]["StatisticsGen"]
    container_spec = job["deploymentSpec"]["executors"]["StatisticsGen_executor"]["container"]
    command, args = container_spec["command"], list(container_spec["args"])
    assert "--direct_running_mode=in_memory" in args
    if workers:
        args = [a for a in args if not a.startswith(("--direct_running_mode=", "--direct_num_workers="))]
        args += ["--direct_running_mode=multi_processing", f"--direct_num_workers={workers}"]
    invocation = json.dumps(executor_input(task, "/data", "/out"))
    args = [invocation if a == "{{$}}" else a for a in args]
    started = time.monotonic()
    result = podman("run", "--rm", "-v", f"{data}:/data:ro", "-v", f"{out}:/out", "--entrypoint", command[0],
                    pipeline_image, *command[1:], *args, check=False, timeout=900)
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-4000:]
    record("run", f"StatisticsGen {ROWS} rows, {f'{workers} worker processes' if workers else 'in process'}", seconds)

    stats = statistics_pb2.DatasetFeatureStatisticsList()
    stats.ParseFromString((out / "statistics" / "Split-train" / "FeatureStats.pb").read_bytes())
    [dataset] = stats.datasets
    assert dataset.num_examples == ROWS * 9 // 10
    assert {f.path.step[0] for f in dataset.features} == {"user_id", "item_id", "rating"}
    output = json.loads((out / "task" / "executor_output.json").read_text())
    assert output["artifacts"]["statistics"]["artifacts"][0]["uri"] == "/out/statistics"

"""The build's compile step: quick-test spec → compiled pipeline.

``python -m experiments_platform.pipeline.compile --spec-uri URI --output PATH [--target local|vertex]``

``local``: the TFX intermediate representation (pipeline IR JSON) that ``run_local`` executes with
LocalDagRunner, MLMD in ``{pipeline_root}/metadata.sqlite``. ``vertex``: the Vertex AI pipeline
job JSON from KubeflowV2DagRunner (offline; components refer to module paths baked into the
pipeline image). The target defaults to ``PLATFORM_PIPELINE_SERVICE``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import tensorflow as tf

from experiments_platform.config import Settings, load_settings
from experiments_platform.domain.pipeline_spec import QuickTestSpec
from experiments_platform.errors import ConfigurationError
from experiments_platform.pipeline.definition import VertexTarget, create_pipeline
from experiments_platform.pipeline.evaluator import uri_path


def read_text(uri: str) -> str:
    with tf.io.gfile.GFile(uri_path(uri)) as source:
        return source.read()


def write_text(uri: str, text: str) -> None:
    path = uri_path(uri)
    if os.path.dirname(path):
        tf.io.gfile.makedirs(os.path.dirname(path))
    with tf.io.gfile.GFile(path, "w") as out:
        out.write(text)


def metadata_path(spec: QuickTestSpec) -> str:
    return f"{uri_path(spec.pipeline_root)}/metadata.sqlite"


def compile_local(spec: QuickTestSpec) -> str:
    """Pipeline IR JSON for LocalDagRunner."""
    from google.protobuf import json_format
    from tfx.dsl.compiler import compiler

    pipeline = create_pipeline(spec, runner="local", metadata_path=metadata_path(spec))
    return json_format.MessageToJson(compiler.Compiler().compile(pipeline), sort_keys=True)


def vertex_target(settings: Settings) -> VertexTarget:
    missing = [name for name, value in (
        ("PLATFORM_GCP_PROJECT", settings.gcp_project), ("PLATFORM_PIPELINE_IMAGE", settings.pipeline_image),
        ("PLATFORM_STAGING_URI", settings.staging_uri),
    ) if not value]
    if missing:
        raise ConfigurationError(f"compiling for Vertex AI needs {', '.join(missing)}")
    assert settings.gcp_project and settings.pipeline_image and settings.staging_uri
    return VertexTarget(
        project=settings.gcp_project, region=settings.gcp_region, pipeline_image=settings.pipeline_image,
        staging_uri=settings.staging_uri, service_account=settings.pipeline_service_account,
    )


def compile_vertex(spec: QuickTestSpec, target: VertexTarget) -> str:
    """Vertex AI pipeline job JSON (KubeflowV2DagRunner), compiled offline."""
    from tfx import v1 as tfx

    pipeline = create_pipeline(spec, runner="vertex", vertex=target)
    with tempfile.TemporaryDirectory() as scratch:
        output = os.path.join(scratch, "pipeline.json")
        runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
            config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=target.pipeline_image),
            output_filename=output,
        )
        runner.run(pipeline, write_out=True)
        with open(output) as compiled:
            return compiled.read()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec-uri", required=True, help="file:// or gs:// URI of spec.json")
    parser.add_argument("--output", required=True, help="path or URI of the compiled pipeline")
    parser.add_argument("--target", choices=("local", "vertex"), help="default: PLATFORM_PIPELINE_SERVICE")
    args = parser.parse_args(argv)
    started = time.monotonic()
    settings = load_settings()
    spec = QuickTestSpec.from_json(read_text(args.spec_uri))
    target = args.target or settings.pipeline_service
    text = compile_local(spec) if target == "local" else compile_vertex(spec, vertex_target(settings))
    write_text(args.output, text)
    print(json.dumps({"compiled": args.output, "target": target, "pipeline_name": spec.pipeline_name,
                      "seconds": round(time.monotonic() - started, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

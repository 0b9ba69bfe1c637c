"""``/api/datasets``, ``/api/feature-configs``, ``/api/model-configs``: create, list, get, update, duplicate,
delete; ``/api/datasets/uploads``: a dataset from an uploaded file."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify, request

from experiments_platform.errors import InvalidInput
from experiments_platform.handlers import configs, data_sources
from experiments_platform.ports.documents import Filter
from experiments_platform.web.args import json_body
from experiments_platform.web.context import platform

Creator = Callable[[Any], dict[str, Any]]
Updater = Callable[[str, Any], dict[str, Any]]


def _config_blueprint(
    name: str, url: str, id_name: str, kind: configs.ConfigKind, create: Creator, update: Updater,
    list_filters: Callable[[], list[Filter]] = list,
) -> Blueprint:
    blueprint = Blueprint(name, __name__, url_prefix=url)

    @blueprint.get("")
    def list_all() -> Response:
        return jsonify(configs.list_documents(platform().documents, kind, list_filters()))

    @blueprint.post("")
    def create_one() -> tuple[Response, int]:
        return jsonify(create(json_body())), 201

    @blueprint.get(f"/<{id_name}>")
    def get_one(**ids: str) -> Response:
        return jsonify(configs.load(platform().documents, kind, ids[id_name]))

    @blueprint.put(f"/<{id_name}>")
    def update_one(**ids: str) -> Response:
        return jsonify(update(ids[id_name], json_body()))

    @blueprint.delete(f"/<{id_name}>")
    def delete_one(**ids: str) -> tuple[str, int]:
        configs.delete(platform().documents, kind, ids[id_name])
        return "", 204

    @blueprint.post(f"/<{id_name}>/duplicate")
    def duplicate_one(**ids: str) -> tuple[Response, int]:
        body = json_body(required=False)
        return jsonify(configs.duplicate(platform().documents, kind, ids[id_name], body)), 201

    return blueprint


def create_upload_blueprint() -> Blueprint:
    """``POST /api/datasets/uploads``: a CSV or Parquet file (multipart field ``file``) and the dataset's fields."""
    blueprint = Blueprint("dataset_uploads", __name__)

    @blueprint.post("/api/datasets/uploads")
    def upload() -> tuple[Response, int]:
        if request.mimetype != "multipart/form-data":
            raise InvalidInput("send multipart/form-data with the file in the field 'file' and the dataset's fields "
                               "(name, query_id_column, candidate_id_column, date_column, description)", field="file")
        file = request.files.get("file")
        if file is None or not file.filename:
            raise InvalidInput("file is required: a CSV or Parquet file in the multipart field 'file'", field="file")
        ports = platform()
        dataset = configs.register_upload(ports.documents, ports.warehouse, ports.blobs,
                                          ports.settings.resolved_uploads_uri, file.filename, file.stream,
                                          request.form.to_dict())
        return jsonify(dataset), 201

    upload.max_body_bytes = lambda: platform().settings.upload_max_bytes  # type: ignore[attr-defined]
    return blueprint


def _update_dataset(dataset_id: str, body: Any) -> dict[str, Any]:
    """Register the dataset again; its source history kept, a changed file re-runs its watches (decision 082)."""
    before = configs.load(platform().documents, configs.DATASETS, dataset_id)
    after = configs.update_dataset(platform().documents, platform().warehouse, dataset_id, body)
    return data_sources.on_reregistered(platform(), before, after)


def _dataset_filter() -> list[Filter]:
    dataset_id = request.args.get("dataset_id")
    return [Filter("dataset_id", "==", dataset_id)] if dataset_id else []


def create_config_blueprints() -> list[Blueprint]:
    return [
        create_upload_blueprint(),
        _config_blueprint(
            "datasets", "/api/datasets", "dataset_id", configs.DATASETS,
            lambda body: configs.register_dataset(platform().documents, platform().warehouse, body),
            _update_dataset,
        ),
        _config_blueprint(
            "feature_configs", "/api/feature-configs", "feature_config_id", configs.FEATURE_CONFIGS,
            lambda body: configs.create_feature_config(platform().documents, body),
            lambda doc_id, body: configs.update_feature_config(platform().documents, doc_id, body),
            _dataset_filter,
        ),
        _config_blueprint(
            "model_configs", "/api/model-configs", "model_config_id", configs.MODEL_CONFIGS,
            lambda body: configs.create_model_config(platform().documents, body),
            lambda doc_id, body: configs.update_model_config(platform().documents, doc_id, body),
        ),
    ]

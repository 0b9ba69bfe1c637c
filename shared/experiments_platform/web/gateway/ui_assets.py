"""The static web UI: ``/`` serves the single page, ``/ui/*`` its files, ``/vendor/*`` npm packages,
``/api/docs`` the API documentation page (Swagger UI from npm on ``/api/openapi.json``).

The UI is plain HTML, CSS and JavaScript modules in the UI folder (``ui/`` of the repository,
``PLATFORM_UI_DIR``); its third-party modules (Chart.js) are installed by npm into that folder's
``node_modules`` from the committed lockfile and resolved in the browser through the import map in
``index.html``.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from flask import Blueprint, Response, abort, send_from_directory

VENDOR_PACKAGES = ("chart.js", "@kurkle/color", "swagger-ui-dist")
API_DOCS_PAGE = "api-docs.html"
UI_FILES = ("index.html", API_DOCS_PAGE, "css", "js")


def vendor_dir(ui_dir: Path) -> Path:
    """Where ``npm ci`` in the UI folder installs the UI's packages."""
    return ui_dir / "node_modules"


def create_ui_blueprint(ui_dir: Path) -> Blueprint:
    """Blueprint serving the UI folder ``ui_dir`` (its page, its modules and its ``node_modules``)."""
    blueprint = Blueprint("ui", __name__)
    folder = ui_dir.resolve()
    packages = vendor_dir(folder)

    @blueprint.get("/")
    def index() -> Response:
        if not (folder / "index.html").is_file():
            abort(503, f"the web UI is missing: {folder} holds no index.html; set PLATFORM_UI_DIR to the UI folder")
        response = send_from_directory(folder, "index.html", max_age=0)
        response.headers["Cache-Control"] = "no-cache"
        return response

    @blueprint.get("/api/docs")
    def api_docs() -> Response:
        if not (folder / API_DOCS_PAGE).is_file():
            abort(503, f"the API documentation page is missing: {folder} holds no {API_DOCS_PAGE}")
        response = send_from_directory(folder, API_DOCS_PAGE, max_age=0)
        response.headers["Cache-Control"] = "no-cache"
        return response

    @blueprint.get("/ui/<path:filename>")
    def asset(filename: str) -> Response:
        if posixpath.normpath(filename).split("/", 1)[0] not in UI_FILES:
            abort(404, f"{filename} is not a UI file; the UI serves {', '.join(UI_FILES)} of its folder")
        response = send_from_directory(folder, filename, max_age=0)
        response.headers["Cache-Control"] = "no-cache"
        return response

    @blueprint.get("/vendor/<path:filename>")
    def vendor(filename: str) -> Response:
        filename = posixpath.normpath(filename)
        if not any(filename.startswith(package + "/") for package in VENDOR_PACKAGES):
            abort(404, f"{filename} is not a UI dependency; the UI serves only {', '.join(VENDOR_PACKAGES)}")
        if not packages.is_dir():
            abort(503, f"UI dependencies are missing: run `npm ci` in {folder}")
        return send_from_directory(packages, filename, max_age=3600)

    return blueprint

"""The static web UI: ``/`` serves the single page, ``/ui/*`` its files, ``/vendor/*`` npm packages.

The UI is plain HTML, CSS and JavaScript modules in ``services/api_gateway/static``; its
third-party modules (Chart.js) are installed by npm into ``ui/node_modules`` from the committed
lockfile and resolved in the browser through the import map in ``index.html``.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from flask import Blueprint, Response, abort, send_from_directory

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
DEFAULT_VENDOR_DIR = Path(__file__).resolve().parents[3] / "ui" / "node_modules"

VENDOR_PACKAGES = ("chart.js", "@kurkle/color")


def create_ui_blueprint(static_dir: Path = STATIC_DIR, vendor_dir: Path = DEFAULT_VENDOR_DIR) -> Blueprint:
    """Blueprint serving the UI; ``vendor_dir`` is the ``node_modules`` folder built by ``npm ci`` in ``ui/``."""
    blueprint = Blueprint("ui", __name__)

    @blueprint.get("/")
    def index() -> Response:
        response = send_from_directory(static_dir, "index.html", max_age=0)
        response.headers["Cache-Control"] = "no-cache"
        return response

    @blueprint.get("/ui/<path:filename>")
    def asset(filename: str) -> Response:
        response = send_from_directory(static_dir, filename, max_age=0)
        response.headers["Cache-Control"] = "no-cache"
        return response

    @blueprint.get("/vendor/<path:filename>")
    def vendor(filename: str) -> Response:
        filename = posixpath.normpath(filename)
        if not any(filename.startswith(package + "/") for package in VENDOR_PACKAGES):
            abort(404, f"{filename} is not a UI dependency; the UI serves only {', '.join(VENDOR_PACKAGES)}")
        if not vendor_dir.is_dir():
            abort(503, f"UI dependencies are missing: run `npm ci` in {vendor_dir.parent}")
        return send_from_directory(vendor_dir, filename, max_age=3600)

    return blueprint

"""Entry point of the api_gateway service: ``gunicorn main:app`` (Cloud Run) or ``python main.py``."""

from __future__ import annotations

import os

from experiments_platform.bootstrap import Platform
from experiments_platform.jsonlog import configure_logging
from experiments_platform.web.gateway import create_app

platform = Platform.from_env()
configure_logging("api_gateway", platform.settings.gcp_project)
app = create_app(platform)

if __name__ == "__main__":
    app.run(host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "8080")))

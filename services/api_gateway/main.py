"""Entry point of the api_gateway service: ``gunicorn main:app`` (Cloud Run) or ``python main.py``.

The app, its routes and the UI's serving live in ``experiments_platform.web``; no cloud client is
created at import time.
"""

from __future__ import annotations

import os

from experiments_platform.web.app import create_service_app

app = create_service_app("api_gateway")

if __name__ == "__main__":
    app.run(host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "8080")))

"""The api_gateway Flask application: ``create_app`` builds it from a ``Platform``."""

from __future__ import annotations

from experiments_platform.web.gateway.app import create_app

__all__ = ["create_app"]

"""The api_gateway Flask application: ``create_app`` builds it from a ``Platform``."""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]

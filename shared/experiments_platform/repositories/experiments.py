"""The experiments repository: the one place the ``experiments`` collection is named."""

from __future__ import annotations

COLLECTION = "experiments"

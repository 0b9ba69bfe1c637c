"""Who a request acts for: the user IAP vouched for at the gateway (decision 053), None otherwise.

``web.auth`` sets it per request; ``ExperimentRepository.create`` records it as ``created_by``.
"""

from __future__ import annotations

from contextvars import ContextVar

current_user: ContextVar[str | None] = ContextVar("current_user", default=None)

"""One error hierarchy for the platform.

Every error carries a stable ``code`` and an HTTP ``status``; the gateway turns any
``PlatformError`` into ``{"error_code", "message", "field", "suggestions"}`` in one place.
"""

from __future__ import annotations

from typing import Any


class PlatformError(Exception):
    code = "INTERNAL_ERROR"
    status = 500

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        suggestions: list[str] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.suggestions = suggestions or []
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error_code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        if self.suggestions:
            body["suggestions"] = self.suggestions
        if self.details:
            body["details"] = self.details
        return body


class InvalidInput(PlatformError):
    code = "INVALID_INPUT"
    status = 400


class NotFound(PlatformError):
    code = "NOT_FOUND"
    status = 404


class AlreadyExists(PlatformError):
    code = "ALREADY_EXISTS"
    status = 409


class Conflict(PlatformError):
    code = "CONFLICT"
    status = 409


class QueueFull(PlatformError):
    """As many experiments as the deployment's queue holds already wait for a run slot (decision 052)."""

    code = "QUEUE_FULL"
    status = 429

    def __init__(self, message: str, *, retry_after_s: int, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details=details)
        self.retry_after_s = retry_after_s


class ConfigurationError(PlatformError):
    """A setting of the deployment (environment variable) is missing or malformed."""

    code = "CONFIGURATION_ERROR"
    status = 500


class TransientError(PlatformError):
    """A failure worth retrying (network, contention, unavailable dependency)."""

    code = "TRANSIENT"
    status = 503


class ContentionError(TransientError):
    code = "CONTENTION"


class Overloaded(TransientError):
    """The service is serving as many requests as it may at once; the client should retry later."""

    code = "OVERLOADED"

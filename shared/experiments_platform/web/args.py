"""Reading JSON bodies and query parameters, with errors that name the parameter."""

from __future__ import annotations

from typing import Any

from flask import request

from experiments_platform.errors import InvalidInput


def json_body(required: bool = True) -> Any:
    """The request's JSON body; ``InvalidInput`` when it is missing or not JSON."""
    if not request.get_data(cache=True):
        if required:
            raise InvalidInput("expected a JSON body (Content-Type: application/json)")
        return {}
    body = request.get_json(silent=True, force=True)
    if body is None:
        raise InvalidInput("the request body is not valid JSON")
    return body


def query_int(name: str, default: int, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{name}: {raw!r} is not a whole number", field=name) from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise InvalidInput(f"{name}: must be {bounds} (got {value})", field=name)
    return value


def query_str(name: str, default: str | None = None) -> str | None:
    value = request.args.get(name)
    return value if value not in (None, "") else default

"""Request arguments, read one way by every service; each error names the parameter and what to send.

``json_body`` (the request's JSON), ``arguments`` (the query string of a GET, the JSON object of a
POST), ``text`` (one string argument of those), ``query_int`` and ``query_str`` (query parameters).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import request

from experiments_platform.errors import InvalidInput


def json_body(required: bool = True) -> Any:
    """The request's JSON body; ``InvalidInput`` when it is missing or not JSON."""
    if not request.get_data(cache=True):
        if required:
            raise InvalidInput("expected a JSON body (Content-Type: application/json)", field="body")
        return {}
    body = request.get_json(silent=True, force=True)
    if body is None:
        raise InvalidInput("the request body is not valid JSON", field="body")
    return body


def arguments(example: str) -> Mapping[str, Any]:
    """A GET's query parameters, or a POST's JSON object (``example`` shows the caller what to send)."""
    if request.method != "POST":
        return request.args.to_dict()
    body = request.get_json(silent=True, force=True)
    if not isinstance(body, dict):
        raise InvalidInput(f"the POST body must be a JSON object such as {example}", field="body")
    return body


def text(values: Mapping[str, Any], name: str, what: str, required: bool = True) -> str | None:
    """The string argument ``name``; ``what`` says what it is when it is missing."""
    value = values.get(name)
    if value is None or value == "":
        if required:
            raise InvalidInput(f"{name} is required: {what}", field=name)
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string ({what}), got {type(value).__name__}", field=name)
    return value


def query_int(name: str, default: int, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"-?[0-9]+", raw):
        raise InvalidInput(f"{name}: {raw!r} is not a whole number (digits only, such as 50)", field=name)
    value = int(raw)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise InvalidInput(f"{name}: must be {bounds} (got {value})", field=name)
    return value


def query_str(name: str, default: str | None = None) -> str | None:
    value = request.args.get(name)
    return value if value not in (None, "") else default

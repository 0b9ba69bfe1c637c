"""Identifier rules shared by SQL rendering, trainer specs and Firestore documents.

Names taken from configs (columns, features) are data. They are only ever used after
matching ``IDENTIFIER`` so that no config text can become SQL or Python source.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
TABLE_REFERENCE = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+){1,2}$")


def check_identifier(value: str) -> str:
    """Pydantic-style validator: return ``value`` or raise ValueError naming the rule."""
    if not isinstance(value, str) or not IDENTIFIER.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid name: use letters, digits and underscores, "
            "starting with a letter or underscore, at most 64 characters"
        )
    return value


def closest_names(name: str, candidates: Iterable[str], limit: int = 3) -> list[str]:
    """The real names closest to ``name`` (case-insensitive), best first."""
    pool = list(candidates)
    lowered = {c.lower(): c for c in pool}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=limit, cutoff=0.5)
    return [lowered[h] for h in hits]


def unknown_name_message(kind: str, name: str, candidates: Iterable[str]) -> tuple[str, list[str]]:
    """Message and suggestions for a name that is not among ``candidates``."""
    suggestions = closest_names(name, candidates)
    message = f"unknown {kind} {name!r}"
    if suggestions:
        message += "; did you mean " + " or ".join(repr(s) for s in suggestions) + "?"
    return message, suggestions

"""The sampling/split hash, in Python: the reference both SQL dialects must reproduce exactly.

Key text: ``"{seed}:{query_id}:{candidate_id}"`` (ids as their SQL ``CAST(... AS STRING)`` text).
Digest: MD5 of the UTF-8 key, as 32 lowercase hex characters. Hex characters 1-8 read as an
unsigned 32-bit integer, modulo 100, give the sample bucket; characters 9-16 the split bucket.
Two windows of one digest keep sampling and splitting independent.
"""

from __future__ import annotations

import hashlib

BUCKETS = 100
SEPARATOR = ":"
SAMPLE_HEX = (1, 8)
SPLIT_HEX = (9, 8)


def key_text(seed: int, query_id: object, candidate_id: object) -> str:
    return SEPARATOR.join([str(seed), _sql_text(query_id), _sql_text(candidate_id)])


def digest(seed: int, query_id: object, candidate_id: object) -> str:
    return hashlib.md5(key_text(seed, query_id, candidate_id).encode("utf-8"), usedforsecurity=False).hexdigest()


def sample_bucket(seed: int, query_id: object, candidate_id: object) -> int:
    return _bucket(digest(seed, query_id, candidate_id), SAMPLE_HEX)


def split_bucket(seed: int, query_id: object, candidate_id: object) -> int:
    return _bucket(digest(seed, query_id, candidate_id), SPLIT_HEX)


def _bucket(hex_digest: str, window: tuple[int, int]) -> int:
    start, length = window
    return int(hex_digest[start - 1 : start - 1 + length], 16) % BUCKETS


def _sql_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

"""Read TFRecord files without TensorFlow (the framing of older TFX statistics artifacts).

Each record is ``uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)``,
little-endian. Both checksums are verified.
"""

from __future__ import annotations

import struct

import google_crc32c

_MASK_DELTA = 0xA282EAD8


class TFRecordError(ValueError):
    """The bytes are not a well-formed TFRecord file."""


def masked_crc32c(data: bytes) -> int:
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def read_records(data: bytes) -> list[bytes]:
    """All records of a TFRecord file; raise ``TFRecordError`` on a bad frame or checksum."""
    records = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < 12:
            raise TFRecordError(f"truncated record header at byte {offset}")
        header = data[offset:offset + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[offset + 8:offset + 12])
        if masked_crc32c(header) != length_crc:
            raise TFRecordError(f"bad length checksum at byte {offset}")
        start = offset + 12
        end = start + length
        if end + 4 > len(data):
            raise TFRecordError(f"truncated record at byte {offset}: {length} bytes announced")
        payload = data[start:end]
        (payload_crc,) = struct.unpack("<I", data[end:end + 4])
        if masked_crc32c(payload) != payload_crc:
            raise TFRecordError(f"bad data checksum in the record at byte {offset}")
        records.append(payload)
        offset = end + 4
    return records


def looks_like_tfrecord(data: bytes) -> bool:
    """True when the first frame header carries a valid length checksum."""
    if len(data) < 12:
        return False
    (length_crc,) = struct.unpack("<I", data[8:12])
    return masked_crc32c(data[:8]) == length_crc


def write_records(records: list[bytes]) -> bytes:
    """Frame ``records`` as a TFRecord file (used to build test data)."""
    out = bytearray()
    for payload in records:
        header = struct.pack("<Q", len(payload))
        out += header + struct.pack("<I", masked_crc32c(header)) + payload + struct.pack("<I", masked_crc32c(payload))
    return bytes(out)

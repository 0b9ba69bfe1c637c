"""Common base for documents stored in the document store."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer

from experiments_platform.domain.names import IDENTIFIER, check_identifier

Identifier = Annotated[str, AfterValidator(check_identifier), Field(json_schema_extra={"pattern": IDENTIFIER.pattern})]
"""A column or feature name (``names.IDENTIFIER``); its JSON Schema carries the pattern."""


def iso_utc(value: datetime) -> str:
    """A moment as every document and API answer writes it: ISO 8601 in UTC (``2026-12-04T10:00:05.000000Z``)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


Timestamp = Annotated[datetime, PlainSerializer(iso_utc, return_type=str, when_used="json")]
"""A UTC datetime stored as fixed-width ISO text, so that text order is time order in every store."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> str:
    return uuid.uuid4().hex[:20]


class DomainModel(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    def to_document(self) -> dict[str, Any]:
        """JSON-compatible dict, as stored in Firestore or the embedded store."""
        return self.model_dump(mode="json")


class Document(DomainModel):
    id: str = Field(default_factory=new_id)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    created_at: Timestamp = Field(default_factory=utcnow)
    updated_at: Timestamp = Field(default_factory=utcnow)

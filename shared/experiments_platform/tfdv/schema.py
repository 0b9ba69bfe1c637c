"""A TFDV schema (``schema.pbtxt`` as SchemaGen writes it) as the JSON the UI shows."""

from __future__ import annotations

from typing import Any

from google.protobuf import text_format
from pydantic import BaseModel, ConfigDict
from tensorflow_metadata.proto.v0 import schema_pb2

from experiments_platform.errors import InvalidInput


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Domain(_Model):
    """``kind`` is the proto's domain field (string_domain, int_domain, float_domain, bool_domain, ...)."""

    kind: str
    name: str | None = None
    values: list[str] | None = None
    min: float | None = None
    max: float | None = None
    is_categorical: bool | None = None


class FeatureSchema(_Model):
    name: str
    type: str
    presence: str
    required: bool
    min_fraction: float | None
    min_count: int | None
    shape: list[int] | None
    value_count_min: int | None
    value_count_max: int | None
    domain: Domain | None
    deprecated: bool


class SchemaReport(_Model):
    features: list[FeatureSchema]

    def feature(self, name: str) -> FeatureSchema:
        for feature in self.features:
            if feature.name == name:
                return feature
        raise KeyError(f"no feature {name!r} in the schema")


def decode_schema(text: str | bytes, source: str = "schema") -> schema_pb2.Schema:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(
                f"{source} is not UTF-8 text; expected the schema.pbtxt SchemaGen writes", field="uri"
            ) from None
    try:
        return text_format.Parse(text, schema_pb2.Schema())
    except text_format.ParseError as exc:
        raise InvalidInput(
            f"{source} is not a TFDV schema text proto ({exc}); expected the schema.pbtxt SchemaGen writes",
            field="uri",
        ) from None


def _domain(feature: schema_pb2.Feature, schema: schema_pb2.Schema) -> Domain | None:
    which = feature.WhichOneof("domain_info")
    if which is None:
        return None
    if which == "domain":
        for named in schema.string_domain:
            if named.name == feature.domain:
                return Domain(kind="string_domain", name=named.name, values=list(named.value))
        return Domain(kind="string_domain", name=feature.domain, values=None)
    if which == "string_domain":
        inline = feature.string_domain
        return Domain(kind=which, name=inline.name or None, values=list(inline.value))
    if which == "int_domain":
        ints = feature.int_domain
        return Domain(
            kind=which,
            name=ints.name or None,
            min=ints.min if ints.HasField("min") else None,
            max=ints.max if ints.HasField("max") else None,
            is_categorical=ints.is_categorical,
        )
    if which == "float_domain":
        floats = feature.float_domain
        return Domain(
            kind=which,
            name=floats.name or None,
            min=floats.min if floats.HasField("min") else None,
            max=floats.max if floats.HasField("max") else None,
        )
    return Domain(kind=which)


def _feature(feature: schema_pb2.Feature, schema: schema_pb2.Schema, prefix: str = "") -> list[FeatureSchema]:
    name = prefix + feature.name
    presence = feature.presence
    has_presence = feature.HasField("presence")
    min_fraction = presence.min_fraction if has_presence and presence.HasField("min_fraction") else None
    min_count = int(presence.min_count) if has_presence and presence.HasField("min_count") else None
    values: dict[str, Any] = {"value_count_min": None, "value_count_max": None}
    if feature.HasField("value_count"):
        values = {"value_count_min": int(feature.value_count.min), "value_count_max": int(feature.value_count.max)}
    own = FeatureSchema(
        name=name,
        type=schema_pb2.FeatureType.Name(feature.type),
        presence="required" if min_fraction == 1.0 else "optional",
        required=min_fraction == 1.0,
        min_fraction=min_fraction,
        min_count=min_count,
        shape=[int(d.size) for d in feature.shape.dim] if feature.HasField("shape") else None,
        domain=_domain(feature, schema),
        deprecated=feature.deprecated or feature.lifecycle_stage == schema_pb2.DEPRECATED,
        **values,
    )
    children = []
    if feature.WhichOneof("domain_info") == "struct_domain":
        for child in feature.struct_domain.feature:
            children.extend(_feature(child, schema, prefix=f"{name}."))
    return [own, *children]


def parse_schema(text: str | bytes, source: str = "schema") -> SchemaReport:
    """Parse a schema text proto; features in file order, struct children as ``parent.child``."""
    schema = decode_schema(text, source)
    features: list[FeatureSchema] = []
    for feature in schema.feature:
        features.extend(_feature(feature, schema))
    return SchemaReport(features=features)

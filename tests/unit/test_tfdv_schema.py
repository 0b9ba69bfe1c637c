"""TFDV schema parsing against the schema.pbtxt real SchemaGen wrote (tests/fixtures/tfdv)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from experiments_platform.errors import InvalidInput, NotFound
from experiments_platform.tfdv import LocalFileReader, load_schema, parse_schema
from experiments_platform.tfdv.schema import SchemaReport


def approx_json(value: object) -> object:
    """``value`` with every float compared to 1e-12 relative (TFDV's float sums vary in the last bits)."""
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-12)
    if isinstance(value, dict):
        return {k: approx_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [approx_json(v) for v in value]
    return value


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tfdv" / "movielens"
GOLDEN = FIXTURES / "schema.golden.json"


@pytest.fixture(scope="module")
def schema() -> SchemaReport:
    return load_schema(LocalFileReader(), (FIXTURES / "schema").as_uri())


def test_matches_golden_file(schema: SchemaReport) -> None:
    produced = schema.model_dump(mode="json")
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(produced, indent=1, sort_keys=True) + "\n")
    assert produced == approx_json(json.loads(GOLDEN.read_text()))


def test_every_column_with_its_type(schema: SchemaReport) -> None:
    types = {f.name: f.type for f in schema.features}
    assert types == {
        "age": "INT", "gender": "BYTES", "genres": "BYTES", "item_id": "BYTES", "movie_title": "BYTES",
        "occupation": "BYTES", "rating": "INT", "release_year": "INT", "timestamp": "INT", "user_id": "BYTES",
        "zip_code": "BYTES",
    }


def test_named_string_domain_is_resolved(schema: SchemaReport) -> None:
    gender = schema.feature("gender")
    assert gender.domain is not None
    assert (gender.domain.kind, gender.domain.name, gender.domain.values) == ("string_domain", "gender", ["F", "M"])
    occupation = schema.feature("occupation")
    assert occupation.domain is not None and occupation.domain.values is not None
    assert "student" in occupation.domain.values and len(occupation.domain.values) == 21


def test_presence_and_shape(schema: SchemaReport) -> None:
    age = schema.feature("age")
    assert (age.presence, age.required, age.min_fraction, age.min_count, age.shape) == ("required", True, 1.0, 1, [1])
    assert schema.feature("release_year").shape is None, "an empty value list exists, so SchemaGen infers no shape"


def test_inline_domains_value_counts_and_struct_children() -> None:
    text = """
    feature { name: "price" type: FLOAT float_domain { min: 0 max: 99.5 } presence { min_fraction: 0.5 } }
    feature { name: "segment" type: INT int_domain { min: 1 max: 4 is_categorical: true }
              value_count { min: 1 max: 3 } }
    feature { name: "tags" type: BYTES string_domain { value: "a" value: "<b>" } deprecated: true }
    feature { name: "meta" type: STRUCT struct_domain { feature { name: "city" type: BYTES domain: "missing" } } }
    """
    parsed = parse_schema(text)
    price = parsed.feature("price")
    assert (price.presence, price.required, price.min_fraction) == ("optional", False, 0.5)
    assert price.domain is not None
    assert (price.domain.kind, price.domain.min, price.domain.max) == ("float_domain", 0, 99.5)
    segment = parsed.feature("segment")
    assert segment.domain is not None and segment.domain.is_categorical is True
    assert (segment.value_count_min, segment.value_count_max) == (1, 3)
    tags = parsed.feature("tags")
    assert tags.deprecated and tags.domain is not None and tags.domain.values == ["a", "<b>"]
    city = parsed.feature("meta.city")
    assert city.domain is not None and (city.domain.name, city.domain.values) == ("missing", None)


def test_malformed_schema_names_the_file() -> None:
    with pytest.raises(InvalidInput, match="not a TFDV schema") as error:
        parse_schema('feature { nme: "x" }', source="gs://b/schema.pbtxt")
    assert "gs://b/schema.pbtxt" in error.value.message and error.value.field == "uri"


def test_missing_schema_says_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="SchemaGen output artifact"):
        load_schema(LocalFileReader(), tmp_path.as_uri())

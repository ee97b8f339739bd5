"""JSON Schema -> grammar: every text the grammar generates validates with Python's jsonschema.

`tessera json-schema-to-grammar FILE --samples N --seed S` draws N random JSON texts from the
grammar of a schema (a random walk through the matcher, no model); each must parse as JSON and
validate against the schema with jsonschema (the independent oracle), with format checking on.
The suite covers every supported keyword; unsupported ones must fail with a clear error.
"""
import json
import subprocess
from pathlib import Path

import jsonschema
import pytest

from conftest import SHARED, run_tessera, tessera_binary

SCHEMAS = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "null": {"type": "null"},
    "type_array": {"type": ["string", "integer", "null"]},
    "any": {},
    "properties_required": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "email": {"type": "string"}},
        "required": ["name", "age"],
    },
    "all_optional": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "boolean"},
                                                       "c": {"type": "null"}}},
    "additional_properties_schema": {"type": "object", "additionalProperties": {"type": "number"}},
    "additional_properties_false": {"type": "object", "properties": {"x": {"type": "string"}},
                                    "additionalProperties": False},
    "pattern_properties": {"type": "object", "patternProperties": {"^[a-z]{1,6}$": {"type": "integer"},
                                                                   "^X_[0-9]+$": {"type": "string"}},
                           "additionalProperties": False},
    "min_max_properties": {"type": "object", "additionalProperties": {"type": "boolean"},
                           "minProperties": 2, "maxProperties": 3},
    "min_properties_with_optional": {"type": "object", "properties": {"a": {"type": "integer"},
                                                                      "b": {"type": "integer"}},
                                     "minProperties": 1},
    "items": {"type": "array", "items": {"type": "integer"}},
    "prefix_items": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}],
                     "items": {"type": "boolean"}, "maxItems": 4},
    "min_max_items": {"type": "array", "items": {"type": "string", "maxLength": 3}, "minItems": 2, "maxItems": 4},
    "unique_items_enum": {"type": "array", "items": {"enum": ["red", "green", "blue", "cyan"]},
                          "uniqueItems": True, "minItems": 2},
    "enum_mixed": {"enum": ["a", 1, None, True, {"k": [1, 2]}, [3]]},
    "const": {"const": {"version": 2, "tags": ["x"]}},
    "any_of": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "maxLength": 2}]},
    "one_of": {"oneOf": [{"type": "object", "properties": {"kind": {"const": "circle"}, "r": {"type": "number"}},
                          "required": ["kind", "r"], "additionalProperties": False},
                         {"type": "object", "properties": {"kind": {"const": "square"}, "side": {"type": "integer"}},
                          "required": ["kind", "side"], "additionalProperties": False}]},
    "all_of": {"allOf": [{"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
                         {"properties": {"b": {"type": "string"}}, "required": ["b"]}]},
    "ref_defs": {"$defs": {"point": {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
                                     "required": ["x", "y"]}},
                 "type": "array", "items": {"$ref": "#/$defs/point"}, "maxItems": 3},
    "ref_definitions_recursive": {
        "definitions": {"tree": {"type": "object", "properties": {
            "value": {"type": "integer"}, "children": {"type": "array", "items": {"$ref": "#/definitions/tree"},
                                                       "maxItems": 2}}, "required": ["value"]}},
        "$ref": "#/definitions/tree"},
    "pattern": {"type": "string", "pattern": "^[A-Z]{2}-[0-9]{3,4}(-[a-z]+)?$"},
    "pattern_unanchored": {"type": "string", "pattern": "ab+c"},
    "pattern_with_lengths": {"type": "string", "pattern": "^[a-z0-9_]+$", "minLength": 3, "maxLength": 8},
    "min_max_length": {"type": "string", "minLength": 2, "maxLength": 5},
    "integer_range": {"type": "integer", "minimum": -15, "maximum": 1234},
    "integer_exclusive": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10},
    "integer_draft4_exclusive": {"$schema": "http://json-schema.org/draft-04/schema#", "type": "integer",
                                 "minimum": 5, "exclusiveMinimum": True, "maximum": 9, "exclusiveMaximum": True},
    "number_range": {"type": "number", "minimum": -2.5, "maximum": 3.75},
    "number_exclusive": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
    "number_min_only": {"type": "number", "minimum": 100.5},
    "format_date": {"type": "string", "format": "date"},
    "format_time": {"type": "string", "format": "time"},
    "format_date_time": {"type": "string", "format": "date-time"},
    "format_uuid": {"type": "string", "format": "uuid"},
    "format_email": {"type": "string", "format": "email"},
    "format_uri": {"type": "string", "format": "uri"},
    "nested": {"type": "object", "properties": {
        "user": {"type": "object", "properties": {"id": {"type": "integer", "minimum": 1},
                                                  "roles": {"type": "array", "items": {"enum": ["admin", "dev"]},
                                                            "uniqueItems": True}},
                 "required": ["id", "roles"]},
        "created": {"type": "string", "format": "date-time"}}, "required": ["user"]},
    "unicode_keys_and_enum": {"type": "object", "properties": {"naïve": {"enum": ["é", "中文", "😀"]}},
                              "required": ["naïve"]},
}

SEEDS = (1, 2, 3)
SAMPLES = 8


def samples_of(tmp_path, name, schema, seed, n=SAMPLES):
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(schema, ensure_ascii=False))
    r = run_tessera("json-schema-to-grammar", path, "--samples", n, "--seed", seed)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def validator_for(schema):
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def test_suite_has_at_least_30_schemas():
    assert len(SCHEMAS) >= 30


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_generated_text_validates(tmp_path, name):
    schema = SCHEMAS[name]
    validator = validator_for(schema)
    texts = []
    for seed in SEEDS:
        texts += samples_of(tmp_path, name, schema, seed)
    for text in texts:
        value = json.loads(text)
        errors = [e.message for e in validator.iter_errors(value)]
        assert not errors, f"{text!r}: {errors}"
    assert len(set(texts)) > 1 or name in ("null", "const"), "the walk should explore the grammar"


def test_grammar_text_is_printed(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(SCHEMAS["properties_required"]))
    r = run_tessera("json-schema-to-grammar", path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("root ::= ")
    assert '"\\"name\\""' in r.stdout


@pytest.mark.parametrize("schema,message", [
    ({"type": "object", "properties": {"a": {"not": {"type": "string"}}}, "required": ["a"]},
     "json schema: /properties/a: unsupported keyword 'not'"),
    ({"type": "integer", "multipleOf": 3}, "json schema: /: unsupported keyword 'multipleOf'"),
    ({"$ref": "https://example.com/x.json"}, "remote $ref 'https://example.com/x.json' is not supported"),
    ({"type": "string", "pattern": "(?=x)"}, "lookarounds and inline flags"),
    ({"type": "array", "items": {"type": "number"}, "uniqueItems": True}, "uniqueItems is supported only"),
    ({"type": "integer", "minimum": 10, "maximum": 1}, "no integer lies in [10, 1]"),
    ({"type": 5}, "type must be a string or an array of strings"),
])
def test_unsupported_schemas_fail_with_a_clear_error(tmp_path, schema, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(schema))
    r = run_tessera("json-schema-to-grammar", path)
    assert r.returncode == 1
    assert message in r.stderr, r.stderr
    assert r.stdout == ""


def test_malformed_json_and_missing_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    r = run_tessera("json-schema-to-grammar", path)
    assert r.returncode == 1 and "not valid JSON" in r.stderr
    r = run_tessera("json-schema-to-grammar", tmp_path / "missing.json")
    assert r.returncode == 1 and "cannot read" in r.stderr
    r = run_tessera("json-schema-to-grammar")
    assert r.returncode == 2


BENCH = SHARED / "testdata" / "jsonschemabench"


def test_jsonschemabench_coverage():
    """Real-world schemas: no invalid output ever; most compile (the rest with a clear error)."""
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from grammar_schema_coverage import check_schema
    files = sorted(BENCH.glob("*.json"))
    assert len(files) == 236
    results = {f.name: check_schema(tessera_binary(), f, samples=3) for f in files}
    invalid = {k: v for k, v in results.items() if v[0] in ("invalid", "crash")}
    assert not invalid, invalid
    ok = sum(1 for v in results.values() if v[0] == "compiled_valid")
    counted = sum(1 for v in results.values() if v[0] != "bad_schema")
    assert ok / counted > 0.9, f"only {ok}/{counted} compile"
    for status, detail in results.values():
        if status == "unsupported":
            assert detail.startswith("error: ") and ("json schema" in detail or "pattern" in detail), detail

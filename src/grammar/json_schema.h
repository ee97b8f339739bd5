// JSON Schema -> GBNF: a grammar whose sentences are JSON texts that validate against the schema.
//
//   Result<std::string> gbnf = json_schema_to_gbnf(R"({"type": "integer"})");
//
// Supported: type (also arrays of types), properties, required, additionalProperties,
// patternProperties, minProperties/maxProperties, items (also draft-04 tuple form with
// additionalItems), prefixItems, minItems/maxItems, uniqueItems (items with a finite set of
// values: enum, const, boolean, null), enum, const, anyOf, oneOf, allOf, $ref (#/$defs/...,
// #/definitions/..., any local JSON pointer; recursion allowed), pattern (regular expression ->
// grammar), minLength/maxLength, minimum/maximum/exclusiveMinimum/exclusiveMaximum (draft-04
// booleans too) for integers and numbers, format date, time, date-time, uuid, email, uri.
// Annotations (title, description, default, examples, $schema, $id, $comment, ...), unknown
// keywords and other formats are ignored, as JSON Schema validation ignores them.
// Validation keywords that cannot be expressed (not, if/then/else, contains, multipleOf,
// dependentRequired, propertyNames, unevaluated*, remote $ref, ...) are an error naming the
// keyword and where it is ("json schema: /properties/a: unsupported keyword 'not'").
//
// The grammar is a subset of what the schema allows, chosen so that every sentence validates:
// objects with `properties` get no extra keys (even when additionalProperties allows them), keys
// come in schema order, whitespace is limited, optional properties and anyOf/oneOf branches whose
// schema cannot be expressed are left out (the error is reported only when nothing is left), and
// oneOf is treated as anyOf (a value matching two branches is not excluded). The root value has no trailing whitespace,
// so the grammar is complete as soon as the value closes.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "tessera/status.h"

namespace tessera::grammar {

// Object keys keep their order in an ordered_json (or in the text); properties are generated in
// that order. A plain nlohmann::json has sorted keys, so its properties come alphabetically.
Result<std::string> json_schema_to_gbnf(const nlohmann::ordered_json& schema);
Result<std::string> json_schema_to_gbnf(std::string_view schema_text);
Result<std::string> json_schema_to_gbnf(const nlohmann::json& schema);

// The grammar of any JSON object (OpenAI's response_format {"type": "json_object"}).
std::string json_object_gbnf();

}  // namespace tessera::grammar

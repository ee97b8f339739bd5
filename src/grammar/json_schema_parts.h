// Pieces of the JSON Schema converter that stand alone: integer and number ranges as digit
// grammars, and regular expressions / character sets as the content of a JSON string.
// Each returns a GBNF expression (no rule definitions) or an error message.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "grammar/grammar.h"
#include "tessera/status.h"

namespace tessera::grammar::json_schema {

// Decimal integers (JSON spelling, no leading zeros, no "-0") in [lo, hi]; nullopt = unbounded
// (unbounded sides stop at 16 digits). Fails when the range is empty.
Result<std::string> integer_range(std::optional<int64_t> lo, std::optional<int64_t> hi);

struct NumberBounds {
  std::optional<double> min, max;
  bool min_exclusive = false, max_exclusive = false;
};
// JSON numbers inside the bounds: integers and decimals whose value certainly lies inside
// (no exponents). Fails when no such number exists or the bounds are not finite.
Result<std::string> number_range(const NumberBounds& bounds);

// Inside a JSON string: one character from `set` written as JSON spells it ("\"" -> \", newline
// -> \n, other control characters -> \u00XX). An empty set gives an error.
Result<std::string> json_string_chars(const std::vector<CodeRange>& set);

// Inside a JSON string: text matching the regular expression (ECMA 262 / Python re subset:
// literals, ., classes, \d \w \s and negations, groups, (?:), alternation, * + ? {m} {m,} {m,n},
// lazy markers, ^ at the start and $ at the end). Lookarounds, backreferences, \b, \p{..} and
// inline flags are errors naming the construct. With min/max lengths (in characters), the
// repetition counts of the top-level sequence are adjusted to fit, where counts of one-character
// atoms can do it (^[a-z]+$ with maxLength 8 -> [a-z]{1,8}); otherwise an error.
Result<std::string> regex_to_gbnf(std::string_view pattern, std::optional<uint64_t> min_length = std::nullopt,
                                  std::optional<uint64_t> max_length = std::nullopt);

}  // namespace tessera::grammar::json_schema

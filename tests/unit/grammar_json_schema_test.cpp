// JSON Schema -> GBNF pieces checked against arithmetic and against hand-written expectations:
// integer and number ranges (every integer in a window), regular expressions, error messages.
// Validation of whole schemas against Python's jsonschema is in tests/e2e/test_json_schema.py.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>

#include "grammar/json_schema.h"
#include "grammar/json_schema_parts.h"
#include "grammar_test_util.h"

namespace tessera::grammar {
namespace {

using testing::accepts;
using testing::compile;

std::unique_ptr<Matcher> matcher_for(const std::string& body) {
  auto g = compile("root ::= " + body);
  if (!g) return nullptr;
  return std::make_unique<Matcher>(g);
}

TEST(GrammarJsonSchema, IntegerRangesAcceptExactlyTheRange) {
  const std::vector<std::pair<std::optional<int64_t>, std::optional<int64_t>>> ranges = {{0, 0},
                                                                                         {0, 9},
                                                                                         {1, 10},
                                                                                         {-5, 5},
                                                                                         {-123, -7},
                                                                                         {7, 1234},
                                                                                         {19, 20},
                                                                                         {100, 199},
                                                                                         {-1000, 999},
                                                                                         {std::nullopt, -3},
                                                                                         {-3, std::nullopt},
                                                                                         {250, std::nullopt},
                                                                                         {std::nullopt, 42},
                                                                                         {std::nullopt, std::nullopt}};
  for (auto [lo, hi] : ranges) {
    SCOPED_TRACE(fmt::format("[{}, {}]", lo ? std::to_string(*lo) : "-inf", hi ? std::to_string(*hi) : "inf"));
    Result<std::string> body = json_schema::integer_range(lo, hi);
    ASSERT_TRUE(body.ok()) << body.error();
    auto m = matcher_for(*body);
    ASSERT_TRUE(m);
    for (int64_t n = -1500; n <= 1500; ++n) {
      const bool in = (!lo || n >= *lo) && (!hi || n <= *hi);
      ASSERT_EQ(accepts(*m, std::to_string(n)), in) << n << " with " << *body;
    }
    EXPECT_FALSE(accepts(*m, "-0"));
    EXPECT_FALSE(accepts(*m, "01"));
  }
  EXPECT_FALSE(json_schema::integer_range(5, 4).ok());
}

TEST(GrammarJsonSchema, NumberRangesOnlyProduceValuesInside) {
  const std::vector<json_schema::NumberBounds> cases = {
      {0.0, 1.0, false, false},          {0.0, 1.0, true, true},           {-2.5, 3.25, false, false},
      {-1.0, std::nullopt, true, false}, {std::nullopt, 0.0, false, true}, {10.0, 12.0, true, false}};
  const std::vector<std::string> probes = {"0",     "1",       "0.5", "0.05", "1.5", "-0.5", "-1",   "-1.5",   "-2.5",
                                           "-2.49", "3",       "3.2", "3.25", "3.3", "10",   "10.5", "11.999", "12",
                                           "12.5",  "-0.0001", "0.0", "1.0",  "-2",  "2.75", "11"};
  for (const auto& b : cases) {
    Result<std::string> body = json_schema::number_range(b);
    ASSERT_TRUE(body.ok()) << body.error();
    auto m = matcher_for(*body);
    ASSERT_TRUE(m);
    for (const std::string& p : probes) {
      const double v = std::stod(p);
      const bool in = (!b.min || (b.min_exclusive ? v > *b.min : v >= *b.min)) &&
                      (!b.max || (b.max_exclusive ? v < *b.max : v <= *b.max));
      if (accepts(*m, p)) {
        EXPECT_TRUE(in) << p << " accepted by " << *body;
      }
    }
  }
  // something inside is always reachable: the midpoint of [0, 1] as a decimal
  auto m = matcher_for(*json_schema::number_range({0.0, 1.0, true, true}));
  EXPECT_TRUE(accepts(*m, "0.5"));
  EXPECT_FALSE(accepts(*m, "0.0"));  // == 0, excluded
}

TEST(GrammarJsonSchema, RegexToGrammar) {
  struct Case {
    const char* pattern;
    std::vector<std::string> yes, no;  // JSON string contents (escaped as in JSON)
  };
  const std::vector<Case> cases = {
      {"^[a-z]+-\\d{2,3}$", {"ab-12", "z-999"}, {"ab-1", "Ab-12", "ab-1234"}},
      {"^(foo|ba(r|z))?x*$", {"", "foo", "barxx", "bazx"}, {"fo", "bax"}},
      {"^\\w+@\\w+\\.com$", {"a_1@b.com"}, {"a@b.org"}},
      {"^[^a-z]$", {"A", "5", "\\\"", "\\\\"}, {"a", "\\n"}},
      {"^a.c$", {"abc", "a\\\"c"}, {"ac", "a\\nc"}},
      {"^\\s$", {" ", "\\t", "\\n"}, {"a"}},
      {"^(?:ab){2}$", {"abab"}, {"ab", "ababab"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.pattern);
    Result<std::string> body = json_schema::regex_to_gbnf(c.pattern);
    ASSERT_TRUE(body.ok()) << body.error();
    auto m = matcher_for(*body);
    ASSERT_TRUE(m);
    for (const std::string& s : c.yes) EXPECT_TRUE(accepts(*m, s)) << s << " / " << *body;
    for (const std::string& s : c.no) EXPECT_FALSE(accepts(*m, s)) << s << " / " << *body;
  }
  for (const char* bad : {"(?=a)", "a\\1", "\\bword", "\\p{L}", "(?i)abc", "a^b", "a$b"}) {
    EXPECT_FALSE(json_schema::regex_to_gbnf(bad).ok()) << bad;
  }
}

TEST(GrammarJsonSchema, UnsupportedKeywordsAndBadSchemasAreClearErrors) {
  auto error = [](const char* schema) {
    Result<std::string> r = json_schema_to_gbnf(nlohmann::ordered_json::parse(schema));
    return r.ok() ? std::string("<ok>") : r.error();
  };
  EXPECT_EQ(error(R"({"type":"object","properties":{"a":{"not":{"type":"string"}}},"required":["a"]})"),
            "json schema: /properties/a: unsupported keyword 'not'");
  EXPECT_EQ(error(R"({"$ref":"http://example.com/s.json"})"),
            "json schema: /: remote $ref 'http://example.com/s.json' is not supported");
  EXPECT_EQ(error(R"({"$ref":"#/$defs/missing"})"),
            "json schema: /: $ref '#/$defs/missing' does not point into the schema");
  EXPECT_EQ(error(R"({"type":"frobnicate"})"), "json schema: /: unknown type 'frobnicate'");
  EXPECT_EQ(
      error(R"({"type":"array","items":{"type":"string"},"uniqueItems":true})"),
      "json schema: /: uniqueItems is supported only for items with a finite set of values (enum, const, boolean)");
  EXPECT_EQ(error(R"({"type":"integer","minimum":5,"maximum":4})"), "json schema: /: no integer lies in [5, 4]");
  EXPECT_EQ(error(R"({"type":"string","pattern":"(?<=a)b"})"),
            "json schema: /: pattern '(?<=a)b': lookarounds and inline flags '(?...' are not supported at offset 1");
  EXPECT_EQ(error("false"), "json schema: /: the schema 'false' allows no value");
  EXPECT_EQ(error(R"({"type":"string","minLength":"x"})"), "json schema: /: minLength must be a non-negative number");
  EXPECT_EQ(error(R"({"allOf":[{"type":"string"},{"type":"integer"}]})"),
            "json schema: /: allOf combines types that share no value");
}

TEST(GrammarJsonSchema, RecursiveRefsAndRootHasNoTrailingSpace) {
  Result<std::string> gbnf = json_schema_to_gbnf(nlohmann::ordered_json::parse(R"({
    "$defs": {"node": {"type": "object", "properties": {"v": {"type": "integer"},
              "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}}, "required": ["v"]}},
    "$ref": "#/$defs/node"})"));
  ASSERT_TRUE(gbnf.ok()) << gbnf.error();
  auto g = compile(*gbnf);
  ASSERT_TRUE(g);
  Matcher m(g);
  EXPECT_TRUE(accepts(m, R"({"v": 1, "kids": [{"v": 2}, {"v": 3, "kids": []}]})"));
  EXPECT_FALSE(accepts(m, R"({"kids": []})"));
  ByteState s = m.step_bytes({m.initial(), 0, 0, 0}, R"({"v":1})");
  ASSERT_FALSE(s.dead());
  EXPECT_TRUE(m.only_end(s.state)) << "nothing may follow the closing brace";
}

}  // namespace
}  // namespace tessera::grammar

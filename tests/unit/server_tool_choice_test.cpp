// tool_choice (src/server/tool_choice.*): parsing, the template's tool-call format, and the
// grammars that force a tool call. Sentences are written by hand from each wire format's
// definition (Hermes <tool_call>, Llama 3.x JSON, Mistral [TOOL_CALLS], llama.cpp's generic JSON);
// random sentences of each grammar must read back through chat::ChatOutputParser as tool calls
// of the allowed tools with the required arguments.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "chat/chat_output_parser.h"
#include "grammar/random_walk.h"
#include "grammar_test_util.h"
#include "server/tool_choice.h"

namespace tessera::server {
namespace {

using ojson = nlohmann::ordered_json;
using grammar::testing::accepts;
using grammar::testing::compile;
using Format = chat::ToolCallFormat;

const ojson kTools = ojson::parse(R"([
  {"type": "function", "function": {"name": "add", "parameters": {"type": "object",
    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]}}},
  {"type": "function", "function": {"name": "convert", "parameters": {"$defs": {"unit": {"enum": ["C", "F"]}},
    "type": "object", "properties": {"to": {"$ref": "#/$defs/unit"}}, "required": ["to"]}}},
  {"type": "function", "function": {"name": "now"}}
])");

ToolChoice required(bool parallel = false) {
  return ToolChoice{ToolChoice::Mode::kRequired, "", parallel};
}

std::unique_ptr<grammar::Matcher> matcher_for(const ToolChoice& choice, Format format) {
  Result<std::string> gbnf = forced_tool_call_gbnf(kTools, choice, format);
  EXPECT_TRUE(gbnf.ok()) << (gbnf.ok() ? "" : gbnf.error());
  if (!gbnf.ok()) return nullptr;
  auto g = compile(*gbnf);
  return g ? std::make_unique<grammar::Matcher>(g) : nullptr;
}

TEST(ToolChoiceGrammar, GenericFormatIsLlamaCppsToolCallObject) {
  auto m = matcher_for(required(), Format::kGeneric);
  ASSERT_TRUE(m);
  EXPECT_TRUE(accepts(*m, R"({"tool_call": {"name": "add", "arguments": {"a": 1, "b": -2}}})"));
  EXPECT_TRUE(accepts(*m, R"({"tool_call": {"name": "convert", "arguments": {"to": "F"}}})"));
  EXPECT_TRUE(accepts(*m, R"({"tool_call": {"name": "now", "arguments": {}}})"));
  EXPECT_FALSE(accepts(*m, R"({"tool_call": {"name": "sub", "arguments": {"a": 1, "b": 2}}})"));    // unknown tool
  EXPECT_FALSE(accepts(*m, R"({"tool_call": {"name": "add", "arguments": {"a": "1", "b": 2}}})"));  // a: string
  EXPECT_FALSE(accepts(*m, R"({"tool_call": {"name": "convert", "arguments": {"to": "K"}}})"));     // $ref enum
  EXPECT_FALSE(accepts(*m, R"({"tool_call": {"name": "add"}})"));
  EXPECT_FALSE(accepts(*m, R"(The answer is 3.)"));
  // At most one blank between tokens (a small model would otherwise fill the newline-and-indent
  // slots of JSON whitespace forever).
  EXPECT_TRUE(accepts(*m, R"({"tool_call":{"name":"now","arguments":{}}})"));
  EXPECT_FALSE(accepts(*m, "{\n  \"tool_call\": {\"name\": \"now\", \"arguments\": {}}}"));
  EXPECT_FALSE(accepts(*m, R"({"tool_call":  {"name": "now", "arguments": {}}})"));
  auto parallel = matcher_for(required(true), Format::kGeneric);
  ASSERT_TRUE(parallel);
  EXPECT_TRUE(accepts(*parallel, R"({"tool_calls": [{"name": "now", "arguments": {}}, )"
                                 R"({"name": "add", "arguments": {"a": 1, "b": 2}}]})"));
  EXPECT_FALSE(accepts(*parallel, R"({"tool_calls": []})"));
}

TEST(ToolChoiceGrammar, HermesLlamaAndMistralFormats) {
  auto hermes = matcher_for(required(), Format::kHermes);
  ASSERT_TRUE(hermes);
  EXPECT_TRUE(accepts(*hermes, "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}\n</tool_call>"));
  EXPECT_FALSE(accepts(*hermes, "{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}"));
  EXPECT_FALSE(accepts(*hermes,
                       "<tool_call>\n{\"name\": \"now\", \"arguments\": {}}\n</tool_call>\n<tool_call>"
                       "{\"name\": \"now\", \"arguments\": {}}</tool_call>"));  // one call only
  auto hermes_parallel = matcher_for(required(true), Format::kHermes);
  ASSERT_TRUE(hermes_parallel);
  EXPECT_TRUE(accepts(*hermes_parallel,
                      "<tool_call>\n{\"name\": \"now\", \"arguments\": {}}\n</tool_call>\n"
                      "<tool_call>{\"name\": \"now\", \"arguments\": {}}</tool_call>"));

  auto llama = matcher_for(required(), Format::kLlama3);
  ASSERT_TRUE(llama);
  EXPECT_TRUE(accepts(*llama, R"({"name": "convert", "parameters": {"to": "C"}})"));
  EXPECT_FALSE(accepts(*llama, R"({"name": "convert", "arguments": {"to": "C"}})"));

  auto mistral = matcher_for(required(), Format::kMistral);
  ASSERT_TRUE(mistral);
  EXPECT_TRUE(accepts(*mistral, R"([TOOL_CALLS][{"name": "add", "arguments": {"a": 1, "b": 2}, "id": "abc123XYZ"}])"));
  EXPECT_FALSE(accepts(*mistral, R"([TOOL_CALLS][{"name": "add", "arguments": {"a": 1, "b": 2}, "id": "abc"}])"));
  EXPECT_FALSE(accepts(*mistral, R"([TOOL_CALLS][{"name": "now", "arguments": {}, "id": "abc123XYZ"}, )"
                                 R"({"name": "now", "arguments": {}, "id": "abc123XYZ"}])"));
}

TEST(ToolChoiceGrammar, NamedFunctionAllowsOnlyThatTool) {
  auto m = matcher_for(ToolChoice{ToolChoice::Mode::kFunction, "convert", false}, Format::kGeneric);
  ASSERT_TRUE(m);
  EXPECT_TRUE(accepts(*m, R"({"tool_call": {"name": "convert", "arguments": {"to": "C"}}})"));
  EXPECT_FALSE(accepts(*m, R"({"tool_call": {"name": "now", "arguments": {}}})"));
}

TEST(ToolChoiceGrammar, RandomSentencesParseBackAsValidCalls) {
  for (Format format : {Format::kGeneric, Format::kHermes, Format::kLlama3, Format::kMistral}) {
    for (bool parallel : {false, true}) {
      auto m = matcher_for(required(parallel), format);
      ASSERT_TRUE(m);
      for (uint64_t seed = 0; seed < 40; ++seed) {
        Result<std::string> text = grammar::random_sentence(*m, {.seed = seed, .soft_length = 48});
        ASSERT_TRUE(text.ok()) << text.error();
        chat::ChatOutputParser parser({.format = Format::kAuto, .parse_reasoning = true});
        parser.feed(*text);
        parser.finish();
        const chat::ParsedMessage& msg = parser.message();
        ASSERT_FALSE(msg.tool_calls.empty()) << *text;
        if (!parallel || format == Format::kLlama3) {
          EXPECT_EQ(msg.tool_calls.size(), 1u) << *text;
        }
        EXPECT_EQ(msg.content, "") << *text;
        for (const chat::ToolCall& call : msg.tool_calls) {
          const ojson args = ojson::parse(call.arguments, nullptr, false);
          ASSERT_TRUE(args.is_object()) << *text;
          if (call.name == "add") {
            EXPECT_TRUE(args["a"].is_number_integer() && args["b"].is_number_integer()) << *text;
          } else if (call.name == "convert") {
            EXPECT_TRUE(args["to"] == "C" || args["to"] == "F") << *text;
          } else {
            EXPECT_EQ(call.name, "now") << *text;
          }
          if (format == Format::kMistral) {
            EXPECT_EQ(call.id.size(), 9u) << *text;
          }
        }
      }
    }
  }
}

TEST(ToolChoiceGrammar, UnsupportedParametersSchemaNamesTheKeyword) {
  const ojson tools = ojson::parse(R"([{"type": "function", "function": {"name": "f",
    "parameters": {"type": "object", "properties": {"x": {"not": {"type": "string"}}}, "required": ["x"]}}}])");
  Result<std::string> gbnf = forced_tool_call_gbnf(tools, required(), Format::kGeneric);
  ASSERT_FALSE(gbnf.ok());
  EXPECT_NE(gbnf.error().find("'not'"), std::string::npos) << gbnf.error();
  const ojson bad = ojson::parse(R"([{"type": "function", "function": {"name": "g", "parameters": "x"}}])");
  Result<std::string> g2 = forced_tool_call_gbnf(bad, required(), Format::kGeneric);
  ASSERT_FALSE(g2.ok());
  EXPECT_NE(g2.error().find("'g'"), std::string::npos) << g2.error();
}

TEST(ToolChoiceParse, ShapesAndErrors) {
  const auto parse = [](const char* body, ToolChoice& out) {
    return parse_tool_choice(ojson::parse(body), kTools, out);
  };
  ToolChoice c;
  EXPECT_FALSE(parse(R"({})", c));
  EXPECT_EQ(c.mode, ToolChoice::Mode::kAuto);
  EXPECT_FALSE(parse(R"({"tool_choice": "none"})", c));
  EXPECT_EQ(c.mode, ToolChoice::Mode::kNone);
  EXPECT_FALSE(parse(R"({"tool_choice": "required", "parallel_tool_calls": true})", c));
  EXPECT_TRUE(c.forced() && c.parallel);
  EXPECT_FALSE(parse(R"({"tool_choice": {"type": "function", "function": {"name": "now"}}})", c));
  EXPECT_EQ(c.mode, ToolChoice::Mode::kFunction);
  EXPECT_EQ(c.function, "now");
  for (const char* bad : {R"({"tool_choice": "always"})", R"({"tool_choice": 1})", R"({"tool_choice": []})",
                          R"({"tool_choice": {"type": "function", "function": {"name": "nope"}}})",
                          R"({"tool_choice": {"type": "tool", "function": {"name": "now"}}})",
                          R"({"tool_choice": {"function": {"name": "now"}}})",
                          R"({"tool_choice": "required", "parallel_tool_calls": 1})"}) {
    std::optional<ApiError> e = parse(bad, c);
    ASSERT_TRUE(e) << bad;
    EXPECT_EQ(e->status, 400) << bad;
  }
  std::optional<ApiError> e = parse_tool_choice(ojson::parse(R"({"tool_choice": "required"})"), ojson(), c);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->param, "tool_choice");
}

std::string read_template(const std::string& name) {
  std::ifstream in(std::string(TESSERA_FIXTURES_DIR) + "/../../../shared/testdata/templates/" + name);
  std::stringstream s;
  s << in.rdbuf();
  EXPECT_FALSE(s.str().empty()) << name;
  return s.str();
}

TEST(ToolChoiceFormat, RealTemplates) {
  EXPECT_EQ(template_tool_format(read_template("NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja")), Format::kHermes);
  EXPECT_EQ(template_tool_format(read_template("Qwen-Qwen3-0.6B.jinja")), Format::kHermes);
  EXPECT_EQ(template_tool_format(read_template("meta-llama-Llama-3.2-3B-Instruct.jinja")), Format::kLlama3);
  EXPECT_EQ(template_tool_format(read_template("meta-llama-Llama-3.3-70B-Instruct.jinja")), Format::kLlama3);
  EXPECT_EQ(template_tool_format(read_template("mistralai-Mistral-Nemo-Instruct-2407.jinja")), Format::kMistral);
  EXPECT_EQ(template_tool_format(read_template("google-gemma-2-2b-it.jinja")), Format::kGeneric);
}

}  // namespace
}  // namespace tessera::server

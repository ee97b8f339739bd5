// Tool-call and reasoning parsing of model replies, whole and streamed in small chunks.
#include <gtest/gtest.h>

#include <string>

#include "chat/chat_output_parser.h"

namespace tessera::chat {
namespace {

ParsedMessage parse_whole(const std::string& text, ParserOptions options = {}) {
  ChatOutputParser p(options);
  p.feed(text);
  p.finish();
  return p.message();
}

// Feeds `text` in chunks of `chunk` bytes and sums the deltas (which must add up to message()).
ParsedMessage parse_streamed(const std::string& text, size_t chunk, ParserOptions options = {}) {
  ChatOutputParser p(options);
  ParsedMessage sum;
  auto add = [&](const ParsedMessage& d) {
    sum.content += d.content;
    sum.reasoning_content += d.reasoning_content;
    sum.tool_calls.insert(sum.tool_calls.end(), d.tool_calls.begin(), d.tool_calls.end());
  };
  for (size_t i = 0; i < text.size(); i += chunk) add(p.feed(text.substr(i, chunk)));
  add(p.finish());
  EXPECT_EQ(sum.content, p.message().content);
  EXPECT_EQ(sum.reasoning_content, p.message().reasoning_content);
  EXPECT_EQ(sum.tool_calls.size(), p.message().tool_calls.size());
  return sum;
}

TEST(ChatOutputParserTest, PlainContent) {
  const ParsedMessage m = parse_whole("Hello there.");
  EXPECT_EQ(m.content, "Hello there.");
  EXPECT_TRUE(m.tool_calls.empty());
  EXPECT_TRUE(m.reasoning_content.empty());
}

TEST(ChatOutputParserTest, HermesToolCalls) {
  const std::string text =
      "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n"
      "<tool_call>{\"name\": \"web_search\", \"arguments\": {\"query\": \"a <b> c\"}}</tool_call>";
  for (size_t chunk : {text.size(), size_t(1), size_t(3), size_t(7)}) {
    const ParsedMessage m = parse_streamed(text, chunk);
    EXPECT_EQ(m.content, "Let me check.\n") << chunk;
    ASSERT_EQ(m.tool_calls.size(), 2u) << chunk;
    EXPECT_EQ(m.tool_calls[0].name, "get_weather");
    EXPECT_EQ(m.tool_calls[0].arguments, R"({"city":"Paris"})");
    EXPECT_EQ(m.tool_calls[1].name, "web_search");
    EXPECT_EQ(m.tool_calls[1].arguments, R"({"query":"a <b> c"})");
    EXPECT_NE(m.tool_calls[0].id, m.tool_calls[1].id);
  }
}

TEST(ChatOutputParserTest, PartialMarkerIsHeldBackUntilDecided) {
  ChatOutputParser p;
  EXPECT_EQ(p.feed("Sure <tool_c").content, "Sure ");  // "<tool_c" might open a call
  EXPECT_EQ(p.feed("ar is not a tag").content, "<tool_car is not a tag");
  EXPECT_TRUE(p.message().tool_calls.empty());
}

TEST(ChatOutputParserTest, Llama3JsonToolCall) {
  const std::string text = R"({"name": "get_weather", "parameters": {"city": "Oslo", "days": 3}})";
  const ParsedMessage m = parse_streamed(text, 5);
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.tool_calls[0].name, "get_weather");
  EXPECT_EQ(m.tool_calls[0].arguments, R"({"city":"Oslo","days":3})");
  EXPECT_EQ(m.content, "");
}

TEST(ChatOutputParserTest, Llama3PythonTag) {
  const ParsedMessage m = parse_streamed("<|python_tag|>{\"name\": \"search\", \"parameters\": {\"q\": \"x\"}}", 4);
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.tool_calls[0].name, "search");
  const ParsedMessage code = parse_whole("<|python_tag|>print(1 + 1)");
  ASSERT_EQ(code.tool_calls.size(), 1u);
  EXPECT_EQ(code.tool_calls[0].name, "python");
  EXPECT_EQ(code.tool_calls[0].arguments, R"x({"code":"print(1 + 1)"})x");
}

TEST(ChatOutputParserTest, MistralToolCalls) {
  const std::string text =
      R"([TOOL_CALLS][{"name": "a", "arguments": {"x": 1}, "id": "abc123XYZ"}, {"name": "b", "arguments": "{\"y\": 2}"}])";
  const ParsedMessage m = parse_streamed(text, 2);
  ASSERT_EQ(m.tool_calls.size(), 2u);
  EXPECT_EQ(m.tool_calls[0].id, "abc123XYZ");
  EXPECT_EQ(m.tool_calls[0].arguments, R"({"x":1})");
  EXPECT_EQ(m.tool_calls[1].name, "b");
  EXPECT_EQ(m.tool_calls[1].arguments, R"({"y": 2})");  // string arguments pass through
}

TEST(ChatOutputParserTest, DeepSeekReasoning) {
  const std::string text = "<think>\nFirst, 2+2.\nIt is 4.\n</think>\n\nThe answer is 4.";
  for (size_t chunk : {text.size(), size_t(1), size_t(4)}) {
    const ParsedMessage m = parse_streamed(text, chunk);
    EXPECT_EQ(m.reasoning_content, "\nFirst, 2+2.\nIt is 4.\n") << chunk;
    EXPECT_EQ(m.content, "The answer is 4.") << chunk;
  }
}

TEST(ChatOutputParserTest, ReasoningForcedOpenThenToolCall) {
  ParserOptions options;
  options.thinking_forced_open = true;  // the prompt ended with "<think>\n"
  const ParsedMessage m =
      parse_streamed("I should search.</think><tool_call>{\"name\": \"s\", \"arguments\": {}}</tool_call>", 3, options);
  EXPECT_EQ(m.reasoning_content, "I should search.");
  EXPECT_EQ(m.content, "");
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.tool_calls[0].arguments, "{}");
}

TEST(ChatOutputParserTest, UnterminatedReasoningStaysReasoning) {
  const ParsedMessage m = parse_whole("<think>still thinking");
  EXPECT_EQ(m.reasoning_content, "still thinking");
  EXPECT_EQ(m.content, "");
}

TEST(ChatOutputParserTest, GenericJsonFallback) {
  const ParsedMessage call = parse_whole(R"({"tool_call": {"name": "f", "arguments": {"a": "b"}}})");
  ASSERT_EQ(call.tool_calls.size(), 1u);
  EXPECT_EQ(call.tool_calls[0].name, "f");
  const ParsedMessage reply = parse_whole(R"({"response": "just text"})");
  EXPECT_EQ(reply.content, "just text");
  EXPECT_TRUE(reply.tool_calls.empty());
}

TEST(ChatOutputParserTest, MalformedCallsBecomeContent) {
  const ParsedMessage bad = parse_whole("<tool_call>{not json}</tool_call>");
  EXPECT_TRUE(bad.tool_calls.empty());
  EXPECT_EQ(bad.content, "<tool_call>{not json}</tool_call>");
  const ParsedMessage json_content = parse_whole(R"({"answer": 42})");  // JSON, but not a tool call
  EXPECT_TRUE(json_content.tool_calls.empty());
  EXPECT_EQ(json_content.content, R"({"answer": 42})");
  const ParsedMessage cut = parse_whole("<tool_call>{\"name\": \"f\", \"argu");  // generation stopped mid-call
  EXPECT_TRUE(cut.tool_calls.empty());
  EXPECT_EQ(cut.content, "<tool_call>{\"name\": \"f\", \"argu");
}

TEST(ChatOutputParserTest, FormatNoneKeepsEverythingAsContent) {
  ParserOptions options;
  options.format = ToolCallFormat::kNone;
  options.parse_reasoning = false;
  const std::string text = "<think>x</think><tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>";
  EXPECT_EQ(parse_whole(text, options).content, text);
}

TEST(ChatOutputParserTest, OpenAiJsonShape) {
  const ParsedMessage m = parse_whole("<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": 1}}</tool_call>");
  const nlohmann::ordered_json j = m.to_json();
  EXPECT_EQ(j["role"], "assistant");
  EXPECT_TRUE(j["content"].is_null());
  EXPECT_EQ(j["tool_calls"][0]["type"], "function");
  EXPECT_EQ(j["tool_calls"][0]["function"]["name"], "f");
  EXPECT_EQ(j["tool_calls"][0]["function"]["arguments"], "{\"a\":1}");
}

}  // namespace
}  // namespace tessera::chat

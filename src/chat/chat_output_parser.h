// Parses a model's generated text into an OpenAI-style assistant message: reasoning_content
// (DeepSeek-style `<think>...</think>`), content, and tool_calls in the common formats:
//
//   Hermes / Qwen   <tool_call>{"name": "f", "arguments": {...}}</tool_call>   (several allowed)
//   Llama 3.x       {"name": "f", "parameters": {...}}  as the whole reply, or after <|python_tag|>
//   Mistral         [TOOL_CALLS][{"name": "f", "arguments": {...}, "id": "..."}, ...]
//   generic JSON    {"tool_calls": [{"name": ..., "arguments": ...}]} / {"tool_call": {...}} /
//                   {"response": "..."} as the whole reply (llama.cpp's generic format)
//
// Incremental: feed() takes streamed chunks and returns what became certain: text that might be
// the start of a marker ("<tool_c") is held back until the next chunk decides; a tool call is
// returned whole once its JSON is complete. finish() flushes the rest at the end of generation.
//
//   ChatOutputParser parser({.format = ToolCallFormat::kAuto, .parse_reasoning = true});
//   for (chunk : stream) send(parser.feed(chunk));     // deltas
//   send(parser.finish());
//   const ParsedMessage& full = parser.message();      // everything so far
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::chat {

enum class ToolCallFormat {
  kNone,  // no tool calls: everything (after reasoning) is content
  kAuto,  // any of the formats below
  kHermes,
  kLlama3,
  kMistral,
  kGeneric,
};

struct ParserOptions {
  ToolCallFormat format = ToolCallFormat::kAuto;
  bool parse_reasoning = true;  // split <think>...</think> into reasoning_content
  // The prompt already opened the think block (templates that end with "<think>\n"): the reply
  // starts inside the reasoning.
  bool thinking_forced_open = false;
  std::string think_start = "<think>";
  std::string think_end = "</think>";
};

struct ToolCall {
  std::string id;  // from the model (Mistral) or "call_<n>"
  std::string name;
  std::string arguments;  // JSON text of the arguments object (as OpenAI sends it)
};

struct ParsedMessage {
  std::string reasoning_content;
  std::string content;
  std::vector<ToolCall> tool_calls;

  bool empty() const { return reasoning_content.empty() && content.empty() && tool_calls.empty(); }
  // {"role": "assistant", "content": ..., "reasoning_content"?: ..., "tool_calls"?: [...]}
  nlohmann::ordered_json to_json() const;
};

class ChatOutputParser {
 public:
  explicit ChatOutputParser(ParserOptions options = {});

  // Consumes a chunk of generated text; returns the new, certain parts (a delta).
  ParsedMessage feed(std::string_view chunk);
  // End of generation: resolves held-back text and unterminated blocks.
  ParsedMessage finish();
  // Everything parsed so far (the sum of all deltas).
  const ParsedMessage& message() const { return total_; }

 private:
  enum class State { kStart, kReasoning, kContent, kToolCallTag, kToolCallsJson, kWholeJson };

  void step(ParsedMessage& delta, bool final);
  bool step_start(bool final);
  bool step_reasoning(ParsedMessage& delta, bool final);
  bool step_content(ParsedMessage& delta, bool final);
  bool step_tool_call_tag(ParsedMessage& delta, bool final);
  bool step_tool_calls_json(ParsedMessage& delta, bool final);
  bool step_whole_json(ParsedMessage& delta, bool final);
  void emit_content(ParsedMessage& delta, std::string_view text);
  void emit_reasoning(ParsedMessage& delta, std::string_view text);
  bool add_tool_call(ParsedMessage& delta, const nlohmann::ordered_json& call);
  bool wants(ToolCallFormat f) const { return options_.format == ToolCallFormat::kAuto || options_.format == f; }

  ParserOptions options_;
  State state_ = State::kStart;
  std::string buffer_;  // unconsumed text
  bool content_started_ = false;
  bool skip_whitespace_ = false;  // after </think>: leading whitespace of the content is dropped
  bool python_tag_ = false;       // the JSON/code being read came after <|python_tag|>
  ParsedMessage total_;
  size_t next_call_id_ = 0;
};

// Index just past the JSON value starting at text[0] (after leading whitespace), or npos when the
// value is not complete yet. Strings and nesting are honoured; validity is checked by the caller.
size_t json_value_end(std::string_view text);

}  // namespace tessera::chat

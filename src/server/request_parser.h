// JSON request bodies -> the scheduler's GenerationRequest, checking every known field's type
// and range. Errors are ApiErrors (400) naming the field. Unknown fields are ignored, as the
// OpenAI API and llama.cpp do.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "server/api_error.h"
#include "server/chat_format.h"
#include "server/generation.h"
#include "server/tool_choice.h"
#include "tokenizer/tokenizer.h"

namespace tessera::server {

// Which API a body came in through: field names and ranges differ slightly.
enum class Api { kChat, kCompletions, kNative };

struct ParsedGeneration {
  GenerationRequest base;  // prompt not yet set
  int32_t n_choices = 1;   // "n"
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  std::string model;
};

// Sampling, length, stop, logprobs, n, stream and cache fields of `body`.
std::optional<ApiError> parse_generation_fields(const nlohmann::json& body, Api api, int64_t n_vocab,
                                                ParsedGeneration& out);

// "messages": a non-empty array of {role, content, ...}; role system, developer, user, assistant
// or tool; content a string, an array of {"type": "text", "text": ...} parts, or null (assistant
// turns with tool_calls). `out` is the checked array, in the client's key order.
std::optional<ApiError> parse_messages(const nlohmann::ordered_json& body, nlohmann::ordered_json& out);

// "tools" (+ "tool_choice" and "parallel_tool_calls" into `choice`, see tool_choice.h): `tools` is
// nullopt when none are offered (absent, empty, or tool_choice "none");
// "chat_template_kwargs": an object.
std::optional<ApiError> parse_tools(const nlohmann::ordered_json& body, std::optional<nlohmann::ordered_json>& tools,
                                    nlohmann::ordered_json& kwargs, ToolChoice& choice);

// "prompt" (or "content" for the native API): a string, an array of token ids, or an array
// holding one of these. Tokenized with BOS as the vocabulary says and special tokens parsed.
std::optional<ApiError> parse_prompt(const nlohmann::json& body, Api api, const tokenizer::Tokenizer& tokenizer,
                                     std::vector<int32_t>& out);

// Parses `text` as a JSON object; the error says where the syntax breaks.
std::optional<ApiError> parse_json_object(const std::string& text, nlohmann::json& out);

// A JSON type name for error messages ("string", "number", ...).
std::string json_type_name(const nlohmann::json& value);
std::string json_type_name(const nlohmann::ordered_json& value);
std::string value_type_name(nlohmann::detail::value_t type);

}  // namespace tessera::server

// OpenAI's `tool_choice` for chat completions, and the grammar that enforces it.
//
//   "auto" (default)  the model may call a tool or answer in text
//   "none"            no tool is offered: the template renders without tools, no tool call is parsed
//   "required"        the reply is one call (several with "parallel_tool_calls": true) of any tool
//   {"type": "function", "function": {"name": "f"}}   the reply is a call of f
//
// A forced choice constrains generation with a GBNF grammar whose sentences are tool calls in the
// wire format the chat template's output parser expects, sniffed from the template's source as
// llama.cpp does:
//
//   Hermes / Qwen (template mentions <tool_call>)    <tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call>
//   Llama 3.x (ipython role or <|python_tag|>)       {"name": "f", "parameters": {...}}
//   Mistral (template mentions [TOOL_CALLS])         [TOOL_CALLS][{"name": "f", "arguments": {...}, "id": "a1b2c3d4e"}]
//   generic (any other template, e.g. ChatML)        {"tool_call": {"name": "f", "arguments": {...}}}
//                                                    ({"tool_calls": [...]} with parallel_tool_calls)
//
// The arguments follow the tool's `parameters` JSON schema (grammar/json_schema; local $refs of
// the parameters schema keep working), so chat::ChatOutputParser reads every sentence back as
// tool calls whose arguments validate.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "chat/chat_output_parser.h"
#include "server/api_error.h"
#include "tessera/status.h"

namespace tessera::server {

struct ToolChoice {
  enum class Mode { kAuto, kNone, kRequired, kFunction };
  Mode mode = Mode::kAuto;
  std::string function;   // kFunction: the tool to call
  bool parallel = false;  // "parallel_tool_calls": allow several calls (llama-server's default: one)

  bool forced() const { return mode == Mode::kRequired || mode == Mode::kFunction; }
};

// "tool_choice" and "parallel_tool_calls" of `body`. `tools`: the request's checked "tools" array
// (null when absent). Errors (400, param "tool_choice"): a value that is not one of the shapes
// above, an unknown function name, or a forced choice without tools.
std::optional<ApiError> parse_tool_choice(const nlohmann::ordered_json& body, const nlohmann::ordered_json& tools,
                                          ToolChoice& out);

// The tool-call format of a chat template (kHermes, kLlama3, kMistral or kGeneric).
chat::ToolCallFormat template_tool_format(std::string_view template_source);

// GBNF whose sentences are the tool calls `choice` (forced) allows among `tools`, in `format`.
// Fails when a tool's parameters schema cannot be turned into a grammar (the message names the tool).
Result<std::string> forced_tool_call_gbnf(const nlohmann::ordered_json& tools, const ToolChoice& choice,
                                          chat::ToolCallFormat format);

}  // namespace tessera::server

// The server's adapter over the chat module: OpenAI messages (+ tools) -> prompt text through the
// model's Jinja chat template (or a built-in one), and generated text -> content, reasoning and
// tool calls through the chat output parser. The routes see only this.
//
// Immutable after create(); render() may run concurrently (each call renders independently).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "chat/chat_output_parser.h"
#include "chat/chat_template.h"
#include "gguf/gguf_file.h"
#include "tessera/status.h"
#include "tokenizer/tokenizer.h"

namespace tessera::server {

class ChatFormat {
 public:
  // `flag` (--chat-template): "" = the model's tokenizer.chat_template, or the built-in ChatML
  // when it has none (as llama.cpp); else a built-in name (chatml, gemma, llama3, ...) or Jinja source.
  static Result<ChatFormat> create(const gguf::GgufFile& file, const tokenizer::Tokenizer& tokenizer,
                                   const std::string& flag);

  // The prompt text for OpenAI-shaped `messages`; the BOS text the template may emit first is
  // removed, since the tokenizer adds BOS itself. `tools`: nullopt renders tools=None. A
  // template that ignores `tools` (e.g. ChatML) gets them as llama.cpp's minja gives them: as
  // JSON in the system message ("You can call any of the following tools ...").
  Result<std::string> render(const nlohmann::ordered_json& messages, const std::optional<nlohmann::ordered_json>& tools,
                             const nlohmann::ordered_json& kwargs, bool add_generation_prompt) const;

  // A parser for one reply; tool calls are looked for only when the request offered tools.
  chat::ChatOutputParser parser(bool tools) const;

  const std::string& name() const { return name_; }  // "model" or the built-in / flag name
  // The tool-call format the template's replies use (see tool_choice.h); forced tool calls take it.
  chat::ToolCallFormat tool_format() const { return tool_format_; }
  // Whether the template itself renders `tools` (else render() adds them to the system message).
  bool renders_tools() const { return renders_tools_; }
  const std::string& template_source() const { return tmpl_->source(); }

 private:
  std::string name_;
  std::shared_ptr<const chat::ChatTemplate> tmpl_;
  std::string bos_, eos_;
  chat::ToolCallFormat tool_format_ = chat::ToolCallFormat::kGeneric;
  bool renders_tools_ = true;

  bool probe_renders_tools() const;
  // `messages` with the tools described in the system message (or, without `system_role`, at
  // the start of the first user message).
  static nlohmann::ordered_json with_tools_in_system(const nlohmann::ordered_json& messages,
                                                     const nlohmann::ordered_json& tools, bool system_role = true);
};

}  // namespace tessera::server

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
  // removed, since the tokenizer adds BOS itself. `tools`: nullopt renders tools=None.
  Result<std::string> render(const nlohmann::ordered_json& messages, const std::optional<nlohmann::ordered_json>& tools,
                             const nlohmann::ordered_json& kwargs, bool add_generation_prompt) const;

  // A parser for one reply; tool calls are looked for only when the request offered tools.
  chat::ChatOutputParser parser(bool tools) const;

  const std::string& name() const { return name_; }  // "model" or the built-in / flag name
  const std::string& template_source() const { return tmpl_->source(); }

 private:
  std::string name_;
  std::shared_ptr<const chat::ChatTemplate> tmpl_;
  std::string bos_, eos_;
};

}  // namespace tessera::server

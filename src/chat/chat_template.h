// Chat templates: turn an OpenAI-style conversation into the prompt text a model expects, by
// rendering the model's Jinja chat template (GGUF `tokenizer.chat_template`) exactly as Hugging
// Face transformers' apply_chat_template does, or one of the built-in fallback templates.
//
// Usage (what `tessera run -cnv` and the server do):
//
//   Result<ChatTemplate> tmpl = ChatTemplate::from_model(gguf_file);       // or from_flag(...)
//   ChatInputs in;
//   in.messages = nlohmann::ordered_json::parse(R"([{"role":"user","content":"Hi"}])");
//   in.add_generation_prompt = true;
//   in.bos_token = "<bos>";  in.eos_token = "<eos>";
//   Result<std::string> prompt = tmpl->render(in);
//
// Messages are OpenAI-shaped: {"role": "system"|"user"|"assistant"|"tool", "content": string or
// [{"type":"text","text":...}, ...] or null, "tool_calls": [{"type":"function","function":
// {"name":..., "arguments": object or JSON string}}], "tool_call_id": ..., "reasoning_content": ...}.
// They reach the template unchanged (like transformers does), in key order, so templates see the
// same dicts they would see in Python.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/jinja_interpreter.h"
#include "chat/jinja_template.h"
#include "tessera/status.h"

namespace tessera::gguf {
class GgufFile;
}

namespace tessera::chat {

struct ChatInputs {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  // OpenAI tool definitions ([{"type":"function","function":{...}}]); nullopt renders `tools=None`.
  std::optional<nlohmann::ordered_json> tools;
  bool add_generation_prompt = false;
  // Extra template variables (`--chat-template-kwargs`), e.g. {"enable_thinking": false}.
  nlohmann::ordered_json extra_kwargs = nlohmann::ordered_json::object();
  // bos_token / eos_token variables; nullopt leaves them undefined.
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  jinja::RenderLimits limits;
};

class ChatTemplate {
 public:
  // A Jinja template text; syntax errors name the line and column.
  static Result<ChatTemplate> from_source(std::string source);
  // A built-in template by name (see builtin_template_names()).
  static Result<ChatTemplate> from_name(std::string_view name);
  // llama.cpp's --chat-template: a built-in name, else Jinja source.
  static Result<ChatTemplate> from_flag(std::string_view name_or_source);
  // The model's `tokenizer.chat_template` (or `tokenizer.chat_template.<variant>` when `variant`
  // is given, e.g. "tool_use"); an error when the model has none.
  static Result<ChatTemplate> from_model(const gguf::GgufFile& model, std::string_view variant = {});
  // from_model, or for a model without a template the built-in one of its `general.architecture`
  // (gemma* -> gemma, llama -> llama3, mistral -> mistral, phi3 -> phi3, anything else -> chatml).
  static Result<ChatTemplate> from_model_or_builtin(const gguf::GgufFile& model);

  const std::string& source() const { return source_; }

  Result<std::string> render(const ChatInputs& inputs) const;

 private:
  std::string source_;
  jinja::Template compiled_;
};

// Incremental chat (llama.cpp's common_chat_format_single): the prompt text that `new_messages`
// add after the already-processed conversation `past`. `text` is what to feed the model next;
// `reuse_prefix` is false when the template rewrote earlier text (then `text` is the whole new
// prompt and the KV cache must be rebuilt).
struct ChatDelta {
  std::string text;
  bool reuse_prefix = true;
};
Result<ChatDelta> render_delta(const ChatTemplate& tmpl, const ChatInputs& past,
                               const nlohmann::ordered_json& new_messages, bool add_generation_prompt);

// Names of the built-in templates (chatml, llama2, llama3, gemma, mistral, phi3, ...).
std::vector<std::string> builtin_template_names();
// A built-in template's Jinja source, or nullopt.
std::optional<std::string_view> builtin_template_source(std::string_view name);

}  // namespace tessera::chat

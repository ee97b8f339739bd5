#include "chat/chat_template.h"

#include <fmt/format.h>

#include "gguf/gguf_file.h"

namespace tessera::chat {

Result<ChatTemplate> ChatTemplate::from_source(std::string source) {
  Result<jinja::Template> compiled = jinja::Template::parse(source);
  if (!compiled) return compiled.status();
  ChatTemplate t;
  t.source_ = std::move(source);
  t.compiled_ = std::move(*compiled);
  return t;
}

Result<ChatTemplate> ChatTemplate::from_name(std::string_view name) {
  std::optional<std::string_view> source = builtin_template_source(name);
  if (!source) {
    std::string names;
    for (const std::string& n : builtin_template_names()) names += (names.empty() ? "" : ", ") + n;
    return Status::error(fmt::format("unknown chat template '{}' (built-in: {})", name, names));
  }
  return from_source(std::string(*source));
}

Result<ChatTemplate> ChatTemplate::from_flag(std::string_view name_or_source) {
  if (builtin_template_source(name_or_source)) return from_name(name_or_source);
  if (name_or_source.find("{%") == std::string_view::npos && name_or_source.find("{{") == std::string_view::npos) {
    return from_name(name_or_source);  // not Jinja: report it as an unknown name
  }
  return from_source(std::string(name_or_source));
}

Result<ChatTemplate> ChatTemplate::from_model(const gguf::GgufFile& model, std::string_view variant) {
  const std::string key =
      variant.empty() ? "tokenizer.chat_template" : fmt::format("tokenizer.chat_template.{}", variant);
  const gguf::Value* value = model.find(key);
  if (!value) return Status::error(fmt::format("the model has no '{}' metadata", key));
  std::optional<std::string_view> text = value->get_string();
  if (!text) return Status::error(fmt::format("metadata '{}' is not a string", key));
  Result<ChatTemplate> t = from_source(std::string(*text));
  if (!t) return Status::error(fmt::format("{}: {}", key, t.error()));
  return t;
}

Result<ChatTemplate> ChatTemplate::from_model_or_builtin(const gguf::GgufFile& model) {
  if (model.find("tokenizer.chat_template")) return from_model(model);
  std::string_view arch;
  if (const gguf::Value* v = model.find("general.architecture")) arch = v->get_string().value_or("");
  if (arch.substr(0, 5) == "gemma") return from_name("gemma");
  if (arch == "llama") return from_name("llama3");
  if (arch == "mistral" || arch == "phi3") return from_name(arch);
  return from_name("chatml");
}

Result<std::string> ChatTemplate::render(const ChatInputs& inputs) const {
  using jinja::Value;
  if (!inputs.messages.is_array()) return Status::error("messages must be a JSON array");
  if (inputs.tools && !inputs.tools->is_array() && !inputs.tools->is_null()) {
    return Status::error("tools must be a JSON array");
  }
  if (!inputs.extra_kwargs.is_object()) return Status::error("chat template kwargs must be a JSON object");
  Value context = Value::dict();
  jinja::DictData& d = context.dict_data();
  d.set("messages", Value::from_json(inputs.messages));
  d.set("tools", inputs.tools ? Value::from_json(*inputs.tools) : Value::none());
  d.set("documents", Value::none());
  d.set("add_generation_prompt", Value(inputs.add_generation_prompt));
  if (inputs.bos_token) d.set("bos_token", Value(*inputs.bos_token));
  if (inputs.eos_token) d.set("eos_token", Value(*inputs.eos_token));
  for (const auto& [k, v] : inputs.extra_kwargs.items()) {
    if (k == "messages" || k == "tools" || k == "documents" || k == "add_generation_prompt") {
      return Status::error(fmt::format("chat template kwargs: '{}' is set by the chat itself", k));
    }
    d.set(Value(k), Value::from_json(v));
  }
  return compiled_.render(context, inputs.limits);
}

Result<ChatDelta> render_delta(const ChatTemplate& tmpl, const ChatInputs& past,
                               const nlohmann::ordered_json& new_messages, bool add_generation_prompt) {
  if (!new_messages.is_array()) return Status::error("new messages must be a JSON array");
  std::string before;
  if (!past.messages.empty()) {
    ChatInputs old = past;
    old.add_generation_prompt = false;
    Result<std::string> r = tmpl.render(old);
    if (!r) return r.status();
    before = std::move(*r);
  }
  ChatInputs now = past;
  for (const auto& m : new_messages) now.messages.push_back(m);
  now.add_generation_prompt = add_generation_prompt;
  Result<std::string> after = tmpl.render(now);
  if (!after) return after.status();
  ChatDelta delta;
  if (after->compare(0, before.size(), before) == 0) {
    delta.text = after->substr(before.size());
  } else {
    delta.text = std::move(*after);
    delta.reuse_prefix = false;
  }
  return delta;
}

}  // namespace tessera::chat

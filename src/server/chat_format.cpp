#include "server/chat_format.h"

#include <fmt/format.h>

#include "server/tool_choice.h"

namespace tessera::server {

Result<ChatFormat> ChatFormat::create(const gguf::GgufFile& file, const tokenizer::Tokenizer& tokenizer,
                                      const std::string& flag) {
  ChatFormat f;
  Result<chat::ChatTemplate> tmpl = Status::error("unset");
  if (!flag.empty()) {
    tmpl = chat::ChatTemplate::from_flag(flag);
    f.name_ = chat::builtin_template_source(flag) ? flag : "custom";
  } else if (file.find("tokenizer.chat_template")) {
    tmpl = chat::ChatTemplate::from_model(file);
    f.name_ = "model";
  } else {
    tmpl = chat::ChatTemplate::from_name("chatml");  // llama.cpp's choice for a model without a template
    f.name_ = "chatml";
  }
  if (!tmpl) return Status::error(fmt::format("chat template: {}", tmpl.error()));
  f.tmpl_ = std::make_shared<const chat::ChatTemplate>(std::move(*tmpl));
  f.tool_format_ = template_tool_format(f.tmpl_->source());
  f.renders_tools_ = f.probe_renders_tools();
  const tokenizer::SpecialTokens& special = tokenizer.vocab().special();
  if (special.bos != tokenizer::kNoToken) f.bos_ = tokenizer.token_to_piece(special.bos, true);
  if (special.eos != tokenizer::kNoToken) f.eos_ = tokenizer.token_to_piece(special.eos, true);
  return f;
}

bool ChatFormat::probe_renders_tools() const {
  // As minja (llama.cpp's template engine) decides whether a template "supports tools": render
  // one message with a made-up tool and look for its name.
  constexpr std::string_view kProbe = "tessera_probe_tool_name";
  const nlohmann::ordered_json messages = nlohmann::ordered_json::array({{{"role", "user"}, {"content", "Hi"}}});
  const nlohmann::ordered_json tools = nlohmann::ordered_json::array(
      {{{"type", "function"},
        {"function", {{"name", kProbe}, {"description", ""}, {"parameters", {{"type", "object"}}}}}}});
  chat::ChatInputs in;
  in.messages = messages;
  in.tools = tools;
  in.add_generation_prompt = true;
  in.bos_token = bos_;
  in.eos_token = eos_;
  Result<std::string> text = tmpl_->render(in);
  return text.ok() && text->find(kProbe) != std::string::npos;
}

nlohmann::ordered_json ChatFormat::with_tools_in_system(const nlohmann::ordered_json& messages,
                                                        const nlohmann::ordered_json& tools, bool system_role) {
  // minja's polyfill text and placement (appended to the first system message, or a new one).
  const std::string prompt = "You can call any of the following tools to satisfy the user's requests: " + tools.dump(2);
  nlohmann::ordered_json out = messages;
  if (!system_role) {
    for (auto& m : out) {
      if (m.value("role", "") == "user" && m.contains("content") && m["content"].is_string()) {
        m["content"] = prompt + "\n\n" + m["content"].get<std::string>();
        break;
      }
    }
    return out;
  }
  if (!out.empty() && out[0].value("role", "") == "system" && out[0].contains("content") &&
      out[0]["content"].is_string()) {
    out[0]["content"] = out[0]["content"].get<std::string>() + "\n\n" + prompt;
  } else {
    out.insert(out.begin(), nlohmann::ordered_json{{"role", "system"}, {"content", prompt}});
  }
  return out;
}

Result<std::string> ChatFormat::render(const nlohmann::ordered_json& messages,
                                       const std::optional<nlohmann::ordered_json>& tools,
                                       const nlohmann::ordered_json& kwargs, bool add_generation_prompt) const {
  chat::ChatInputs in;
  in.messages = tools && !renders_tools_ ? with_tools_in_system(messages, *tools) : messages;
  in.tools = tools;
  in.add_generation_prompt = add_generation_prompt;
  in.extra_kwargs = kwargs;
  in.bos_token = bos_;
  in.eos_token = eos_;
  Result<std::string> text = tmpl_->render(in);
  if (!text && tools && !renders_tools_) {
    // A template without a system role (it raises on one): the tools go before the first user
    // message's text instead, as minja does for such templates.
    in.messages = with_tools_in_system(messages, *tools, /*system_role=*/false);
    text = tmpl_->render(in);
  }
  if (!text) return text;
  if (!bos_.empty() && text->compare(0, bos_.size(), bos_) == 0) text->erase(0, bos_.size());
  return text;
}

chat::ChatOutputParser ChatFormat::parser(bool tools) const {
  chat::ParserOptions options;
  options.format = tools ? chat::ToolCallFormat::kAuto : chat::ToolCallFormat::kNone;
  return chat::ChatOutputParser(options);
}

}  // namespace tessera::server

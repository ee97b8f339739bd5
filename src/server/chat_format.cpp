#include "server/chat_format.h"

#include <fmt/format.h>

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
  const tokenizer::SpecialTokens& special = tokenizer.vocab().special();
  if (special.bos != tokenizer::kNoToken) f.bos_ = tokenizer.token_to_piece(special.bos, true);
  if (special.eos != tokenizer::kNoToken) f.eos_ = tokenizer.token_to_piece(special.eos, true);
  return f;
}

Result<std::string> ChatFormat::render(const nlohmann::ordered_json& messages,
                                       const std::optional<nlohmann::ordered_json>& tools,
                                       const nlohmann::ordered_json& kwargs, bool add_generation_prompt) const {
  chat::ChatInputs in;
  in.messages = messages;
  in.tools = tools;
  in.add_generation_prompt = add_generation_prompt;
  in.extra_kwargs = kwargs;
  in.bos_token = bos_;
  in.eos_token = eos_;
  Result<std::string> text = tmpl_->render(in);
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

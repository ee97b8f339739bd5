// Chat formatting: built-in templates against the model families' published prompt formats,
// incremental rendering for multi-turn chat, and input validation.
#include <gtest/gtest.h>

#include "chat/chat_template.h"

namespace tessera::chat {
namespace {

ChatInputs conversation(bool add_generation_prompt) {
  ChatInputs in;
  in.messages = nlohmann::ordered_json::parse(
      R"([{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"},
          {"role":"assistant","content":"Hello!"},{"role":"user","content":[{"type":"text","text":"Bye"}]}])");
  in.add_generation_prompt = add_generation_prompt;
  in.bos_token = "<s>";
  in.eos_token = "</s>";
  return in;
}

std::string render_builtin(const std::string& name, bool add_generation_prompt = true) {
  Result<ChatTemplate> t = ChatTemplate::from_name(name);
  EXPECT_TRUE(t.ok()) << t.status().message();
  Result<std::string> out = t->render(conversation(add_generation_prompt));
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? *out : "";
}

TEST(ChatTemplateTest, BuiltinFormats) {
  EXPECT_EQ(render_builtin("chatml"),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!"
            "<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(
      render_builtin("llama3"),
      "<s><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>"
      "\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>user"
      "<|end_header_id|>\n\nBye<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(render_builtin("gemma"),
            "<s><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
            "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n");
  EXPECT_EQ(render_builtin("llama2"),
            "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Bye [/INST]");
  EXPECT_EQ(render_builtin("mistral"), "<s>[INST] Be brief.\n\nHi [/INST] Hello!</s>[INST] Bye [/INST]");
  EXPECT_EQ(render_builtin("phi3", false),
            "<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n<|user|>\nBye<|end|>\n");
  for (const std::string& name : builtin_template_names()) EXPECT_FALSE(render_builtin(name).empty()) << name;
}

TEST(ChatTemplateTest, Llama2RejectsNonAlternatingRoles) {
  Result<ChatTemplate> t = ChatTemplate::from_name("llama2");
  ASSERT_TRUE(t.ok());
  ChatInputs in;
  in.messages = nlohmann::ordered_json::parse(R"([{"role":"user","content":"a"},{"role":"user","content":"b"}])");
  Result<std::string> out = t->render(in);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().find("Conversation roles must alternate"), std::string::npos);
}

TEST(ChatTemplateTest, FromFlagAcceptsNamesAndJinja) {
  EXPECT_TRUE(ChatTemplate::from_flag("chatml").ok());
  Result<ChatTemplate> inline_jinja = ChatTemplate::from_flag("{{ messages[0].content }}!");
  ASSERT_TRUE(inline_jinja.ok());
  EXPECT_EQ(*inline_jinja->render(conversation(false)), "Be brief.!");
  Result<ChatTemplate> unknown = ChatTemplate::from_flag("nosuchformat");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().find("unknown chat template 'nosuchformat'"), std::string::npos);
}

TEST(ChatTemplateTest, KwargsToolsAndValidation) {
  Result<ChatTemplate> t = ChatTemplate::from_source(
      "{{ enable_thinking }}|{{ tools | length if tools is not none else 'no tools' }}|{{ documents }}");
  ASSERT_TRUE(t.ok());
  ChatInputs in = conversation(false);
  in.extra_kwargs = {{"enable_thinking", false}};
  EXPECT_EQ(*t->render(in), "False|no tools|None");
  in.tools = nlohmann::ordered_json::parse(R"([{"type":"function","function":{"name":"f"}}])");
  EXPECT_EQ(*t->render(in), "False|1|None");
  in.extra_kwargs = {{"messages", 1}};
  EXPECT_FALSE(t->render(in).ok());
  in.extra_kwargs = nlohmann::ordered_json::object();
  in.messages = nlohmann::ordered_json::object();
  EXPECT_FALSE(t->render(in).ok());
}

TEST(ChatTemplateTest, DeltaIsTheNewSuffix) {
  Result<ChatTemplate> t = ChatTemplate::from_name("chatml");
  ASSERT_TRUE(t.ok());
  ChatInputs past = conversation(false);
  past.messages.push_back({{"role", "assistant"}, {"content", "Later."}});
  Result<ChatDelta> d =
      render_delta(*t, past, nlohmann::ordered_json::parse(R"([{"role":"user","content":"Again"}])"), true);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->reuse_prefix);
  EXPECT_EQ(d->text, "<|im_start|>user\nAgain<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplateTest, DeltaDetectsRewrittenHistory) {
  // A template that only shows the last message rewrites earlier text: no prefix reuse.
  Result<ChatTemplate> t = ChatTemplate::from_source("{{ messages[-1].content }}");
  ASSERT_TRUE(t.ok());
  Result<ChatDelta> d = render_delta(*t, conversation(false),
                                     nlohmann::ordered_json::parse(R"([{"role":"user","content":"New"}])"), false);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->reuse_prefix);
  EXPECT_EQ(d->text, "New");
}

}  // namespace
}  // namespace tessera::chat

#include "run_chat.h"

#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "chat/chat_template.h"
#include "run_signal.h"

namespace tessera::tools {
namespace {

// One user message from stdin: lines ending with '\' continue it. nullopt at EOF (or Ctrl-C).
std::optional<std::string> read_user_message() {
  std::string message;
  std::string line;
  while (true) {
    if (!std::getline(std::cin, line)) {
      if (message.empty()) return std::nullopt;
      return message;
    }
    if (!line.empty() && line.back() == '\\') {
      line.pop_back();
      message += line + "\n";
      RunSession::print("  ");  // continuation prompt
      continue;
    }
    message += line;
    return message;
  }
}

std::optional<std::string> special_text(const tokenizer::Vocab& vocab, tokenizer::TokenId id) {
  if (id == tokenizer::kNoToken) return std::nullopt;
  return vocab.token(id).text;
}

class Chat {
 public:
  Chat(RunSession& session, const RunOptions& options, RunLog& log, chat::ChatTemplate tmpl)
      : session_(session), options_(options), log_(log), template_(std::move(tmpl)) {
    const tokenizer::Vocab& vocab = session.tokenizer().vocab();
    inputs_.bos_token = special_text(vocab, vocab.special().bos);
    inputs_.eos_token = special_text(vocab, vocab.special().eos);
    start_conversation();
  }

  void start_conversation() {
    inputs_.messages = nlohmann::ordered_json::array();
    if (!options_.system_prompt.empty()) {
      inputs_.messages.push_back({{"role", "system"}, {"content", options_.system_prompt}});
    }
  }

  // One turn: the whole conversation is rendered and tokenized; the KV cache keeps the prefix it
  // already holds and only the new suffix is decoded.
  Result<RunSession::Output> turn(const std::string& user_message) {
    inputs_.messages.push_back({{"role", "user"}, {"content", user_message}});
    inputs_.add_generation_prompt = true;
    Result<std::string> prompt = template_.render(inputs_);
    if (!prompt) return Status::error(fmt::format("chat template: {}", prompt.error()));
    // The template usually writes the BOS itself; the tokenizer adds it only when it does not.
    const bool template_has_bos = inputs_.bos_token && prompt->rfind(*inputs_.bos_token, 0) == 0;
    const std::vector<int32_t> tokens = session_.tokenize(*prompt, !template_has_bos);
    const int32_t reused = session_.n_past();
    if (Status s = session_.feed_reusing_cache(tokens); !s) return s;
    log_.debug("chat: {} prompt tokens, {} already in the cache", tokens.size(),
               std::min<size_t>(static_cast<size_t>(reused), tokens.size()));
    Result<RunSession::Output> out =
        session_.generate(options_.n_predict, [] { return InterruptGuard::interrupted(); });
    if (out) inputs_.messages.push_back({{"role", "assistant"}, {"content", out->text}});
    return out;
  }

 private:
  RunSession& session_;
  const RunOptions& options_;
  RunLog& log_;
  chat::ChatTemplate template_;
  chat::ChatInputs inputs_;
};

}  // namespace

bool use_chat_mode(const RunSession&, const RunOptions& options) {
  return options.conversation == RunOptions::Conversation::kOn;
}

int run_chat(RunSession& session, const RunOptions& options, RunLog& log) {
  Result<chat::ChatTemplate> tmpl = options.chat_template.empty()
                                        ? chat::ChatTemplate::from_model(session.model().file())
                                        : chat::ChatTemplate::from_flag(options.chat_template);
  if (!tmpl) {
    log.info("error: {}", tmpl.error());
    return 1;
  }
  Chat chat(session, options, log, std::move(*tmpl));
  InterruptGuard interrupt;
  log.info(
      "chat mode: type a message and press Enter; end a line with '\\' to continue it; /clear starts over, "
      "/exit (or Ctrl-D) quits");
  std::optional<std::string> message;
  if (!options.prompt.empty()) message = options.prompt;
  while (true) {
    if (!message) {
      RunSession::print("\n> ");
      message = read_user_message();
      if (!message || InterruptGuard::interrupted()) break;
    }
    if (*message == "/exit") break;
    if (*message == "/clear") {
      chat.start_conversation();
      session.clear();
      log.info("(conversation cleared)");
      message.reset();
      continue;
    }
    Result<RunSession::Output> out = chat.turn(*message);
    RunSession::print("\n");
    message.reset();
    if (!out) {
      log.info("error: {}", out.error());
      return 1;
    }
    if (out->reason == StopReason::kInterrupted) {
      log.info("interrupted (Ctrl-C)");
      break;
    }
    if (out->reason == StopReason::kContextFull) {
      log.info("the context is full ({} tokens): /clear to start over", session.n_ctx());
    }
    if (options.single_turn) break;
  }
  session.print_timings(log);
  return 0;
}

}  // namespace tessera::tools

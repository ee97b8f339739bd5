// `tessera run -m MODEL -p PROMPT -n N [options]`: text generation from the command line, with
// llama-cli's flags. The prompt is echoed, then the generation streams to stdout; diagnostics
// and timings go to stderr (and --log-file). Ctrl-C stops the generation and still prints the
// timings. With -cnv (or a chat template and no prompt) it runs the chat loop of run_chat.cpp.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "commands.h"
#include "run_chat.h"
#include "run_options.h"
#include "run_session.h"
#include "run_signal.h"

namespace tessera::tools {
namespace {

// llama-cli keeps a few cells of the context free; a longer prompt is refused, never truncated.
constexpr int64_t kContextReserve = 4;

void print_prompt_tokens(const RunSession& session, const std::vector<int32_t>& tokens, RunLog& log) {
  log.info("prompt: {} tokens", tokens.size());
  for (int32_t id : tokens) {
    log.info("{:>6} -> '{}'", id, session.tokenizer().token_to_piece(id, true));
  }
}

int run_completion(RunSession& session, const RunOptions& o, RunLog& log) {
  const std::vector<int32_t> prompt = session.tokenize(o.prompt, true);
  if (o.verbose_prompt) print_prompt_tokens(session, prompt, log);
  if (static_cast<int64_t>(prompt.size()) > session.n_ctx() - kContextReserve) {
    log.info("error: the prompt is too long ({} tokens, at most {} fit in a context of {}; raise -c)", prompt.size(),
             session.n_ctx() - kContextReserve, session.n_ctx());
    return 1;
  }
  InterruptGuard interrupt;
  if (Status s = session.feed(prompt, o.display_prompt); !s) {
    log.info("\nerror: {}", s.message());
    return 1;
  }
  Result<RunSession::Output> out = session.generate(o.n_predict, [] { return InterruptGuard::interrupted(); });
  RunSession::print("\n");
  if (!out) {
    log.info("error: {}", out.error());
    return 1;
  }
  log.debug("stopped: {}", stop_reason_name(out->reason));
  if (out->reason == StopReason::kInterrupted) log.info("interrupted (Ctrl-C)");
  if (out->reason == StopReason::kContextFull) log.info("stopped: the context is full ({} tokens)", session.n_ctx());
  session.print_timings(log);
  return 0;
}

}  // namespace

int run_run(const Args& args) {
  const auto start = std::chrono::steady_clock::now();
  RunOptions o;
  cli::FlagSet flags("tessera run", "[-m MODEL] (-p PROMPT | -f FILE | -cnv) [-n N] [options]");
  add_run_flags(flags, o);
  cli::ParsedArgs parsed;
  if (std::optional<int> exit_code = flags.parse_or_report(args, parsed, /*positional_allowed=*/true)) {
    return *exit_code;
  }
  sampling::UserSet user_set;
  if (Status s = finish_run_options(parsed, o, user_set); !s) {
    fmt::print(stderr, "{}\n", s.message());
    return 2;
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> log_file(nullptr, &std::fclose);
  if (!o.log_file.empty()) {
    log_file.reset(std::fopen(o.log_file.c_str(), "w"));
    if (!log_file) {
      fmt::print(stderr, "tessera run: cannot write the log file '{}'\n", o.log_file);
      return 2;
    }
  }
  RunLog log(o.verbose, log_file.get());
  Result<std::unique_ptr<RunSession>> session = RunSession::create(o, user_set, log, start);
  if (!session) {
    log.info("error: {}", session.error());
    return 1;
  }
  if (use_chat_mode(**session, o)) return run_chat(**session, o, log);
  return run_completion(**session, o, log);
}

}  // namespace tessera::tools

// What `tessera run` drives: a loaded model with its tokenizer, forward pass (KV cache) and
// sampler chain, fed tokens and asked to generate. Completion mode (run.cpp) and chat mode
// (run_chat.cpp) share it.
//
// Output goes to stdout (text only); diagnostics and timings go to the RunLog (stderr and the
// optional --log-file). Not thread-safe; one session per process.
#pragma once

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "model/forward.h"
#include "run_options.h"
#include "sampling/chain.h"
#include "tokenizer/stream_decoder.h"
#include "tokenizer/tokenizer.h"

namespace tessera::tools {

// Diagnostics: stderr, plus the --log-file when given.
class RunLog {
 public:
  RunLog(bool verbose, std::FILE* file) : verbose_(verbose), file_(file) {}
  template <class... Args>
  void info(fmt::format_string<Args...> format, Args&&... args) {
    write(fmt::format(format, std::forward<Args>(args)...));
  }
  template <class... Args>
  void debug(fmt::format_string<Args...> format, Args&&... args) {
    if (verbose_) write(fmt::format(format, std::forward<Args>(args)...));
  }
  bool verbose() const { return verbose_; }

 private:
  void write(const std::string& line);
  bool verbose_;
  std::FILE* file_;
};

enum class StopReason { kEndOfGeneration, kLength, kStopString, kInterrupted, kContextFull, kGrammarComplete };
std::string_view stop_reason_name(StopReason reason);

struct Timings {
  double load_s = 0;
  int64_t prompt_tokens = 0;
  double prompt_s = 0;
  int64_t generated_tokens = 0;
  double generation_s = 0;
  int64_t sampled_tokens = 0;  // draws, end-of-generation ones included
  double sampling_s = 0;       // in the sampler chain (sample + accept), part of generation_s
};

class RunSession {
 public:
  // Loads the model, tokenizer, forward pass and sampler chain; warms up unless --no-warmup.
  static Result<std::unique_ptr<RunSession>> create(const RunOptions& options, const sampling::UserSet& user_set,
                                                    RunLog& log, std::chrono::steady_clock::time_point start);

  const tokenizer::Tokenizer& tokenizer() const { return *tokenizer_; }
  const model::Model& model() const { return *model_; }
  int64_t n_ctx() const { return forward_->kv_cache().n_ctx(); }
  int32_t n_past() const { return static_cast<int32_t>(cached_.size()); }
  Timings& timings() { return timings_; }

  // The prompt's tokens (BOS as the vocabulary says; special tokens in the text parsed, as llama-cli).
  std::vector<int32_t> tokenize(std::string_view text, bool add_special) const;

  // Decodes `tokens` after what is in the cache, in -b sized chunks; the last token's logits are
  // kept for the next generate(). The sampler's penalties see them. Fails when they do not fit
  // in the context (nothing decoded then) or when interrupted between chunks.
  // With `echo`, their text is printed first (the prompt, as llama-cli echoes it).
  Status feed(std::span<const int32_t> tokens, bool echo = false);
  // Makes the cache hold exactly `tokens`: keeps the longest prefix already cached, drops the
  // rest and feeds the new suffix (chat turns re-render the whole conversation).
  Status feed_reusing_cache(const std::vector<int32_t>& tokens);

  // Samples and prints up to n_predict tokens (-1: until the end), stopping at end of generation,
  // a stop string, Ctrl-C (should_stop), the grammar's end or a full context. Returns the text.
  struct Output {
    std::string text;
    StopReason reason = StopReason::kLength;
  };
  Result<Output> generate(int32_t n_predict, const std::function<bool()>& should_stop);

  // Prints text through the output stream (stdout, flushed).
  static void print(std::string_view text);

  // Forgets the cache and sampler state (chat /clear).
  void clear();

  void print_timings(RunLog& log) const;

 private:
  RunSession(const RunOptions& options, RunLog& log) : options_(options), log_(log) {}
  Status warmup();

  const RunOptions& options_;
  RunLog& log_;
  std::shared_ptr<const model::Model> model_;
  std::optional<tokenizer::Tokenizer> tokenizer_;
  std::unique_ptr<model::ForwardPass> forward_;
  std::optional<sampling::Chain> chain_;
  std::optional<tokenizer::StreamDecoder> decoder_;  // the text of the fed and generated tokens
  std::vector<float> logits_;                        // [n_vocab] of the last fed or generated token
  std::vector<int32_t> cached_;                      // the tokens in the KV cache, positions 0..n-1
  int64_t n_batch_ = 2048;
  Timings timings_;
};

}  // namespace tessera::tools

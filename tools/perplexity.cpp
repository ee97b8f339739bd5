// `tessera perplexity -m MODEL -f TEXT [-c 512] [-b N] [--chunks N]`: perplexity of a text,
// computed the way llama.cpp's llama-perplexity computes it so the numbers are comparable:
//
//   * the whole text is tokenized once, with BOS when the vocabulary adds it (one trailing
//     newline of the file is dropped first, as llama.cpp's -f does);
//   * it is cut into non-overlapping chunks of n_ctx tokens (a partial last chunk is dropped),
//     each evaluated from an empty KV cache, its first token replaced by BOS when the vocabulary
//     adds BOS;
//   * in each chunk only the second half is scored: the logits at positions [n_ctx/2, n_ctx - 1)
//     predict the tokens at [n_ctx/2 + 1, n_ctx), so every scored token has at least n_ctx/2
//     tokens of context;
//   * after each chunk the running PPL = exp(mean NLL) is printed as "[i]PPL,", and at the end
//     "Final estimate: PPL = P +/- U" with U = P * sqrt((E[nll^2] - E[nll]^2) / (count - 1)).
//
// The estimate goes to stdout; progress and timings go to stderr.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "cli_flags.h"
#include "commands.h"
#include "common_flags.h"
#include "model/forward.h"
#include "runtime/thread_pool.h"
#include "tokenizer/tokenizer.h"

namespace tessera::tools {
namespace {

struct PerplexityOptions {
  ModelOptions model;
  std::string text_file;  // -f
  int n_chunks = -1;      // --chunks; -1: every whole chunk of the text
};

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Sums of the negative log-likelihoods of the scored tokens and of their squares.
struct NllSums {
  double nll = 0.0;
  double nll2 = 0.0;
  int64_t count = 0;

  double ppl() const { return std::exp(nll / static_cast<double>(count)); }
  // The standard error of the mean NLL carried through exp(): ppl * sqrt(var / (count - 1)).
  // Negative when the variance is not positive (a single scored token, or all equal).
  double uncertainty() const {
    const double mean = nll / static_cast<double>(count);
    const double var = nll2 / static_cast<double>(count) - mean * mean;
    if (var <= 0.0 || count < 2) return -1.0;
    return std::sqrt(var / static_cast<double>(count - 1)) * ppl();
  }
};

// -log softmax(logits)[token] over one row of [n_vocab] logits: float exponentials summed in
// double, as llama.cpp does.
double token_nll(const float* logits, int64_t n_vocab, int32_t token) {
  const float max_logit = *std::max_element(logits, logits + n_vocab);
  double sum_exp = 0.0;
  for (int64_t i = 0; i < n_vocab; ++i) sum_exp += std::exp(logits[i] - max_logit);
  return -(static_cast<double>(logits[token] - max_logit) - std::log(sum_exp));
}

// Adds the NLL of targets[r] under logits row r, for r in [0, n_rows), split across the pool.
// Each thread sums a contiguous range; the partial sums are added in thread order, so the total
// does not depend on scheduling. logits: [n_rows, n_vocab]; targets: [n_rows].
void score_rows(runtime::ThreadPool& pool, const float* logits, int64_t n_rows, int64_t n_vocab, const int32_t* targets,
                NllSums& sums) {
  std::vector<NllSums> partial(static_cast<size_t>(pool.size()));
  pool.run([&](int ith, int nth) {
    int64_t begin = 0;
    int64_t end = 0;
    runtime::ThreadPool::split_range(n_rows, ith, nth, begin, end);
    NllSums& p = partial[static_cast<size_t>(ith)];
    for (int64_t r = begin; r < end; ++r) {
      const double v = token_nll(logits + r * n_vocab, n_vocab, targets[r]);
      p.nll += v;
      p.nll2 += v * v;
      ++p.count;
    }
  });
  for (const NllSums& p : partial) {
    sums.nll += p.nll;
    sums.nll2 += p.nll2;
    sums.count += p.count;
  }
}

// Evaluates the chunk tokens[start, start + n_ctx) from an empty cache in decode calls of at most
// n_batch tokens and adds the NLL of its scored second half to `sums`.
Status evaluate_chunk(model::ForwardPass& forward, runtime::ThreadPool& pool, const std::vector<int32_t>& tokens,
                      int64_t start, int64_t n_ctx, int64_t n_batch, int32_t bos, NllSums& sums,
                      std::vector<float>& logits) {
  const int64_t n_vocab = forward.model().hparams().n_vocab;
  const int64_t first = n_ctx / 2;
  forward.kv_cache().clear();
  runtime::Batch batch;
  for (int64_t batch_start = 0; batch_start < n_ctx; batch_start += n_batch) {
    const int64_t batch_end = std::min(n_ctx, batch_start + n_batch);
    batch.clear();
    std::vector<int32_t> targets;  // the token each output row predicts
    for (int64_t pos = batch_start; pos < batch_end; ++pos) {
      const int32_t token = pos == 0 && bos >= 0 ? bos : tokens[static_cast<size_t>(start + pos)];
      const bool scored = pos >= first && pos + 1 < n_ctx;
      batch.add(token, static_cast<int32_t>(pos), 0, scored);
      if (scored) targets.push_back(tokens[static_cast<size_t>(start + pos + 1)]);
    }
    if (Status s = forward.decode(batch, logits); !s) {
      return Status::error(fmt::format("chunk at token {}: {}", start, s.message()));
    }
    score_rows(pool, logits.data(), static_cast<int64_t>(targets.size()), n_vocab, targets.data(), sums);
  }
  return Status();
}

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error(fmt::format("cannot open text file '{}'", path));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::error(fmt::format("cannot read text file '{}'", path));
  if (!text.empty() && text.back() == '\n') text.pop_back();  // as llama.cpp's -f does
  return text;
}

// Parses the flags; returns an exit status >= 0 when the command should stop (help or error).
int parse_options(const Args& args, PerplexityOptions& o) {
  o.model.n_ctx = 512;  // llama-perplexity's default
  cli::FlagSet flags("tessera perplexity", "[-m MODEL] -f TEXT [-c 512] [-b N] [--chunks N]");
  flags.add_string({"-f", "--file"}, "FILE", "text whose perplexity to compute", "Perplexity", o.text_file);
  flags.add_value({"--chunks"}, "N", "evaluate at most N chunks (-1 = all)", "Perplexity", o.n_chunks,
                  cli::at_least(-1));
  add_model_flags(flags, o.model);
  flags.set_default_text("-c", "512; the chunk size, at least 4");
  cli::ParsedArgs parsed;
  if (std::optional<int> exit_code = flags.parse_or_report(args, parsed)) return *exit_code;
  if (o.text_file.empty()) {
    fmt::print(stderr, "tessera perplexity: a text file is needed (-f FILE); see --help\n");
    return 2;
  }
  if (o.model.n_ctx < 4) {
    fmt::print(stderr, "tessera perplexity: -c {} is too small: the chunk size must be at least 4 tokens\n",
               o.model.n_ctx);
    return 2;
  }
  return -1;
}

void print_eta(double seconds_per_chunk, int64_t n_chunk) {
  fmt::print(stderr, "perplexity: {:.2f} seconds per pass - ETA {:.2f} minutes\n", seconds_per_chunk,
             seconds_per_chunk * static_cast<double>(n_chunk) / 60.0);
}

}  // namespace

int run_perplexity(const Args& args) {
  PerplexityOptions o;
  if (int exit_code = parse_options(args, o); exit_code >= 0) return exit_code;

  Result<std::string> text = read_text(o.text_file);
  if (!text) {
    fmt::print(stderr, "error: {}\n", text.error());
    return 1;
  }
  Result<model::ForwardParams> fp = forward_params(o.model);
  if (!fp) {
    fmt::print(stderr, "error: {}\n", fp.error());
    return 1;
  }
  const auto load_start = Clock::now();
  Result<std::shared_ptr<const model::Model>> loaded = model::Model::load(model_path(o.model));
  if (!loaded) {
    fmt::print(stderr, "error: {}\n", loaded.error());
    return 1;
  }
  Result<tokenizer::Tokenizer> tok = tokenizer::Tokenizer::load((*loaded)->file());
  if (!tok) {
    fmt::print(stderr, "error: {}\n", tok.error());
    return 1;
  }
  if (tok->vocab().flags().add_eos) {
    fmt::print(stderr, "error: the vocabulary adds EOS after every text; perplexity chunks cannot be cut from it\n");
    return 1;
  }
  Result<std::unique_ptr<model::ForwardPass>> forward = model::ForwardPass::create(*loaded, *fp);
  if (!forward) {
    fmt::print(stderr, "error: {}\n", forward.error());
    return 1;
  }
  const double load_seconds = seconds_since(load_start);

  fmt::print(stderr, "perplexity: tokenizing the input ..\n");
  const auto tokenize_start = Clock::now();
  const std::vector<int32_t> tokens = tok->tokenize(*text, {.add_special = true, .parse_special = false});
  fmt::print(stderr, "perplexity: tokenization took {:.1f} ms\n", seconds_since(tokenize_start) * 1e3);
  const int64_t n_ctx = o.model.n_ctx;
  const auto n_tokens = static_cast<int64_t>(tokens.size());
  if (n_tokens < 2 * n_ctx) {
    fmt::print(stderr,
               "error: {}: the text tokenizes to only {} tokens; perplexity with a context of {} needs at least {} "
               "(two chunks)\n",
               o.text_file, n_tokens, n_ctx, 2 * n_ctx);
    return 1;
  }
  const int64_t n_chunk_max = n_tokens / n_ctx;
  const int64_t n_chunk = o.n_chunks < 0 ? n_chunk_max : std::min<int64_t>(o.n_chunks, n_chunk_max);
  const int64_t n_batch = std::min(o.model.n_batch, n_ctx);
  const int32_t bos = tok->vocab().flags().add_bos ? tok->vocab().special().bos : -1;
  fmt::print(stderr,
             "perplexity: {} tokens; calculating perplexity over {} chunks, n_ctx={}, batch_size={}, {} threads\n",
             n_tokens, n_chunk, n_ctx, n_batch, fp->n_threads);

  runtime::ThreadPool pool(fp->n_threads);
  NllSums sums;
  std::vector<float> logits;
  const auto eval_start = Clock::now();
  for (int64_t i = 0; i < n_chunk; ++i) {
    const auto chunk_start = Clock::now();
    if (Status s = evaluate_chunk(**forward, pool, tokens, i * n_ctx, n_ctx, n_batch, bos, sums, logits); !s) {
      fmt::print(stderr, "\nerror: {}\n", s.message());
      return 1;
    }
    if (i == 0) print_eta(seconds_since(chunk_start), n_chunk);
    fmt::print("[{}]{:.4f},", i + 1, sums.ppl());
    std::fflush(stdout);
  }
  const double eval_seconds = seconds_since(eval_start);
  fmt::print("\n");
  const double uncertainty = sums.uncertainty();
  if (uncertainty >= 0.0) {
    fmt::print("Final estimate: PPL = {:.4f} +/- {:.5f}\n", sums.ppl(), uncertainty);
  } else {
    fmt::print("Final estimate: PPL = {:.4f} (no uncertainty: the scored tokens' log-probabilities do not vary)\n",
               sums.ppl());
  }
  std::fflush(stdout);
  const int64_t n_evaluated = n_chunk * n_ctx;
  fmt::print(stderr, "load: {:.2f} s\n", load_seconds);
  fmt::print(stderr, "perplexity: {} tokens ({} chunks of {}) in {:.2f} s ({:.1f} tokens/s), {} scored, {} threads\n",
             n_evaluated, n_chunk, n_ctx, eval_seconds, static_cast<double>(n_evaluated) / std::max(eval_seconds, 1e-9),
             sums.count, fp->n_threads);
  return 0;
}

}  // namespace tessera::tools

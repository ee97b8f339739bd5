// `tessera run -m MODEL -p PROMPT -n N`: text generation from the command line.
// This first version has the core flags; the Sampling issue adds the rest of llama.cpp's set.
#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "commands.h"
#include "model/forward.h"
#include "sampling/sampler.h"
#include "tokenizer/stream_decoder.h"
#include "tokenizer/tokenizer.h"

namespace tessera::tools {
namespace {

struct RunOptions {
  std::string model;
  std::string prompt;
  int n_predict = 128;  // -1: until end of generation or a full context
  int n_threads = 0;    // 0: all cores
  int64_t n_ctx = 4096;
  bool display_prompt = true;
  sampling::SamplerParams sampler;
  bool seed_given = false;
};

constexpr std::string_view kUsage =
    "usage: tessera run [-m MODEL] -p PROMPT [-n N] [options]\n"
    "  -m, --model FILE       GGUF model (default: the model ./setup.sh installs)\n"
    "  -p, --prompt TEXT      prompt\n"
    "  -n, --n-predict N      tokens to generate (default 128; -1 = until end of text or full context)\n"
    "  -c, --ctx-size N       context size in tokens (default 4096; 0 = the model's)\n"
    "  -t, --threads N        threads (default: all cores)\n"
    "  -s, --seed N           RNG seed (default: random)\n"
    "  --temp T               temperature (default 0.8; <= 0 = greedy)\n"
    "  --top-k N              (default 40; 0 = off)\n"
    "  --top-p P              (default 0.95; 1 = off)\n"
    "  --min-p P              (default 0.05; 0 = off)\n"
    "  --no-display-prompt    print only the generated text\n";

template <class T>
bool parse_number(const std::string& text, T& out) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

// Returns nullopt after printing the problem (exit code in `exit_code`).
std::optional<RunOptions> parse_args(const Args& args, int& exit_code) {
  RunOptions o;
  exit_code = 2;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      fmt::print("{}", kUsage);
      exit_code = 0;
      return std::nullopt;
    }
    if (a == "--no-display-prompt") {
      o.display_prompt = false;
      continue;
    }
    if (i + 1 >= args.size()) {
      fmt::print(stderr, "tessera run: {} needs a value\n{}", a, kUsage);
      return std::nullopt;
    }
    const std::string& v = args[++i];
    bool ok = true;
    if (a == "-m" || a == "--model") {
      o.model = v;
    } else if (a == "-p" || a == "--prompt") {
      o.prompt = v;
    } else if (a == "-n" || a == "--n-predict") {
      ok = parse_number(v, o.n_predict) && o.n_predict >= -1;
    } else if (a == "-c" || a == "--ctx-size") {
      ok = parse_number(v, o.n_ctx) && o.n_ctx >= 0;
    } else if (a == "-t" || a == "--threads") {
      ok = parse_number(v, o.n_threads) && o.n_threads > 0;
    } else if (a == "-s" || a == "--seed") {
      ok = parse_number(v, o.sampler.seed);
      o.seed_given = true;
    } else if (a == "--temp") {
      ok = parse_number(v, o.sampler.temperature);
    } else if (a == "--top-k") {
      ok = parse_number(v, o.sampler.top_k);
    } else if (a == "--top-p") {
      ok = parse_number(v, o.sampler.top_p);
    } else if (a == "--min-p") {
      ok = parse_number(v, o.sampler.min_p);
    } else {
      fmt::print(stderr, "tessera run: unknown option '{}'\n{}", a, kUsage);
      return std::nullopt;
    }
    if (!ok) {
      fmt::print(stderr, "tessera run: bad value '{}' for {}\n", v, a);
      return std::nullopt;
    }
  }
  if (o.prompt.empty()) {
    fmt::print(stderr, "tessera run: a prompt is needed (-p)\n{}", kUsage);
    return std::nullopt;
  }
  if (o.model.empty()) o.model = default_model_path();
  if (!o.seed_given) o.sampler.seed = std::random_device{}();
  if (o.n_threads == 0) o.n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return o;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int run_run(const Args& args) {
  int exit_code = 0;
  std::optional<RunOptions> o = parse_args(args, exit_code);
  if (!o) return exit_code;

  Result<std::shared_ptr<const model::Model>> loaded = model::Model::load(o->model);
  if (!loaded) {
    fmt::print(stderr, "error: {}\n", loaded.error());
    return 1;
  }
  const std::shared_ptr<const model::Model>& m = *loaded;
  Result<tokenizer::Tokenizer> tok = tokenizer::Tokenizer::load(m->file());
  if (!tok) {
    fmt::print(stderr, "error: {}\n", tok.error());
    return 1;
  }
  model::ForwardParams fp;
  fp.n_ctx = o->n_ctx;
  fp.n_threads = o->n_threads;
  Result<std::unique_ptr<model::ForwardPass>> forward = model::ForwardPass::create(m, fp);
  if (!forward) {
    fmt::print(stderr, "error: {}\n", forward.error());
    return 1;
  }

  const std::vector<tokenizer::TokenId> prompt = tok->tokenize(o->prompt);
  if (o->display_prompt) {
    fmt::print("{}", o->prompt);
    std::fflush(stdout);
  }
  runtime::Batch batch;
  for (size_t i = 0; i < prompt.size(); ++i) {
    batch.add(prompt[i], static_cast<int32_t>(i), 0, i + 1 == prompt.size());
  }
  std::vector<float> logits;
  const auto prompt_start = std::chrono::steady_clock::now();
  if (Status s = (*forward)->decode(batch, logits); !s) {
    fmt::print(stderr, "\nerror: {}\n", s.message());
    return 1;
  }
  const double prompt_seconds = seconds_since(prompt_start);

  sampling::Sampler sampler(o->sampler);
  tokenizer::StreamDecoder decoder(*tok);
  const auto gen_start = std::chrono::steady_clock::now();
  int n_generated = 0;
  for (auto pos = static_cast<int32_t>(prompt.size()); o->n_predict < 0 || n_generated < o->n_predict; ++pos) {
    const int32_t next = sampler.sample(logits);
    if (tok->vocab().is_end_of_generation(next)) break;
    ++n_generated;
    fmt::print("{}", decoder.push(next));
    std::fflush(stdout);
    batch.clear();
    batch.add(next, pos, 0, true);
    if (Status s = (*forward)->decode(batch, logits); !s) {
      fmt::print(stderr, "\n{}\n", s.message());  // e.g. the context is full: stop, keep the text
      break;
    }
  }
  fmt::print("{}\n", decoder.finish());
  std::fflush(stdout);  // the text ends before the timings on a shared terminal
  const double gen_seconds = seconds_since(gen_start);
  fmt::print(stderr, "prompt: {} tokens in {:.2f} s ({:.1f} tokens/s)\n", prompt.size(), prompt_seconds,
             prompt.size() / std::max(prompt_seconds, 1e-9));
  fmt::print(stderr, "generation: {} tokens in {:.2f} s ({:.1f} tokens/s), {} threads\n", n_generated, gen_seconds,
             n_generated / std::max(gen_seconds, 1e-9), o->n_threads);
  return 0;
}

}  // namespace tessera::tools

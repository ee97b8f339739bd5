// `tessera bench -m MODEL [-p 512] [-n 128] [-t N] [-r 5] [-o md|json]`: prompt processing (ppN)
// and generation (tgN) speed measured the way llama-bench measures it, with its test names and
// table columns, so the figures line up with llama.cpp's:
//
//   * ppN: N random tokens (the first one BOS when the vocabulary adds it) decoded from an empty
//     cache in decode calls of -b tokens, logits kept for the last token of each call;
//   * tgN: N tokens decoded one at a time from an empty cache (BOS first, then random tokens);
//   * a warm-up run first (the whole ppN, or one tgN token), then -r timed repetitions, each from
//     an empty cache; t/s is the mean and sample standard deviation of the per-repetition rates.
//
// For generation it also reports the achieved memory bandwidth: (bytes of weights read per token
// + KV cache bytes read per token, averaged over the test's positions) × tokens/s.
// -p, -n and -t take comma-separated lists, like llama-bench; every combination is run.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "cli_flags.h"
#include "commands.h"
#include "common_flags.h"
#include "model/forward.h"
#include "model/quant_presets.h"
#include "quant/dispatch.h"
#include "tokenizer/vocab.h"

namespace tessera::tools {
namespace {

struct BenchOptions {
  ModelOptions model;  // -m -b -ub -ctk -ctv (-t and -c are not used: threads are a list, n_ctx is per test)
  std::vector<int> n_prompt = {512};
  std::vector<int> n_gen = {128};
  std::vector<int> threads;  // empty: all cores
  int reps = 5;
  std::string output = "md";
  bool warmup = true;
};

// What a report row says about the model (llama-bench's model, size and params columns).
struct ModelFacts {
  std::string filename;
  std::string type;           // e.g. "gemma3 268M Q4_K_M"
  uint64_t size = 0;          // bytes of all tensors
  uint64_t n_params = 0;      // elements of all tensors
  uint64_t weight_bytes = 0;  // bytes of weights one token's forward pass reads
  int32_t bos = -1;           // first token of every test; -1: random
  int64_t n_vocab = 0;
};

struct TestResult {
  int n_prompt = 0;
  int n_gen = 0;
  int n_threads = 0;
  std::vector<uint64_t> samples_ns;
  double kv_bytes_per_token = 0.0;  // generation only: mean over the test's positions
  std::string test_time;

  std::string name() const { return n_prompt > 0 ? fmt::format("pp{}", n_prompt) : fmt::format("tg{}", n_gen); }
  std::vector<double> samples_ts() const {
    std::vector<double> ts;
    for (uint64_t ns : samples_ns) ts.push_back(1e9 * (n_prompt + n_gen) / static_cast<double>(ns));
    return ts;
  }
};

template <class T>
double mean(const std::vector<T>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

// Sample standard deviation (n - 1), 0 for fewer than two values: llama-bench's stdev.
template <class T>
double stddev(const std::vector<T>& v) {
  if (v.size() < 2) return 0.0;
  const double m = mean(v);
  double sq = 0.0;
  for (T x : v) sq += (static_cast<double>(x) - m) * (static_cast<double>(x) - m);
  return std::sqrt(sq / static_cast<double>(v.size() - 1));
}

// A comma-separated list of integers >= `low` (llama-bench's "-p 128,512").
cli::Flag list_flag(std::vector<std::string> names, std::string help, std::vector<int>& target, int low) {
  return cli::Flag{std::move(names),
                   "N[,N...]",
                   std::move(help),
                   "Tests",
                   fmt::format("{}", fmt::join(target, ",")),
                   [&target, low](const std::string& text) {
                     std::vector<int> values;
                     size_t begin = 0;
                     while (begin <= text.size()) {
                       const size_t end = std::min(text.find(',', begin), text.size());
                       int v = 0;
                       if (!cli::parse_number(std::string_view(text).substr(begin, end - begin), v) || v < low) {
                         return Status::error(fmt::format("'{}' is not a list of integers >= {}", text, low));
                       }
                       values.push_back(v);
                       begin = end + 1;
                     }
                     target = std::move(values);
                     return Status();
                   }};
}

// Parses the flags; returns an exit status >= 0 when the command should stop (help or error).
int parse_options(const Args& args, BenchOptions& o) {
  cli::FlagSet flags("tessera bench", "[-m MODEL] [-p 512] [-n 128] [-t N] [-r 5] [-o md|json]");
  flags.add(list_flag({"-p", "--n-prompt"}, "prompt lengths: a ppN test each (0 = none)", o.n_prompt, 0));
  flags.add(list_flag({"-n", "--n-gen"}, "generation lengths: a tgN test each (0 = none)", o.n_gen, 0));
  flags.add(list_flag({"-t", "--threads"}, "thread counts: every test runs with each", o.threads, 1));
  flags.set_default_text("-t", fmt::format("all {} cores", hardware_threads()));
  flags.add_value({"-r", "--repetitions"}, "N", "timed repetitions of each test", "Tests", o.reps, cli::at_least(1));
  flags.add({{"-o", "--output"},
             "FORMAT",
             "md (a table, as llama-bench prints) or json",
             "Tests",
             o.output,
             [&o](const std::string& v) {
               if (v != "md" && v != "json") return Status::error(fmt::format("'{}' is not md or json", v));
               o.output = v;
               return Status();
             }});
  flags.add_switch({"--no-warmup"}, "skip the untimed warm-up run of each test", "Tests", o.warmup, false);
  const std::string group = "Model and runtime";
  flags.add_string({"-m", "--model"}, "FILE", "GGUF model file", group, o.model.model);
  flags.set_default_text("-m", "the model ./setup.sh installs");
  flags.add_value({"-b", "--batch-size"}, "N", "logical batch size: prompt tokens per decode call", group,
                  o.model.n_batch, cli::at_least<int64_t>(1));
  flags.add_value({"-ub", "--ubatch-size"}, "N", "physical batch size: tokens per pass through the layers", group,
                  o.model.n_ubatch, cli::at_least<int64_t>(1));
  flags.add_string({"-ctk", "--cache-type-k"}, "TYPE", "KV cache type for keys: f16, f32, q8_0, q4_0", group,
                   o.model.cache_type_k);
  flags.add_string({"-ctv", "--cache-type-v"}, "TYPE", "KV cache type for values: f16, f32, q8_0, q4_0", group,
                   o.model.cache_type_v);
  cli::ParsedArgs parsed;
  if (std::optional<int> exit_code = flags.parse_or_report(args, parsed)) return *exit_code;
  if (o.threads.empty()) o.threads = {hardware_threads()};
  return -1;
}

std::string file_type_name(const gguf::GgufFile& file) {
  const gguf::Value* v = file.find("general.file_type");
  const std::optional<uint64_t> id = v != nullptr ? v->get_unsigned() : std::nullopt;
  if (!id) return "?";
  for (const model::Preset& p : model::presets()) {
    if (static_cast<uint64_t>(p.file_type) == *id) return std::string(p.name);
  }
  return fmt::format("ftype {}", *id);
}

// "268M", "1.1B": the parameter count as a size label.
std::string params_label(uint64_t n) {
  return n < 1000000000 ? fmt::format("{:.0f}M", n / 1e6) : fmt::format("{:.1f}B", n / 1e9);
}

ModelFacts describe(const model::Model& m, const std::string& path, const tokenizer::Vocab& vocab) {
  ModelFacts f;
  f.filename = path;
  const gguf::TensorInfo* embd = m.weights().global.get(model::TensorRole::kTokenEmbd);
  for (const gguf::TensorInfo& t : m.file().tensors()) {
    f.size += t.n_bytes;
    f.n_params += t.n_elements;
    // A token reads one row of the embedding table, unless the table is also the output matrix.
    const bool embedding_only = &t == embd && m.weights().output != embd;
    f.weight_bytes += embedding_only ? t.n_bytes / std::max<uint64_t>(t.shape[1], 1) : t.n_bytes;
  }
  f.type = fmt::format("{} {} {}", m.hparams().arch->name, params_label(f.n_params), file_type_name(m.file()));
  f.n_vocab = m.hparams().n_vocab;
  if (vocab.flags().add_bos && vocab.special().bos >= 0) f.bos = vocab.special().bos;
  return f;
}

// Mean KV bytes one generated token reads over positions [0, n_gen): every cached cell of each
// layer (only the window's cells on sliding-window layers), keys and values.
double kv_bytes_per_token(const model::Hparams& hp, const runtime::KvCache& kv, int n_gen) {
  double total = 0.0;
  for (int p = 0; p < n_gen; ++p) {
    for (int64_t il = 0; il < hp.n_layer; ++il) {
      const double row_bytes = static_cast<double>(kv.k_row_bytes(il) + kv.v_row_bytes(il));
      const int64_t cells = hp.is_swa(il) && hp.n_swa > 0 ? std::min<int64_t>(p + 1, hp.n_swa) : p + 1;
      total += static_cast<double>(cells) * row_bytes;
    }
  }
  return n_gen > 0 ? total / n_gen : 0.0;
}

Status run_prompt(model::ForwardPass& fwd, const ModelFacts& f, int n_prompt, int64_t n_batch, std::mt19937& rng,
                  std::vector<float>& logits) {
  std::uniform_int_distribution<int32_t> random_token(0, static_cast<int32_t>(f.n_vocab - 1));
  runtime::Batch batch;
  for (int start = 0; start < n_prompt; start += static_cast<int>(n_batch)) {
    const int end = std::min<int>(n_prompt, start + static_cast<int>(n_batch));
    batch.clear();
    for (int pos = start; pos < end; ++pos) {
      batch.add(pos == 0 && f.bos >= 0 ? f.bos : random_token(rng), pos, 0, pos + 1 == end);
    }
    if (Status s = fwd.decode(batch, logits); !s) return s;
  }
  return Status();
}

Status run_gen(model::ForwardPass& fwd, const ModelFacts& f, int n_gen, std::mt19937& rng, std::vector<float>& logits) {
  std::uniform_int_distribution<int32_t> random_token(0, static_cast<int32_t>(f.n_vocab - 1));
  runtime::Batch batch;
  int32_t token = f.bos >= 0 ? f.bos : random_token(rng);
  for (int pos = 0; pos < n_gen; ++pos) {
    batch.clear();
    batch.add(token, pos, 0, true);
    if (Status s = fwd.decode(batch, logits); !s) return s;
    token = random_token(rng);
  }
  return Status();
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%FT%TZ", &tm);
  return buf;
}

// One test (a ppN or a tgN) with `n_threads`: warm-up, then o.reps timed repetitions.
Result<TestResult> run_test(const std::shared_ptr<const model::Model>& m, const ModelFacts& f, const BenchOptions& o,
                            int n_prompt, int n_gen, int n_threads) {
  ModelOptions mo = o.model;
  mo.n_ctx = n_prompt + n_gen;
  mo.n_threads = n_threads;
  mo.n_threads_batch = n_threads;
  Result<model::ForwardParams> fp = forward_params(mo);
  if (!fp) return fp.status();
  fp->n_threads_batch = n_threads;
  Result<std::unique_ptr<model::ForwardPass>> created = model::ForwardPass::create(m, *fp);
  if (!created) return created.status();
  model::ForwardPass& fwd = **created;
  std::mt19937 rng(1234);
  std::vector<float> logits;
  const auto run_once = [&](int n_gen_tokens) {
    fwd.kv_cache().clear();
    return n_prompt > 0 ? run_prompt(fwd, f, n_prompt, mo.n_batch, rng, logits)
                        : run_gen(fwd, f, n_gen_tokens, rng, logits);
  };
  TestResult r{n_prompt, n_gen, n_threads, {}, 0.0, utc_now()};
  if (o.warmup) {
    if (Status s = run_once(1); !s) return s;
  }
  for (int i = 0; i < o.reps; ++i) {
    const auto start = std::chrono::steady_clock::now();
    if (Status s = run_once(n_gen); !s) return s;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start);
    r.samples_ns.push_back(static_cast<uint64_t>(ns.count()));
  }
  if (n_gen > 0) r.kv_bytes_per_token = kv_bytes_per_token(m->hparams(), fwd.kv_cache(), n_gen);
  return r;
}

double bandwidth_gbps(const ModelFacts& f, const TestResult& r) {
  if (r.n_gen == 0) return 0.0;
  return (static_cast<double>(f.weight_bytes) + r.kv_bytes_per_token) * mean(r.samples_ts()) / 1e9;
}

std::string size_text(uint64_t bytes) {
  return bytes < (1ull << 30) ? fmt::format("{:.2f} MiB", bytes / 1024.0 / 1024.0)
                              : fmt::format("{:.2f} GiB", bytes / 1024.0 / 1024.0 / 1024.0);
}

std::string params_text(uint64_t n) {
  return n < 1000000000 ? fmt::format("{:.2f} M", n / 1e6) : fmt::format("{:.2f} B", n / 1e9);
}

void print_markdown_header() {
  fmt::print("| {:<30} | {:>10} | {:>10} | {:<10} | {:>7} | {:>15} | {:>20} | {:>10} |\n", "model", "size", "params",
             "backend", "threads", "test", "t/s", "GB/s");
  fmt::print("| {:-<30} | {:->10} | {:->10} | {:-<10} | {:->7} | {:->15} | {:->20} | {:->10} |\n", "", ":", ":", "",
             ":", ":", ":", ":");
}

void print_markdown_row(const ModelFacts& f, const TestResult& r) {
  const std::vector<double> ts = r.samples_ts();
  const std::string rate = fmt::format("{:.2f} ± {:.2f}", mean(ts), stddev(ts));
  const std::string gbps = r.n_gen > 0 ? fmt::format("{:.2f}", bandwidth_gbps(f, r)) : "";
  fmt::print("| {:<30} | {:>10} | {:>10} | {:<10} | {:>7} | {:>15} | {:>20} | {:>10} |\n", f.type, size_text(f.size),
             params_text(f.n_params), "CPU", r.n_threads, r.name(), rate, gbps);
  std::fflush(stdout);
}

// llama-bench's JSON fields (those that apply), plus the test name and the bandwidth figures.
nlohmann::ordered_json json_row(const ModelFacts& f, const BenchOptions& o, const TestResult& r) {
  const std::vector<double> ts = r.samples_ts();
  nlohmann::ordered_json j;
  j["backends"] = "CPU";
  j["cpu_kernels"] = quant::isa_name(quant::kernels().isa);
  j["model_filename"] = f.filename;
  j["model_type"] = f.type;
  j["model_size"] = f.size;
  j["model_n_params"] = f.n_params;
  j["n_batch"] = o.model.n_batch;
  j["n_ubatch"] = o.model.n_ubatch;
  j["n_threads"] = r.n_threads;
  j["type_k"] = o.model.cache_type_k;
  j["type_v"] = o.model.cache_type_v;
  j["n_prompt"] = r.n_prompt;
  j["n_gen"] = r.n_gen;
  j["test"] = r.name();
  j["test_time"] = r.test_time;
  j["avg_ns"] = static_cast<uint64_t>(mean(r.samples_ns));
  j["stddev_ns"] = static_cast<uint64_t>(stddev(r.samples_ns));
  j["avg_ts"] = mean(ts);
  j["stddev_ts"] = stddev(ts);
  j["samples_ns"] = r.samples_ns;
  j["samples_ts"] = ts;
  if (r.n_gen > 0) {
    j["weight_bytes_per_token"] = f.weight_bytes;
    j["kv_bytes_per_token"] = r.kv_bytes_per_token;
    j["avg_gbps"] = bandwidth_gbps(f, r);
  }
  return j;
}

}  // namespace

int run_bench(const Args& args) {
  BenchOptions o;
  if (int exit_code = parse_options(args, o); exit_code >= 0) return exit_code;
  // Check the KV types before loading anything.
  if (Result<model::ForwardParams> fp = forward_params(o.model); !fp) {
    fmt::print(stderr, "error: {}\n", fp.error());
    return 1;
  }
  const std::string path = model_path(o.model);
  const auto load_start = std::chrono::steady_clock::now();
  Result<std::shared_ptr<const model::Model>> loaded = model::Model::load(path);
  if (!loaded) {
    fmt::print(stderr, "error: {}\n", loaded.error());
    return 1;
  }
  Result<tokenizer::Vocab> vocab = tokenizer::Vocab::load((*loaded)->file());
  if (!vocab) {
    fmt::print(stderr, "error: {}\n", vocab.error());
    return 1;
  }
  fmt::print(stderr, "load: {:.2f} s\n",
             std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count());
  const ModelFacts facts = describe(**loaded, path, *vocab);

  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  if (o.output == "md") print_markdown_header();
  for (int n_threads : o.threads) {
    std::vector<std::pair<int, int>> tests;  // (n_prompt, n_gen), llama-bench's order
    for (int p : o.n_prompt) {
      if (p > 0) tests.emplace_back(p, 0);
    }
    for (int n : o.n_gen) {
      if (n > 0) tests.emplace_back(0, n);
    }
    for (const auto& [n_prompt, n_gen] : tests) {
      Result<TestResult> r = run_test(*loaded, facts, o, n_prompt, n_gen, n_threads);
      if (!r) {
        fmt::print(stderr, "error: {}: {}\n", n_prompt > 0 ? fmt::format("pp{}", n_prompt) : fmt::format("tg{}", n_gen),
                   r.error());
        return 1;
      }
      if (o.output == "md") {
        print_markdown_row(facts, *r);
      } else {
        rows.push_back(json_row(facts, o, *r));
      }
    }
  }
  if (o.output == "md") {
    fmt::print("\nbuild: tessera, {} kernels\n", quant::isa_name(quant::kernels().isa));
  } else {
    fmt::print("{}\n", rows.dump(2));
  }
  return 0;
}

}  // namespace tessera::tools

// Per-token cost of grammar-constrained decoding on a real vocabulary, along a fixed token path.
//
//   tessera_bench_grammar MODEL.gguf GRAMMAR.gbnf TOKENS.json
//
// TOKENS.json is a JSON array of token ids (a valid text of the grammar, tokenized; written by
// bench/grammar_speed.py). For each token: the allowed-token bitmask (GrammarConstraint::mask,
// with the per-state cache as in real decoding), the full-vocabulary mask (apply on all n_vocab
// candidates: bitmask + one pass over the array), the sample-first check (allows) and the advance
// (accept). Prints one JSON object with mean / p99 / max in microseconds, wall time and, for the
// masks, this thread's CPU time too (steadier on a shared machine). Not a test: figures only.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "gguf/gguf_file.h"
#include "grammar/grammar.h"
#include "grammar/token_mask.h"
#include "sampling/grammar_constraint.h"
#include "tokenizer/tokenizer.h"

using namespace tessera;
using Clock = std::chrono::steady_clock;

namespace {

// CPU time of this thread: steadier than wall time on a loaded machine.
double thread_cpu_us() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

double micros(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}

nlohmann::json summary(std::vector<double> v) {
  if (v.empty()) return nlohmann::json::object();
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  const size_t p99 = std::min(v.size() - 1, static_cast<size_t>(0.99 * static_cast<double>(v.size())));
  return {{"mean_us", sum / static_cast<double>(v.size())},
          {"p50_us", v[v.size() / 2]},
          {"p99_us", v[p99]},
          {"max_us", v.back()}};
}

std::string read(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    fmt::print(stderr, "usage: {} MODEL.gguf GRAMMAR.gbnf TOKENS.json\n", argv[0]);
    return 2;
  }
  auto file = gguf::GgufFile::open(argv[1]);
  if (!file.ok()) return fmt::print(stderr, "error: {}\n", file.error()), 1;
  auto tok = tokenizer::Tokenizer::load(*file);
  if (!tok.ok()) return fmt::print(stderr, "error: {}\n", tok.error()), 1;
  const auto t0 = Clock::now();
  auto vocab = grammar::GrammarVocabulary::from_tokenizer(*tok);
  const auto t1 = Clock::now();
  auto g = grammar::parse_gbnf(read(argv[2]));
  if (!g.ok()) return fmt::print(stderr, "error: {}\n", g.error()), 1;
  const auto t2 = Clock::now();
  auto made = sampling::GrammarConstraint::create(std::make_shared<const grammar::Grammar>(std::move(*g)), vocab);
  if (!made.ok()) return fmt::print(stderr, "error: {}\n", made.error()), 1;
  auto& c = **made;
  const auto t3 = Clock::now();
  const std::vector<int32_t> ids = nlohmann::json::parse(read(argv[3])).get<std::vector<int32_t>>();
  sampling::CandidateArray cands;
  cands.data.resize(vocab->size());
  std::vector<double> mask_us, mask_cpu_us, bitmask_us, bitmask_cpu_us, allows_us, accept_us, masked_allowed;
  for (int32_t id : ids) {
    for (size_t i = 0; i < cands.data.size(); ++i) cands.data[i] = {static_cast<int32_t>(i), 0.0f, 0.0f};
    const double cpu0 = thread_cpu_us();
    const auto a = Clock::now();
    (void)c.mask();  // the allowed-token bitmask (computed, or found in the per-state cache)
    const auto m = Clock::now();
    const double cpu1 = thread_cpu_us();
    c.apply(cands);  // + setting -inf on every rejected candidate of the full array
    const auto b = Clock::now();
    bitmask_us.push_back(micros(a, m));
    bitmask_cpu_us.push_back(cpu1 - cpu0);
    mask_cpu_us.push_back(thread_cpu_us() - cpu0);
    const bool ok = c.allows(id);
    const auto d = Clock::now();
    if (!ok || std::isinf(cands.data[static_cast<size_t>(id)].logit)) {
      return fmt::print(stderr, "error: token {} ('{}') rejected by the grammar\n", id, vocab->piece(id)), 1;
    }
    c.accept(id);
    const auto e = Clock::now();
    mask_us.push_back(micros(a, b));
    allows_us.push_back(micros(b, d));
    accept_us.push_back(micros(d, e));
    size_t n = 0;
    for (const auto& x : cands.data) n += !std::isinf(x.logit);
    masked_allowed.push_back(static_cast<double>(n));
  }
  std::vector<double> fast(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) fast[i] = allows_us[i] + accept_us[i];
  double allowed_mean = 0;
  for (double x : masked_allowed) allowed_mean += x / static_cast<double>(masked_allowed.size());
  const nlohmann::json out = {{"n_tokens", ids.size()},
                              {"n_vocab", vocab->size()},
                              {"trie_nodes", vocab->trie_nodes()},
                              {"vocab_build_ms", micros(t0, t1) / 1000},
                              {"grammar_compile_ms", micros(t1, t2) / 1000},
                              {"constraint_create_ms", micros(t2, t3) / 1000},
                              {"mask", summary(mask_us)},
                              {"mask_cpu", summary(mask_cpu_us)},
                              {"bitmask", summary(bitmask_us)},
                              {"bitmask_cpu", summary(bitmask_cpu_us)},
                              {"allows", summary(allows_us)},
                              {"accept", summary(accept_us)},
                              {"sample_first_step", summary(fast)},
                              {"mean_allowed_tokens", allowed_mean},
                              {"mask_us_per_token", mask_us}};
  fmt::print("{}\n", out.dump());
  return 0;
}

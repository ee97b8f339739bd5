// pp and tg speed of the forward pass alone, the way llama-bench measures them: ppN decodes one
// batch of N random tokens (logits for the last only) into an empty cache; tgN decodes N single
// tokens one after another from an empty cache. Prints one JSON object per line per round, so
// bench/generation_speed.py can alternate rounds with llama.cpp.
//
// usage: tessera_bench_forward MODEL.gguf [-p 512] [-n 128] [-t 2] [-r 1] [-ub 512]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include <fmt/format.h>

#include "model/forward.h"

using namespace tessera;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.gguf [-p 512] [-n 128] [-t 2] [-r 1] [-ub 512]\n", argv[0]);
    return 2;
  }
  int64_t n_prompt = 512, n_gen = 128, n_ubatch = 512;
  int threads = 2, rounds = 1;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const long v = std::strtol(argv[i + 1], nullptr, 10);
    if (flag == "-p")
      n_prompt = v;
    else if (flag == "-n")
      n_gen = v;
    else if (flag == "-t")
      threads = static_cast<int>(v);
    else if (flag == "-r")
      rounds = static_cast<int>(v);
    else if (flag == "-ub")
      n_ubatch = v;
  }
  const auto t_load = std::chrono::steady_clock::now();
  Result<std::shared_ptr<const model::Model>> m = model::Model::load(argv[1]);
  if (!m.ok()) {
    std::fprintf(stderr, "error: %s\n", m.error().c_str());
    return 1;
  }
  model::ForwardParams params;
  params.n_ctx = std::max<int64_t>(n_prompt, n_gen) + 16;
  params.n_threads = threads;
  params.n_ubatch = n_ubatch;
  Result<std::unique_ptr<model::ForwardPass>> fp = model::ForwardPass::create(*m, params);
  if (!fp.ok()) {
    std::fprintf(stderr, "error: %s\n", fp.error().c_str());
    return 1;
  }
  std::fprintf(stderr, "load %.2f s\n", seconds_since(t_load));
  model::ForwardPass& pass = **fp;
  const int32_t n_vocab = static_cast<int32_t>((*m)->hparams().n_vocab);
  std::mt19937 rng(42);
  std::vector<float> logits;
  for (int r = 0; r < rounds; ++r) {
    double pp = 0, tg = 0;
    if (n_prompt > 0) {
      runtime::Batch b;
      for (int64_t i = 0; i < n_prompt; ++i) {
        b.add(static_cast<int32_t>(rng() % n_vocab), static_cast<int32_t>(i), 0, i + 1 == n_prompt);
      }
      pass.kv_cache().seq_rm(0, 0, -1);
      const auto t0 = std::chrono::steady_clock::now();
      if (Status s = pass.decode(b, logits); !s.ok()) {
        std::fprintf(stderr, "error: %s\n", s.message().c_str());
        return 1;
      }
      pp = static_cast<double>(n_prompt) / seconds_since(t0);
    }
    if (n_gen > 0) {
      pass.kv_cache().seq_rm(0, 0, -1);
      const auto t0 = std::chrono::steady_clock::now();
      for (int64_t i = 0; i < n_gen; ++i) {
        runtime::Batch b;
        b.add(static_cast<int32_t>(rng() % n_vocab), static_cast<int32_t>(i), 0, true);
        if (Status s = pass.decode(b, logits); !s.ok()) {
          std::fprintf(stderr, "error: %s\n", s.message().c_str());
          return 1;
        }
      }
      tg = static_cast<double>(n_gen) / seconds_since(t0);
    }
    std::printf("{\"pp\": %.3f, \"tg\": %.3f}\n", pp, tg);
    std::fflush(stdout);
  }
  return 0;
}

// Blocked attention (ops::attention_tile) on one core at the tile shapes the forward pass uses in
// pp512 (forward.cpp: about 128 query rows per tile), over a 512-cell f16 cache:
//   llama1b    32 heads, 4 KV heads (group 8), head_dim 64: 16 tokens x 8 heads per tile
//   gemma270m  4 heads, 1 KV head (group 4), head_dim 256, sliding window 512: 32 tokens x 4 heads
//   gemma2cap  the gemma270m shape with score soft-capping at 50 (Gemma 2)
// Cases: `last/` the last tile of the prompt (positions 496..511 or 480..511, all 512 keys, the
// diagonal block masked); `prompt/` every tile of the 512-token prompt for one KV head, as pp512
// runs per layer; `sgemm/` only the two sgemm calls `last/` makes (the GEMM floor: the rest of
// `last/` is the widening, masking and softmax work around them).
//
//   build-att/bench/tessera_bench_attention
//   build-att/bench/tessera_bench_attention --benchmark_filter=last/
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "ops/ops.h"
#include "ops/simd_kernels.h"
#include "quant/float16.h"

namespace {

namespace ops = tessera::ops;

constexpr int64_t kCells = 512;
constexpr int64_t kTileRows = 128;  // forward.cpp's rows per attention work item

struct Shape {
  int64_t n_head, n_head_kv, head_dim, n_swa;
  float softcap;
};

constexpr Shape kLlama1b{32, 4, 64, 0, 0.0f};
constexpr Shape kGemma270m{4, 1, 256, 512, 0.0f};
constexpr Shape kGemma2Cap{4, 1, 256, 512, 50.0f};

// A 512-token prompt already in an f16 cache (cell i at position i) and its query rows.
struct Fixture {
  ops::AttentionParams p;
  std::vector<uint16_t> k, v;                    // [kCells, n_head_kv * head_dim]
  std::vector<float> q, out;                     // [kCells, n_head * head_dim]
  std::vector<int32_t> cells, positions, q_pos;  // [kCells]
  std::vector<float> scratch;

  explicit Fixture(const Shape& s) {
    p = {s.n_head,  s.n_head_kv, s.head_dim, s.head_dim, 1.0f / std::sqrt(static_cast<float>(s.head_dim)),
         s.softcap, s.n_swa};
    std::mt19937 rng(5);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    const int64_t kv_row = s.n_head_kv * s.head_dim, q_row = s.n_head * s.head_dim;
    k.resize(static_cast<size_t>(kCells * kv_row));
    v.resize(k.size());
    for (auto& x : k) x = tessera::quant::f32_to_f16(dist(rng));
    for (auto& x : v) x = tessera::quant::f32_to_f16(dist(rng));
    q.resize(static_cast<size_t>(kCells * q_row));
    for (auto& x : q) x = 2.0f * dist(rng);
    out.resize(q.size());
    for (int32_t i = 0; i < kCells; ++i) {
      cells.push_back(i);
      positions.push_back(i);
      q_pos.push_back(i);
    }
  }

  int64_t tile_tokens() const { return std::max<int64_t>(1, kTileRows / (p.n_head / p.n_head_kv)); }

  ops::KvView view() const {
    ops::KvView kv;
    kv.type = ops::KvType::kF16;
    kv.k = reinterpret_cast<const uint8_t*>(k.data());
    kv.v = reinterpret_cast<const uint8_t*>(v.data());
    kv.k_row_bytes = static_cast<size_t>(p.n_head_kv * p.head_dim_k) * sizeof(uint16_t);
    kv.v_row_bytes = static_cast<size_t>(p.n_head_kv * p.head_dim_v) * sizeof(uint16_t);
    kv.cells = cells;
    kv.positions = positions;
    return kv;
  }

  // Tokens [t0, t1) as one tile over KV head 0.
  void run_tile(int64_t t0, int64_t t1) {
    ops::attention_tile(p, view(), 0, std::span<const int32_t>(cells.data() + t0, static_cast<size_t>(t1 - t0)),
                        q.data(), p.n_head * p.head_dim_k, q_pos.data(), out.data(), p.n_head * p.head_dim_v, scratch);
  }
};

void set_counters(benchmark::State& state, double rows_x_keys) {
  // Score elements per call: each one is a head_dim-long dot in Q·K^T and one in P·V.
  state.counters["score_elems/s"] = benchmark::Counter(rows_x_keys, benchmark::Counter::kIsIterationInvariantRate);
}

void bm_last_tile(benchmark::State& state, Shape shape) {
  Fixture f(shape);
  const int64_t t0 = kCells - f.tile_tokens();
  for (auto _ : state) {
    f.run_tile(t0, kCells);
    benchmark::DoNotOptimize(f.out.data());
  }
  set_counters(state, static_cast<double>(kTileRows * kCells));
}

void bm_prompt(benchmark::State& state, Shape shape) {
  Fixture f(shape);
  const int64_t tile = f.tile_tokens();
  for (auto _ : state) {
    for (int64_t t0 = 0; t0 < kCells; t0 += tile) f.run_tile(t0, std::min(kCells, t0 + tile));
    benchmark::DoNotOptimize(f.out.data());
  }
  double elems = 0;  // keys of every block a tile reaches
  for (int64_t t0 = 0; t0 < kCells; t0 += tile) elems += static_cast<double>(kTileRows * std::min(kCells, t0 + tile));
  set_counters(state, elems);
}

// The Q·K^T and P·V products of `last/` alone, on the same buffer sizes.
void bm_sgemm_only(benchmark::State& state, Shape shape) {
  const ops::OpKernels& ak = ops::op_kernels();
  const int64_t d = shape.head_dim, tk = 64;
  std::vector<float> qs(static_cast<size_t>(kTileRows * d), 0.01f), kt(static_cast<size_t>(d * tk), 0.02f);
  std::vector<float> s(static_cast<size_t>(kTileRows * tk)), vb(static_cast<size_t>(tk * d), 0.03f);
  std::vector<float> o(static_cast<size_t>(kTileRows * d), 0.0f);
  for (auto _ : state) {
    for (int64_t j0 = 0; j0 < kCells; j0 += tk) {
      ak.sgemm(kTileRows, tk, d, qs.data(), d, kt.data(), tk, s.data(), tk, false);
      ak.sgemm(kTileRows, d, tk, s.data(), tk, vb.data(), d, o.data(), d, true);
    }
    benchmark::DoNotOptimize(o.data());
  }
  set_counters(state, static_cast<double>(kTileRows * kCells));
}

BENCHMARK_CAPTURE(bm_last_tile, llama1b, kLlama1b)->Name("last/llama1b")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(bm_last_tile, gemma270m, kGemma270m)->Name("last/gemma270m")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(bm_last_tile, gemma2cap, kGemma2Cap)->Name("last/gemma2cap")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(bm_sgemm_only, llama1b, kLlama1b)->Name("sgemm/llama1b")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(bm_sgemm_only, gemma270m, kGemma270m)->Name("sgemm/gemma270m")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(bm_prompt, llama1b, kLlama1b)->Name("prompt/llama1b")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(bm_prompt, gemma270m, kGemma270m)->Name("prompt/gemma270m")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(bm_prompt, gemma2cap, kGemma2Cap)->Name("prompt/gemma2cap")->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();

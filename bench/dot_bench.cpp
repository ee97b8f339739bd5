// Dot-kernel throughput, per weight type and ISA, and single-threaded matvec / matmul for the
// shapes of a 1B-class model (TinyLlama-1.1B: hidden 2048, FFN 5632, vocab 32000).
//
//   build-k/bench/tessera_bench_dot                          # everything
//   build-k/bench/tessera_bench_dot --benchmark_filter=dot/  # L1-resident kernel speed only
//
// bytes_per_second counts weight bytes: for `dot/` a 4096-element row that stays in L1 (kernel
// speed), for `matvec/` whole matrices streamed from memory (the token-generation bound), for
// `matmul/` the weights once per call with 64 or 512 tokens per call (prompt processing; GOPS
// = 2 * rows * k * tokens per second).
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "quant/blocks.h"
#include "quant/dispatch.h"
#include "quant/float16.h"
#include "quant/type_traits.h"

namespace {

using tessera::quant::Isa;
using tessera::quant::KernelTable;
using tessera::quant::TensorType;
using T = TensorType;
namespace q = tessera::quant;

const T kTypes[] = {T::kQ8_0, T::kQ4_0, T::kQ4_K, T::kQ6_K, T::kQ5_0, T::kF16,    T::kF32,    T::kBF16,
                    T::kQ5_K, T::kQ3_K, T::kQ2_K, T::kQ4_1, T::kQ5_1, T::kIQ4_NL, T::kIQ4_XS, T::kMXFP4};

size_t bytes_of(T type, int64_t n) {
  return static_cast<size_t>(*q::row_bytes(type, static_cast<uint64_t>(n)));
}

// Byte offsets of the f16 scale fields of each block type (patched to sane values so that random
// bytes never give inf / NaN / subnormal scales, which would make f32 arithmetic unrepresentative).
std::vector<size_t> f16_fields(T type) {
  using namespace tessera::quant;
  switch (type) {
    case T::kQ4_0: return {offsetof(BlockQ4_0, d)};
    case T::kQ4_1: return {offsetof(BlockQ4_1, d), offsetof(BlockQ4_1, m)};
    case T::kQ5_0: return {offsetof(BlockQ5_0, d)};
    case T::kQ5_1: return {offsetof(BlockQ5_1, d), offsetof(BlockQ5_1, m)};
    case T::kQ8_0: return {offsetof(BlockQ8_0, d)};
    case T::kQ2_K: return {offsetof(BlockQ2_K, d), offsetof(BlockQ2_K, dmin)};
    case T::kQ3_K: return {offsetof(BlockQ3_K, d)};
    case T::kQ4_K: return {offsetof(BlockQ4_K, d), offsetof(BlockQ4_K, dmin)};
    case T::kQ5_K: return {offsetof(BlockQ5_K, d), offsetof(BlockQ5_K, dmin)};
    case T::kQ6_K: return {offsetof(BlockQ6_K, d)};
    case T::kIQ4_NL: return {offsetof(BlockIQ4_NL, d)};
    case T::kIQ4_XS: return {offsetof(BlockIQ4_XS, d)};
    default: return {};
  }
}

std::vector<uint8_t> random_weights(T type, int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  const q::TypeTraits& traits = q::type_traits(type);
  std::vector<uint8_t> bytes(bytes_of(type, n));
  if (!traits.quantized) {
    std::uniform_real_distribution<float> value(-1.0f, 1.0f);
    for (int64_t i = 0; i < n; ++i) {
      const float v = value(rng);
      if (type == T::kF32) {
        reinterpret_cast<float*>(bytes.data())[i] = v;
      } else {
        reinterpret_cast<uint16_t*>(bytes.data())[i] = type == T::kF16 ? q::f32_to_f16(v) : q::f32_to_bf16(v);
      }
    }
    return bytes;
  }
  for (size_t i = 0; i + 4 <= bytes.size(); i += 4) {
    const uint32_t r = rng();
    std::memcpy(bytes.data() + i, &r, 4);
  }
  const uint16_t scale = q::f32_to_f16(0.01f);
  for (size_t b = 0; b < bytes.size(); b += traits.bytes_per_block) {
    for (size_t offset : f16_fields(type)) std::memcpy(bytes.data() + b + offset, &scale, 2);
    if (type == T::kMXFP4) bytes[b] = 120;  // E8M0 exponent
  }
  return bytes;
}

std::vector<uint8_t> activations(const KernelTable& table, T type, int64_t k, int64_t n_tokens) {
  std::mt19937 rng(42);
  std::normal_distribution<float> value(0.0f, 1.0f);
  std::vector<float> x(k * n_tokens);
  for (auto& v : x) v = value(rng);
  std::vector<uint8_t> out(bytes_of(q::type_traits(type).vec_dot_type, k) * n_tokens);
  q::quantize_activations(table, type, x.data(), k, n_tokens, out.data());
  return out;
}

void bench_dot(benchmark::State& state, const KernelTable* table, T type) {
  const int64_t k = 4096;
  const std::vector<uint8_t> w = random_weights(type, k, 1);
  const std::vector<uint8_t> a = activations(*table, type, k, 1);
  const q::VecDotFn dot = table->vec_dot[static_cast<size_t>(type)];
  for (auto _ : state) {
    benchmark::DoNotOptimize(dot(k, w.data(), a.data()));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(w.size()));
}

// One matvec (n_tokens = 1) or matmul over all rows, single-threaded.
void bench_matmul(benchmark::State& state, const KernelTable* table, T type, int64_t rows, int64_t k,
                  int64_t n_tokens) {
  const std::vector<uint8_t> w = random_weights(type, rows * k, 2);
  const std::vector<uint8_t> a = activations(*table, type, k, n_tokens);
  std::vector<float> out(rows * n_tokens);
  const q::MatmulArgs args{type, w.data(), k, a.data(), n_tokens, out.data(), rows};
  std::vector<uint8_t> scratch(q::matmul_scratch_bytes(*table, args));
  for (auto _ : state) {
    q::matmul(*table, args, 0, rows, scratch);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(w.size()));
  state.counters["GOPS"] =
      benchmark::Counter(2.0 * static_cast<double>(rows * k * n_tokens), benchmark::Counter::kIsIterationInvariantRate,
                         benchmark::Counter::kIs1000);
}

void register_all() {
  for (int i = 0; i < static_cast<int>(Isa::kCount); ++i) {
    const KernelTable* table = q::kernels_for(static_cast<Isa>(i));
    if (table == nullptr) continue;
    for (T type : kTypes) {
      const std::string name = "dot/" + std::string(q::type_name(type)) + "/" + std::string(q::isa_name(table->isa));
      benchmark::RegisterBenchmark(name.c_str(), bench_dot, table, type);
    }
  }
  struct Shape {
    int64_t rows, k;
  };
  const Shape shapes[] = {{2048, 2048}, {5632, 2048}, {2048, 5632}, {32000, 2048}};
  const T matvec_types[] = {T::kQ8_0, T::kQ4_0, T::kQ4_K, T::kQ6_K, T::kQ5_0, T::kF16};
  const KernelTable& best = q::kernels();
  for (T type : matvec_types) {
    for (const Shape& s : shapes) {
      const std::string name = "matvec/" + std::string(q::type_name(type)) + "/" + std::to_string(s.rows) + "x" +
                               std::to_string(s.k) + "/" + std::string(q::isa_name(best.isa));
      benchmark::RegisterBenchmark(name.c_str(), bench_matmul, &best, type, s.rows, s.k, int64_t{1})
          ->Unit(benchmark::kMillisecond);
    }
  }
  // Prompt processing: 64 tokens (a short prompt or a batch step) and 512 (pp512) on the FFN shape,
  // and pp512 on the default model's FFN (Gemma 3 270M: 640-wide rows, Q5_0 / Q8_0 there).
  struct MatmulShape {
    int64_t rows, k, tokens;
  };
  const MatmulShape mm_shapes[] = {{2048, 2048, 64}, {5632, 2048, 512}, {2048, 640, 512}};
  for (int i = 1; i < static_cast<int>(Isa::kCount); ++i) {
    const KernelTable* table = q::kernels_for(static_cast<Isa>(i));
    if (table == nullptr) continue;
    for (T type : {T::kQ8_0, T::kQ4_0, T::kQ4_K, T::kQ6_K, T::kF16, T::kQ5_0}) {
      for (const MatmulShape& s : mm_shapes) {
        if (s.k % 256 != 0 && q::type_traits(type).block_size == 256) continue;
        const std::string name = "matmul/" + std::string(q::type_name(type)) + "/" + std::to_string(s.rows) + "x" +
                                 std::to_string(s.k) + "x" + std::to_string(s.tokens) + "tok/" +
                                 std::string(q::isa_name(table->isa));
        benchmark::RegisterBenchmark(name.c_str(), bench_matmul, table, type, s.rows, s.k, s.tokens)
            ->Unit(benchmark::kMillisecond);
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

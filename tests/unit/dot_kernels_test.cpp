// Dot kernels and their dispatch (quant/dispatch.h):
//  - CPU detection agrees with the compiler's, and dispatch picks the best ISA the CPU has;
//  - every SIMD kernel equals its scalar reference: bit for bit on integer-valued data (unit
//    scales, so every partial sum is an exactly representable integer and only the integer paths
//    are under test), and to f32 rounding on random data, for every ISA this machine supports;
//  - the scalar references equal an independent oracle: the dot, in double, of the rows
//    dequantized by the type table (whose dequantizers are checked bit-exact against gguf-py);
//  - activation quantizers keep quants in [-127, 127] (the SIMD kernels depend on it);
//  - matmul writes exactly its row range and agrees with one-row dots.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "quant/blocks.h"
#include "quant/cpu_features.h"
#include "quant/dispatch.h"
#include "quant/float16.h"
#include "quant/type_traits.h"

namespace tessera::quant {
namespace {

using T = TensorType;
using Bytes = std::vector<uint8_t>;

// The weight types that have dot kernels, in the priority order.
const T kDotTypes[] = {T::kQ8_0, T::kQ4_0, T::kQ4_K, T::kQ6_K, T::kQ5_0, T::kF16,    T::kF32,    T::kBF16,
                       T::kQ5_K, T::kQ3_K, T::kQ2_K, T::kQ4_1, T::kQ5_1, T::kIQ4_NL, T::kIQ4_XS, T::kMXFP4};

size_t idx(T type) {
  return static_cast<size_t>(type);
}
T act_type(T weight) {
  return type_traits(weight).vec_dot_type;
}
size_t bytes_of(T type, int64_t n) {
  return static_cast<size_t>(*row_bytes(type, static_cast<uint64_t>(n)));
}

// ---- random rows ----

enum class Data {
  kRandom,   // random quants and random finite scales
  kInteger,  // unit scales and small integer activations: every partial sum is exact in f32
};

void set_f16(uint16_t& field, float value) {
  field = f32_to_f16(value);
}

// Overwrites the scale fields of block `b` (random bytes elsewhere are valid quants).
template <class Block>
void fix_scales(Block& b, std::mt19937& rng, Data data) {
  std::uniform_real_distribution<float> scale(-0.02f, 0.02f);
  const bool unit = data == Data::kInteger;
  if constexpr (requires { b.d; }) set_f16(b.d, unit ? 1.0f : scale(rng));
  if constexpr (requires { b.m; }) set_f16(b.m, unit ? 1.0f : scale(rng));
  if constexpr (requires { b.dmin; }) set_f16(b.dmin, unit ? 1.0f : scale(rng));
}

template <class Block>
Bytes random_blocks(int64_t n_blocks, std::mt19937& rng, Data data) {
  Bytes bytes(n_blocks * sizeof(Block));
  for (auto& byte : bytes) byte = static_cast<uint8_t>(rng());
  auto* blocks = reinterpret_cast<Block*>(bytes.data());
  for (int64_t i = 0; i < n_blocks; ++i) fix_scales(blocks[i], rng, data);
  return bytes;
}

// A random row of `n` weights of `type`.
Bytes random_weights(T type, int64_t n, std::mt19937& rng, Data data) {
  const int64_t nb = n / type_traits(type).block_size;
  const bool integer = data == Data::kInteger;
  switch (type) {
    case T::kF32:
    case T::kF16:
    case T::kBF16: {
      std::uniform_real_distribution<float> value(-1.0f, 1.0f);
      std::uniform_int_distribution<int> small(-8, 8);
      std::vector<float> x(n);
      for (auto& v : x) v = integer ? static_cast<float>(small(rng)) : value(rng);
      Bytes bytes(bytes_of(type, n));
      type_traits(type).quantize(x.data(), bytes.data(), n, nullptr);
      return bytes;
    }
    case T::kQ4_0: return random_blocks<BlockQ4_0>(nb, rng, data);
    case T::kQ4_1: return random_blocks<BlockQ4_1>(nb, rng, data);
    case T::kQ5_0: return random_blocks<BlockQ5_0>(nb, rng, data);
    case T::kQ5_1: return random_blocks<BlockQ5_1>(nb, rng, data);
    case T::kQ8_0: return random_blocks<BlockQ8_0>(nb, rng, data);
    case T::kQ2_K: return random_blocks<BlockQ2_K>(nb, rng, data);
    case T::kQ3_K: return random_blocks<BlockQ3_K>(nb, rng, data);
    case T::kQ4_K: return random_blocks<BlockQ4_K>(nb, rng, data);
    case T::kQ5_K: return random_blocks<BlockQ5_K>(nb, rng, data);
    case T::kQ6_K: return random_blocks<BlockQ6_K>(nb, rng, data);
    case T::kIQ4_NL: return random_blocks<BlockIQ4_NL>(nb, rng, data);
    case T::kIQ4_XS: return random_blocks<BlockIQ4_XS>(nb, rng, data);
    case T::kMXFP4: {
      Bytes bytes = random_blocks<BlockMXFP4>(nb, rng, data);
      auto* blocks = reinterpret_cast<BlockMXFP4*>(bytes.data());
      std::uniform_int_distribution<int> exponent(115, 130);
      for (int64_t i = 0; i < nb; ++i)
        blocks[i].e = integer ? 128 : static_cast<uint8_t>(exponent(rng));  // 128: half-scale 1
      return bytes;
    }
    default: ADD_FAILURE() << "no generator for " << type_name(type); return {};
  }
}

// Integer activations in [-15, 15] with unit scales, written straight into the activation blocks
// (with their sums), for the exact comparisons.
Bytes integer_activations(T act, int64_t n, std::mt19937& rng) {
  std::uniform_int_distribution<int> small(-15, 15);
  std::vector<int> q(n);
  for (auto& v : q) v = small(rng);
  Bytes bytes(bytes_of(act, n));
  if (act == T::kQ8_0 || act == T::kQ8_1 || act == T::kQ8_K) {
    const int block = static_cast<int>(type_traits(act).block_size);
    for (int64_t i = 0; i < n / block; ++i) {
      const int* y = q.data() + i * block;
      if (act == T::kQ8_0) {
        auto& b = reinterpret_cast<BlockQ8_0*>(bytes.data())[i];
        set_f16(b.d, 1.0f);
        for (int j = 0; j < block; ++j) b.qs[j] = static_cast<int8_t>(y[j]);
      } else if (act == T::kQ8_1) {
        auto& b = reinterpret_cast<BlockQ8_1*>(bytes.data())[i];
        int sum = 0;
        for (int j = 0; j < block; ++j) sum += b.qs[j] = static_cast<int8_t>(y[j]);
        set_f16(b.d, 1.0f);
        set_f16(b.s, static_cast<float>(sum));
      } else {
        auto& b = reinterpret_cast<BlockQ8_K*>(bytes.data())[i];
        b.d = 1.0f;
        for (int s = 0; s < 16; ++s) {
          int sum = 0;
          for (int j = 16 * s; j < 16 * s + 16; ++j) sum += b.qs[j] = static_cast<int8_t>(y[j]);
          b.bsums[s] = static_cast<int16_t>(sum);
        }
      }
    }
    return bytes;
  }
  std::vector<float> x(q.begin(), q.end());
  type_traits(act).quantize(x.data(), bytes.data(), n, nullptr);  // f32/f16/bf16 hold these exactly
  return bytes;
}

// Random f32 activations quantized with the scalar table's quantizer.
Bytes random_activations(T weight, int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> value(0.0f, 1.0f);
  std::vector<float> x(n);
  for (auto& v : x) v = value(rng);
  Bytes bytes(bytes_of(act_type(weight), n));
  quantize_activations(*kernels_for(Isa::kScalar), weight, x.data(), n, 1, bytes.data());
  return bytes;
}

std::vector<float> dequantize(T type, const Bytes& row, int64_t n) {
  std::vector<float> out(n);
  type_traits(type).dequantize(row.data(), out.data(), n);
  return out;
}

// Row lengths per type: one block, an odd number of blocks (tails), and a model-sized row.
std::vector<int64_t> lengths(T type) {
  const int64_t block = type_traits(type).block_size;
  if (block == 1) return {1, 7, 8, 15, 16, 33, 100, 257, 2048};
  if (block == 32) return {32, 64, 96, 224, 2048};
  return {256, 768, 2048};
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> isas;
  for (int i = 0; i < static_cast<int>(Isa::kCount); ++i) {
    if (kernels_for(static_cast<Isa>(i)) != nullptr) isas.push_back(static_cast<Isa>(i));
  }
  return isas;
}

// ---- CPU detection and dispatch ----

TEST(CpuFeatures, AgreeWithTheCompilersDetection) {
  const CpuFeatures cpu = detect_cpu_features();
  __builtin_cpu_init();
  EXPECT_EQ(cpu.avx2, __builtin_cpu_supports("avx2") != 0);
  EXPECT_EQ(cpu.fma, __builtin_cpu_supports("fma") != 0);
  EXPECT_EQ(cpu.avx512f, __builtin_cpu_supports("avx512f") != 0);
  EXPECT_EQ(cpu.avx512bw, __builtin_cpu_supports("avx512bw") != 0);
  EXPECT_EQ(cpu.avx512vl, __builtin_cpu_supports("avx512vl") != 0);
  EXPECT_EQ(cpu.avx512vnni, __builtin_cpu_supports("avx512vnni") != 0);
}

TEST(Dispatch, PicksTheBestSupportedIsa) {
  const CpuFeatures cpu = detect_cpu_features();
  const Isa best = best_isa(cpu);
  EXPECT_EQ(kernels().isa, best);
  EXPECT_EQ(&kernels(), kernels_for(best));
  for (int i = static_cast<int>(best) + 1; i < static_cast<int>(Isa::kCount); ++i) {
    EXPECT_EQ(kernels_for(static_cast<Isa>(i)), nullptr) << isa_name(static_cast<Isa>(i));
  }
  if (cpu.avx2 && cpu.fma && cpu.f16c) {
    EXPECT_GE(best, Isa::kAvx2);
  }
  if (cpu.avx2 && cpu.fma && cpu.f16c && cpu.avx512f && cpu.avx512bw && cpu.avx512vl && cpu.avx512vnni) {
    EXPECT_EQ(best, Isa::kAvx512);
  }
  // Feature sets built by hand: dispatch follows the features, not the machine.
  CpuFeatures none;
  EXPECT_EQ(best_isa(none), Isa::kScalar);
  CpuFeatures avx2;
  avx2.avx2 = avx2.fma = avx2.f16c = true;
  EXPECT_EQ(best_isa(avx2), Isa::kAvx2);
  CpuFeatures no_vnni = avx2;
  no_vnni.avx512f = no_vnni.avx512bw = no_vnni.avx512vl = true;
  EXPECT_EQ(best_isa(no_vnni), Isa::kAvx2);
  CpuFeatures all = no_vnni;
  all.avx512vnni = true;
  EXPECT_EQ(best_isa(all), Isa::kAvx512);
}

TEST(Dispatch, EveryIsaHasAKernelOfItsOwnForEveryDotType) {
  for (Isa isa : supported_isas()) {
    const KernelTable& table = *kernels_for(isa);
    EXPECT_EQ(table.isa, isa);
    for (T type : kDotTypes) {
      ASSERT_NE(table.vec_dot[idx(type)], nullptr) << type_name(type);
      EXPECT_EQ(table.vec_dot_isa[idx(type)], isa) << type_name(type) << " on " << isa_name(isa);
      EXPECT_NE(table.quantize_activation[idx(act_type(type))], nullptr) << type_name(type);
      // The tiled GEMM path: every type but the two Q8_1 pairs, and on AVX2 not IQ4_XS.
      const bool want_gemm =
          isa != Isa::kScalar && act_type(type) != T::kQ8_1 && !(isa == Isa::kAvx2 && type == T::kIQ4_XS);
      EXPECT_EQ(table.gemm[idx(type)] != nullptr, want_gemm) << type_name(type) << " on " << isa_name(isa);
    }
  }
}

// ---- kernels ----

class DotKernel : public ::testing::TestWithParam<T> {};

TEST_P(DotKernel, SimdEqualsScalarExactlyOnIntegerData) {
  const T type = GetParam();
  const VecDotFn reference = kernels_for(Isa::kScalar)->vec_dot[idx(type)];
  std::mt19937 rng(1234 + static_cast<int>(type));
  for (const int64_t n : lengths(type)) {
    for (int trial = 0; trial < 5; ++trial) {
      const Bytes w = random_weights(type, n, rng, Data::kInteger);
      const Bytes a = integer_activations(act_type(type), n, rng);
      const float expected = reference(n, w.data(), a.data());
      // Sanity: the data really is integer-valued, so the claim "exact" is meaningful.
      ASSERT_EQ(expected, std::round(expected)) << type_name(type) << " n=" << n;
      for (Isa isa : supported_isas()) {
        EXPECT_EQ(kernels_for(isa)->vec_dot[idx(type)](n, w.data(), a.data()), expected)
            << type_name(type) << " " << isa_name(isa) << " n=" << n << " trial " << trial;
      }
    }
  }
}

TEST_P(DotKernel, SimdMatchesScalarOnRandomData) {
  const T type = GetParam();
  std::mt19937 rng(99 + static_cast<int>(type));
  for (const int64_t n : lengths(type)) {
    for (int trial = 0; trial < 5; ++trial) {
      const Bytes w = random_weights(type, n, rng, Data::kRandom);
      const Bytes a = random_activations(type, n, rng);
      const std::vector<float> wf = dequantize(type, w, n), af = dequantize(act_type(type), a, n);
      double magnitude = 0;  // sum |w_i a_i|: the scale of f32 rounding in any summation order
      for (int64_t i = 0; i < n; ++i) magnitude += std::fabs(static_cast<double>(wf[i]) * af[i]);
      const float expected = kernels_for(Isa::kScalar)->vec_dot[idx(type)](n, w.data(), a.data());
      for (Isa isa : supported_isas()) {
        const float got = kernels_for(isa)->vec_dot[idx(type)](n, w.data(), a.data());
        EXPECT_NEAR(got, expected, 3e-6 * magnitude + 1e-30)
            << type_name(type) << " " << isa_name(isa) << " n=" << n << " trial " << trial;
      }
    }
  }
}

TEST_P(DotKernel, ScalarReferenceEqualsDotOfDequantizedRows) {
  const T type = GetParam();
  if (type_traits(type).dequantize == nullptr || type_traits(act_type(type)).dequantize == nullptr) {
    GTEST_SKIP() << "the type table has no dequantize for " << type_name(type);
  }
  std::mt19937 rng(7 + static_cast<int>(type));
  for (const int64_t n : lengths(type)) {
    for (int trial = 0; trial < 5; ++trial) {
      const Bytes w = random_weights(type, n, rng, Data::kRandom);
      const Bytes a = random_activations(type, n, rng);
      const std::vector<float> wf = dequantize(type, w, n), af = dequantize(act_type(type), a, n);
      double oracle = 0, magnitude = 0;
      for (int64_t i = 0; i < n; ++i) {
        oracle += static_cast<double>(wf[i]) * af[i];
        magnitude += std::fabs(static_cast<double>(wf[i]) * af[i]);
      }
      // Q8_1 stores s = f16(d * sum(q)) with d before its own f16 rounding, and the Q4_1 / Q5_1
      // dots use s for the min term (as ggml does): allow two f16 roundings (2 * 2^-11) of m * s.
      double slack = 0;
      if (act_type(type) == T::kQ8_1) {
        const auto* ab = reinterpret_cast<const BlockQ8_1*>(a.data());
        const size_t m_offset = type == T::kQ4_1 ? offsetof(BlockQ4_1, m) : offsetof(BlockQ5_1, m);
        for (int64_t i = 0; i < n / 32; ++i) {
          uint16_t m;
          std::memcpy(&m, w.data() + i * type_traits(type).bytes_per_block + m_offset, sizeof m);
          slack += std::fabs(f16_to_f32(m) * f16_to_f32(ab[i].s)) * 0x1p-10;
        }
      }
      const float got = kernels_for(Isa::kScalar)->vec_dot[idx(type)](n, w.data(), a.data());
      EXPECT_NEAR(got, oracle, 2e-6 * magnitude + slack + 1e-30) << type_name(type) << " n=" << n;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, DotKernel, ::testing::ValuesIn(kDotTypes),
                         [](const ::testing::TestParamInfo<T>& info) { return std::string(type_name(info.param)); });

// ---- activation quantizers ----

TEST(ActivationQuant, QuantsStayWithinPlusMinus127AndSumsMatch) {
  std::mt19937 rng(5);
  std::normal_distribution<float> value(0.0f, 3.0f);
  const int64_t n = 4096;
  std::vector<float> x(n);
  for (auto& v : x) v = value(rng);
  x[17] = -50.0f;  // a dominant negative value: the one a -128 mapping would produce
  x[300] = -1e-3f;
  const KernelTable& table = *kernels_for(Isa::kScalar);
  for (T act : {T::kQ8_0, T::kQ8_1, T::kQ8_K}) {
    Bytes out(bytes_of(act, n));
    table.quantize_activation[idx(act)](x.data(), out.data(), n);
    const std::vector<float> back = dequantize(act, out, n);
    for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(back[i], x[i], 0.5 * 50.0 / 127 * 1.01) << i;
    if (act == T::kQ8_K) {
      for (const auto& b : std::span(reinterpret_cast<const BlockQ8_K*>(out.data()), n / 256)) {
        for (int s = 0; s < 16; ++s) {
          int sum = 0;
          for (int j = 0; j < 16; ++j) {
            EXPECT_GE(b.qs[16 * s + j], -127);
            sum += b.qs[16 * s + j];
          }
          EXPECT_EQ(b.bsums[s], sum);
        }
      }
    } else {
      const size_t block_bytes = type_traits(act).bytes_per_block;
      const size_t qs_offset = act == T::kQ8_0 ? offsetof(BlockQ8_0, qs) : offsetof(BlockQ8_1, qs);
      for (int64_t i = 0; i < n / 32; ++i) {
        const auto* qs = reinterpret_cast<const int8_t*>(out.data() + i * block_bytes + qs_offset);
        for (int j = 0; j < 32; ++j) EXPECT_GE(qs[j], -127) << type_name(act);
      }
    }
  }
}

// ---- matmul ----

// On integer-valued data (unit scales) every path of matmul — GEMM tiles, multi-row dots, the
// plain loop — must reproduce the scalar reference bit for bit. k = 4096 with 70 tokens makes the
// GEMM drivers split the tokens into several L2-sized chunks.
TEST(Matmul, EqualsScalarReferenceExactlyOnIntegerData) {
  const int64_t rows = 5, k = 4096;
  std::mt19937 rng(21);
  for (T type : kDotTypes) {
    const Bytes w = random_weights(type, rows * k, rng, Data::kInteger);
    const size_t w_stride = bytes_of(type, k), a_stride = bytes_of(act_type(type), k);
    for (const int64_t n_tokens : {1, 2, 5, 8, 70}) {
      Bytes acts;
      for (int64_t t = 0; t < n_tokens; ++t) {
        const Bytes row = integer_activations(act_type(type), k, rng);
        acts.insert(acts.end(), row.begin(), row.end());
      }
      for (Isa isa : supported_isas()) {
        std::vector<float> out(n_tokens * rows);
        matmul(*kernels_for(isa), {type, w.data(), k, acts.data(), n_tokens, out.data(), rows}, 0, rows);
        for (int64_t t = 0; t < n_tokens; ++t) {
          for (int64_t r = 0; r < rows; ++r) {
            const float want =
                kernels_for(Isa::kScalar)->vec_dot[idx(type)](k, w.data() + r * w_stride, acts.data() + t * a_stride);
            ASSERT_EQ(out[t * rows + r], want)
                << type_name(type) << " " << isa_name(isa) << " tokens=" << n_tokens << " t=" << t << " r=" << r;
          }
        }
      }
    }
  }
}

// Covers the GEMM kernels (every token count on ISAs that have them), the multi-row dot kernels and
// the plain loop: row counts that are not multiples of the tile, token counts 1..9, and (for
// 32-element blocks) an odd number of blocks per row.
TEST(Matmul, WritesItsRowRangeAndAgreesWithOneRowDots) {
  const int64_t rows = 37, row_begin = 5, row_end = 30;
  std::mt19937 rng(11);
  for (T type : kDotTypes) {
    const int64_t block = type_traits(type).block_size;
    for (const int64_t k : {int64_t{512}, block == 256 ? int64_t{768} : block == 32 ? int64_t{224} : int64_t{100}}) {
      const Bytes w = random_weights(type, rows * k, rng, Data::kRandom);
      const std::vector<float> wf = dequantize(type, w, rows * k);
      for (const int64_t n_tokens : {1, 2, 3, 4, 5, 9}) {
        std::normal_distribution<float> value(0.0f, 1.0f);
        std::vector<float> x(n_tokens * k);
        for (auto& v : x) v = value(rng);
        for (Isa isa : supported_isas()) {
          const KernelTable& table = *kernels_for(isa);
          Bytes acts(bytes_of(act_type(type), k) * n_tokens);
          quantize_activations(table, type, x.data(), k, n_tokens, acts.data());
          const std::vector<float> af = dequantize(act_type(type), acts, n_tokens * k);
          const int64_t out_stride = rows + 3;
          std::vector<float> out(n_tokens * out_stride, -12345.0f);
          const MatmulArgs args{type, w.data(), k, acts.data(), n_tokens, out.data(), out_stride};
          // Odd-sized, misaligned caller scratch on alternate calls; matmul's own allocation otherwise.
          Bytes scratch(matmul_scratch_bytes(table, args) + 3);
          std::span<uint8_t> given = n_tokens % 2 ? std::span<uint8_t>(scratch).subspan(3) : std::span<uint8_t>();
          matmul(table, args, row_begin, row_end, given);
          const size_t w_stride = bytes_of(type, k), a_stride = bytes_of(act_type(type), k);
          for (int64_t t = 0; t < n_tokens; ++t) {
            for (int64_t r = 0; r < out_stride; ++r) {
              const float got = out[t * out_stride + r];
              if (r < row_begin || r >= row_end) {
                ASSERT_EQ(got, -12345.0f) << "row " << r << " outside the range was written";
                continue;
              }
              double magnitude = 0;
              for (int64_t i = 0; i < k; ++i) magnitude += std::fabs(double{wf[r * k + i]} * af[t * k + i]);
              const float want = table.vec_dot[idx(type)](k, w.data() + r * w_stride, acts.data() + t * a_stride);
              ASSERT_NEAR(got, want, 1e-5 * magnitude + 1e-30) << type_name(type) << " " << isa_name(isa) << " k=" << k
                                                               << " tokens=" << n_tokens << " t=" << t << " r=" << r;
            }
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace tessera::quant

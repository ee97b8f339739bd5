// Batch invariance of quant::matmul (dispatch.h): a token's outputs are bit for bit the same
// whether it is multiplied alone (the matrix-vector kernels of token generation) or inside a batch
// of any size (the GEMM tiles), and whatever rows a thread is given. The forward pass and the
// server rely on it (a request alone must equal the same request batched with others); closeness
// to the scalar reference is dot_kernels_test's job.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "quant/dispatch.h"
#include "quant/type_traits.h"

namespace tessera::quant {
namespace {

using T = TensorType;

// Weight types with a GEMM, and row lengths that leave partial 16-block groups (640 = 20 blocks of
// 32, Gemma 3 270M's width; 96 = 3 blocks) or several super-blocks.
const T kTypes[] = {T::kQ8_0, T::kQ4_0, T::kQ5_0, T::kIQ4_NL, T::kMXFP4, T::kQ4_K, T::kQ6_K,
                    T::kQ5_K, T::kQ3_K, T::kQ2_K, T::kIQ4_XS, T::kF16,   T::kF32};

std::vector<int64_t> row_lengths(T type) {
  if (type_traits(type).block_size == 256) return {256, 1280};
  return {96, 640, 1536};
}

std::vector<uint8_t> quantized(T type, const std::vector<float>& x) {
  std::vector<uint8_t> out(*row_bytes(type, x.size()));
  type_traits(type).quantize(x.data(), out.data(), static_cast<int64_t>(x.size()), nullptr);
  return out;
}

std::vector<float> gaussian(size_t n, std::mt19937& rng) {
  std::normal_distribution<float> value(0.0f, 1.0f);
  std::vector<float> x(n);
  for (auto& v : x) v = value(rng);
  return x;
}

TEST(MatmulBatchInvariance, EachTokenGetsTheSameBitsAloneAndInAnyBatch) {
  std::mt19937 rng(5);
  const int64_t rows = 11, n_tokens = 8;
  for (T type : kTypes) {
    ASSERT_NE(type_traits(type).quantize, nullptr) << type_name(type);
    for (const int64_t k : row_lengths(type)) {
      const std::vector<uint8_t> w = quantized(type, gaussian(rows * k, rng));
      const std::vector<float> x = gaussian(n_tokens * k, rng);
      for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
        const KernelTable* table = kernels_for(isa);
        if (table == nullptr) continue;
        const size_t a_stride = *row_bytes(type_traits(type).vec_dot_type, k);
        std::vector<uint8_t> acts(a_stride * n_tokens);
        quantize_activations(*table, type, x.data(), k, n_tokens, acts.data());
        // The whole batch, all rows at once.
        std::vector<float> batch(n_tokens * rows);
        matmul(*table, {type, w.data(), k, acts.data(), n_tokens, batch.data(), rows}, 0, rows);
        // Smaller batches (1, 2, 3 and 5 tokens) with the rows split as threads would split them.
        for (const int64_t size : {1, 2, 3, 5}) {
          for (int64_t t0 = 0; t0 < n_tokens; t0 += size) {
            const int64_t n = t0 + size <= n_tokens ? size : n_tokens - t0;
            std::vector<float> part(n * rows, -1.0f);
            const MatmulArgs args{type, w.data(), k, acts.data() + t0 * a_stride, n, part.data(), rows};
            matmul(*table, args, 0, 3, {});
            matmul(*table, args, 3, 7, {});
            matmul(*table, args, 7, rows, {});
            for (int64_t t = 0; t < n; ++t) {
              for (int64_t r = 0; r < rows; ++r) {
                const float a = part[t * rows + r], b = batch[(t0 + t) * rows + r];
                ASSERT_EQ(std::memcmp(&a, &b, sizeof a), 0)
                    << type_name(type) << " " << isa_name(isa) << " k=" << k << " batch of " << n << " token " << t0 + t
                    << " row " << r << ": " << a << " vs " << b;
              }
            }
          }
        }
      }
    }
  }
}

// The GEMM and matvec kernels compute the right numbers, not just the same ones: each output is
// the dot of the dequantized weight row and the dequantized activation row (summed in double, an
// oracle independent of every kernel) within f32 rounding of sum |w_i a_i|.
TEST(MatmulAccuracy, GemmAndMatvecEqualDotOfDequantizedRows) {
  std::mt19937 rng(11);
  const int64_t rows = 6, n_tokens = 7;
  for (T type : kTypes) {
    const T act = type_traits(type).vec_dot_type;
    if (type_traits(type).dequantize == nullptr || type_traits(act).dequantize == nullptr) continue;
    for (const int64_t k : row_lengths(type)) {
      const std::vector<uint8_t> w = quantized(type, gaussian(rows * k, rng));
      const std::vector<float> x = gaussian(n_tokens * k, rng);
      const size_t w_stride = *row_bytes(type, k), a_stride = *row_bytes(act, k);
      std::vector<float> wf(rows * k), af(n_tokens * k);
      for (int64_t r = 0; r < rows; ++r) type_traits(type).dequantize(w.data() + r * w_stride, wf.data() + r * k, k);
      for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
        const KernelTable* table = kernels_for(isa);
        if (table == nullptr) continue;
        std::vector<uint8_t> acts(a_stride * n_tokens);
        quantize_activations(*table, type, x.data(), k, n_tokens, acts.data());
        for (int64_t t = 0; t < n_tokens; ++t)
          type_traits(act).dequantize(acts.data() + t * a_stride, af.data() + t * k, k);
        for (const int64_t n : {n_tokens, int64_t{1}}) {  // the GEMM, then the single-token kernel
          std::vector<float> out(n * rows);
          matmul(*table, {type, w.data(), k, acts.data(), n, out.data(), rows}, 0, rows);
          for (int64_t t = 0; t < n; ++t) {
            for (int64_t r = 0; r < rows; ++r) {
              double oracle = 0, magnitude = 0;
              for (int64_t i = 0; i < k; ++i) {
                const double p = static_cast<double>(wf[r * k + i]) * af[t * k + i];
                oracle += p;
                magnitude += std::fabs(p);
              }
              EXPECT_NEAR(out[t * rows + r], oracle, 3e-6 * magnitude + 1e-30)
                  << type_name(type) << " " << isa_name(isa) << " k=" << k << " n=" << n << " token " << t << " row "
                  << r;
            }
          }
        }
      }
    }
  }
}

// Token generation streams the weights through dedicated matrix-vector kernels on AVX-512 for the
// types models are made of (the test above checks they agree with the GEMM bit for bit).
TEST(MatmulBatchInvariance, Avx512HasMatvecKernelsForTheCommonTypes) {
  const KernelTable* table = kernels_for(Isa::kAvx512);
  if (table == nullptr) GTEST_SKIP() << "this CPU has no AVX-512 VNNI";
  for (T type : {T::kQ8_0, T::kQ4_0, T::kQ5_0, T::kIQ4_NL, T::kMXFP4, T::kQ4_K, T::kQ6_K}) {
    EXPECT_NE(table->matvec[static_cast<size_t>(type)], nullptr) << type_name(type);
  }
}

}  // namespace
}  // namespace tessera::quant

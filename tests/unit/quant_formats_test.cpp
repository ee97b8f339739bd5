// Quantize / dequantize through the type table: coverage of the table, exact round trips of
// representable data, edge blocks (zeros, empty input), the Q8_K block sums, and the scale searches.
// Bit-exactness against gguf-py is checked by tests/e2e/test_quant_formats.py.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "quant/blocks.h"
#include "quant/quant_impl.h"
#include "quant/scale_search.h"
#include "quant/type_traits.h"

namespace tessera::quant {
namespace {

using T = TensorType;

constexpr T kDequantizeTypes[] = {T::kF32,   T::kF16,    T::kBF16,   T::kQ4_0,    T::kQ4_1,   T::kQ5_0,  T::kQ5_1,
                                  T::kQ8_0,  T::kQ8_1,   T::kQ2_K,   T::kQ3_K,    T::kQ4_K,   T::kQ5_K,  T::kQ6_K,
                                  T::kQ8_K,  T::kIQ1_S,  T::kIQ1_M,  T::kIQ2_XXS, T::kIQ2_XS, T::kIQ2_S, T::kIQ3_XXS,
                                  T::kIQ3_S, T::kIQ4_NL, T::kIQ4_XS, T::kTQ1_0,   T::kTQ2_0,  T::kMXFP4};
constexpr T kQuantizeTypes[] = {T::kF32,  T::kF16,    T::kBF16,   T::kQ4_0,  T::kQ4_1,  T::kQ5_0, T::kQ5_1,
                                T::kQ8_0, T::kQ8_1,   T::kQ2_K,   T::kQ3_K,  T::kQ4_K,  T::kQ5_K, T::kQ6_K,
                                T::kQ8_K, T::kIQ4_NL, T::kIQ4_XS, T::kTQ1_0, T::kTQ2_0, T::kMXFP4};

std::vector<float> round_trip(T type, const std::vector<float>& x, const float* importance = nullptr) {
  const TypeTraits& row = type_traits(type);
  std::vector<uint8_t> blocks(*row_bytes(type, x.size()));
  row.quantize(x.data(), blocks.data(), static_cast<int64_t>(x.size()), importance);
  std::vector<float> y(x.size());
  row.dequantize(blocks.data(), y.data(), static_cast<int64_t>(x.size()));
  return y;
}

std::vector<float> gaussian(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist;
  std::vector<float> x(n);
  for (float& v : x) v = dist(rng);
  return x;
}

TEST(QuantFormats, TableHasTheKernelsOfIssue3) {
  for (T type : kDequantizeTypes) EXPECT_NE(type_traits(type).dequantize, nullptr) << type_name(type);
  for (T type : kQuantizeTypes) EXPECT_NE(type_traits(type).quantize, nullptr) << type_name(type);
  EXPECT_EQ(type_traits(T::kIQ2_XXS).quantize, nullptr);  // needs the i-quant searches (not yet)
}

TEST(QuantFormats, ZerosStayZeroAndEmptyInputIsANoOp) {
  for (T type : kQuantizeTypes) {
    const std::vector<float> zeros(512, 0.0f);
    for (float v : round_trip(type, zeros)) ASSERT_EQ(v, 0.0f) << type_name(type);
    const TypeTraits& row = type_traits(type);
    row.quantize(nullptr, nullptr, 0, nullptr);
    row.dequantize(nullptr, nullptr, 0);
  }
}

TEST(QuantFormats, RepresentableDataRoundTripsExactly) {
  // Values on each format's own grid come back unchanged: the searches find the exact scale.
  std::mt19937 rng(3);
  std::vector<float> x(1024);
  for (float& v : x) v = static_cast<float>(static_cast<int>(rng() % 15) - 7) * 0.25f;
  x[0] = -2.0f;  // every block of 32 holds the extreme level, so the grid step is fixed at 0.25
  for (size_t i = 32; i < x.size(); i += 32) x[i] = -2.0f;
  for (T type : {T::kF16, T::kBF16, T::kQ4_0, T::kQ5_0}) {
    const std::vector<float> y = round_trip(type, x);
    for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(y[i], x[i]) << type_name(type) << " at " << i;
  }
  const float zero_importance[1024] = {};  // falls back to plain error, as without importance
  EXPECT_EQ(round_trip(T::kQ4_0, x, zero_importance), x);
  // IQ4_NL: half the codebook values.
  static constexpr int8_t kValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
  for (size_t i = 0; i < x.size(); ++i) x[i] = 0.5f * kValues[(i == 0 || rng() % 4 == 0) ? 0 : rng() % 16];
  for (size_t i = 0; i < x.size(); i += 32) x[i] = -63.5f;
  const std::vector<float> y = round_trip(T::kIQ4_NL, x);
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(y[i], x[i]) << "iq4_nl at " << i;
}

TEST(QuantFormats, ErrorShrinksWithMoreBits) {
  const std::vector<float> x = gaussian(4096, 11);
  auto rmse = [&](T type) {
    const std::vector<float> y = round_trip(type, x);
    double e = 0;
    for (size_t i = 0; i < x.size(); ++i) e += (x[i] - y[i]) * (x[i] - y[i]);
    return std::sqrt(e / static_cast<double>(x.size()));
  };
  EXPECT_LT(rmse(T::kQ3_K), rmse(T::kQ2_K));
  EXPECT_LT(rmse(T::kQ4_K), rmse(T::kQ3_K));
  EXPECT_LT(rmse(T::kQ5_K), rmse(T::kQ4_K));
  EXPECT_LT(rmse(T::kQ6_K), rmse(T::kQ5_K));
  EXPECT_LT(rmse(T::kQ8_0), rmse(T::kQ6_K));
  EXPECT_LT(rmse(T::kQ4_K), rmse(T::kQ4_0));  // the searched k-quant beats the reference rounding
  EXPECT_LT(rmse(T::kIQ4_NL), rmse(T::kQ4_0));
}

TEST(QuantFormats, ConstantBlocksKeepTheirValue) {
  // A constant row (norm-like weights) has no spread for a min/max scale to use.
  for (float value : {0.75f, -0.3f, 1e-4f}) {
    const std::vector<float> x(512, value);
    for (T type : kQuantizeTypes) {
      if (type == T::kQ8_K) continue;  // activations: exact to 1/127 only
      // MXFP4: a power-of-two scale times E2M1 values leaves gaps of up to a third of the value.
      const float tolerance = std::fabs(value) * (type == T::kMXFP4 ? 0.2f : 0.02f);
      for (float y : round_trip(type, x)) ASSERT_NEAR(y, value, tolerance) << type_name(type);
    }
  }
}

TEST(QuantFormats, Q8KBlockSumsAddUpTheQuants) {
  const std::vector<float> x = gaussian(512, 5);
  std::vector<BlockQ8_K> blocks(2);
  type_traits(T::kQ8_K).quantize(x.data(), blocks.data(), 512, nullptr);
  for (const BlockQ8_K& b : blocks) {
    for (int g = 0; g < 16; ++g) {
      int sum = 0;
      for (int j = 0; j < 16; ++j) sum += b.qs[16 * g + j];
      EXPECT_EQ(b.bsums[g], sum);
    }
  }
}

TEST(QuantFormats, ZeroImportanceBlockFallsBackToPlainError) {
  const std::vector<float> x = gaussian(256, 9);
  const std::vector<float> zero_importance(256, 0.0f);
  EXPECT_EQ(round_trip(T::kQ4_K, x, zero_importance.data()), round_trip(T::kQ4_K, x));
}

TEST(ScaleSearch, RecoversExactSymmetricAndAffineGrids) {
  float x[32], w[32];
  for (int i = 0; i < 32; ++i) x[i] = 0.5f * static_cast<float>(i % 8 - 4), w[i] = 1.0f;
  const SymmetricFit s = fit_symmetric(x, w, 32, -4, 3);
  EXPECT_FLOAT_EQ(std::fabs(s.scale), 0.5f);
  EXPECT_NEAR(s.error, 0.0f, 1e-6f);
  for (int i = 0; i < 32; ++i) x[i] = 0.25f * static_cast<float>(i % 16) - 1.0f;
  const AffineFit a = fit_affine(x, w, 32, 15, true);
  EXPECT_FLOAT_EQ(a.scale, 0.25f);
  EXPECT_FLOAT_EQ(a.offset, -1.0f);
  EXPECT_NEAR(a.error, 0.0f, 1e-6f);
}

TEST(ScaleSearch, RoundEvenMatchesNearbyint) {
  for (float v : {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.49f, 3.7f, -127.5f, 126.5f, 0.0f, -0.0f, 1e6f + 0.5f, -2097152.0f})
    EXPECT_EQ(detail::round_even(v), static_cast<int>(std::nearbyint(v))) << v;
  EXPECT_EQ(detail::round_even(1e9f), 2097152);  // capped, sign kept
  EXPECT_EQ(detail::round_even(-1e9f), -2097152);
}

TEST(ScaleSearch, NearestCode) {
  const int8_t values[4] = {-10, -1, 3, 20};
  EXPECT_EQ(nearest_code(values, 4, -100.0f), 0);
  EXPECT_EQ(nearest_code(values, 4, -5.0f), 1);
  EXPECT_EQ(nearest_code(values, 4, 1.5f), 2);
  EXPECT_EQ(nearest_code(values, 4, 11.0f), 2);
  EXPECT_EQ(nearest_code(values, 4, 12.0f), 3);
}

}  // namespace
}  // namespace tessera::quant

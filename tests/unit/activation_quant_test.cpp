// The SIMD activation quantizers of the kernel tables (quant/dispatch.h) equal the reference
// quantizers of the type table byte for byte (the reference is checked against gguf-py elsewhere),
// on every ISA this machine has, including the corner cases of the reference's choices.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "quant/dispatch.h"
#include "quant/type_traits.h"

namespace tessera::quant {
namespace {

using T = TensorType;

std::vector<std::vector<float>> inputs() {
  std::mt19937 rng(3);
  std::normal_distribution<float> value(0.0f, 2.0f);
  const size_t n = 1024;  // four Q8_K super-blocks
  std::vector<std::vector<float>> all;
  std::vector<float> x(n);
  for (auto& v : x) v = value(rng);
  all.push_back(x);
  // Largest magnitude twice with opposite signs: the first one's sign sets the scale.
  x[5] = 9.0f;
  x[200] = -9.0f;
  x[256 + 10] = -7.5f;
  x[256 + 11] = 7.5f;
  for (size_t i = 512; i < 768; ++i) x[i] = 0.0f;  // an all-zero super-block
  x[900] = 1e-30f;                                 // tiny values
  all.push_back(x);
  std::vector<float> steps(n);  // exact halves: rounding ties
  for (size_t i = 0; i < n; ++i) steps[i] = static_cast<float>(static_cast<int>(i % 255) - 127) * 0.5f;
  all.push_back(steps);
  return all;
}

TEST(ActivationQuantizers, EqualTheReferenceQuantizersByteForByte) {
  for (T act : {T::kQ8_0, T::kQ8_1, T::kQ8_K}) {
    const TypeTraits& traits = type_traits(act);
    ASSERT_NE(traits.quantize, nullptr) << type_name(act);
    for (const std::vector<float>& x : inputs()) {
      const auto n = static_cast<int64_t>(x.size());
      std::vector<uint8_t> want(*row_bytes(act, x.size()));
      traits.quantize(x.data(), want.data(), n, nullptr);
      for (int i = 0; i < static_cast<int>(Isa::kCount); ++i) {
        const KernelTable* table = kernels_for(static_cast<Isa>(i));
        if (table == nullptr) continue;
        std::vector<uint8_t> got(want.size(), 0xAB);
        table->quantize_activation[static_cast<size_t>(act)](x.data(), got.data(), n);
        EXPECT_EQ(got, want) << type_name(act) << " on " << isa_name(table->isa);
      }
    }
  }
}

}  // namespace
}  // namespace tessera::quant

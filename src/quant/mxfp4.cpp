// MXFP4 (OCP microscaling): blocks of 32 E2M1 values sharing one E8M0 exponent byte. Values are
// kept doubled (0, 1, 2, 3, 4, 6, 8, 12 and negatives) and the exponent decodes to half its power
// of two, as ggml does. Byte j holds element j (low nibble) and element j + 16 (high nibble).
// Without importance: ggml's reference (e from floor(log2(max |x|)), nearest value, first index on
// ties), bit-exact with gguf-py. With importance: the exponent is chosen among e-1, e, e+1 by
// weighted error.
#include <algorithm>
#include <bit>
#include <cmath>
#include <initializer_list>

#include "quant/blocks.h"
#include "quant/quant_impl.h"
#include "quant/scale_search.h"

namespace tessera::quant {
namespace {

constexpr int8_t kE2M1Doubled[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

// 2^(e - 128), i.e. half of the E8M0 value 2^(e - 127), exact for every byte including 0 and 1.
float e8m0_half(uint8_t e) {
  const uint32_t bits = e < 2 ? (0x00200000u << e) : (static_cast<uint32_t>(e - 1) << 23);
  return std::bit_cast<float>(bits);
}

// Index of the value nearest x / d over the 16 codes (first index on ties: +0 before -0).
int nearest_e2m1(float x, float d) {
  int best = 0;
  float best_err = std::fabs(d * static_cast<float>(kE2M1Doubled[0]) - x);
  for (int k = 1; k < 16; ++k) {
    const float err = std::fabs(d * static_cast<float>(kE2M1Doubled[k]) - x);
    if (err < best_err) best_err = err, best = k;
  }
  return best;
}

double block_error(const float* x, const float* w, float d) {
  double err = 0;
  for (int j = 0; j < 32; ++j) {
    const double diff = static_cast<double>(d * static_cast<float>(kE2M1Doubled[nearest_e2m1(x[j], d)])) - x[j];
    err += w[j] * diff * diff;
  }
  return err;
}

}  // namespace

void dequantize_mxfp4(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const BlockMXFP4*>(blocks);
  for (int64_t i = 0; i < n / kQK_MXFP4; ++i, out += kQK_MXFP4) {
    const float d = e8m0_half(b[i].e);
    for (int j = 0; j < 16; ++j) {
      out[j] = d * static_cast<float>(kE2M1Doubled[b[i].qs[j] & 15]);
      out[j + 16] = d * static_cast<float>(kE2M1Doubled[b[i].qs[j] >> 4]);
    }
  }
}

void quantize_mxfp4(const float* in, void* blocks, int64_t n, const float* importance) {
  auto* b = static_cast<BlockMXFP4*>(blocks);
  for (int64_t i = 0; i < n / kQK_MXFP4; ++i, in += kQK_MXFP4) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(in[j]));
    uint8_t e = amax > 0 ? static_cast<uint8_t>(static_cast<int>(std::floor(std::log2(amax))) - 2 + 127) : 0;
    if (importance && amax > 0) {
      float w[32];
      block_weights(importance + i * kQK_MXFP4, 32, w);
      const uint8_t e0 = e;
      double best = block_error(in, w, e8m0_half(e0));
      for (int cand : {e0 - 1, e0 + 1}) {
        if (cand < 0 || cand > 254) continue;
        const double err = block_error(in, w, e8m0_half(static_cast<uint8_t>(cand)));
        if (err < best) best = err, e = static_cast<uint8_t>(cand);
      }
    }
    b[i].e = e;
    const float d = e8m0_half(e);
    for (int j = 0; j < 16; ++j) {
      b[i].qs[j] = static_cast<uint8_t>(nearest_e2m1(in[j], d) | (nearest_e2m1(in[j + 16], d) << 4));
    }
  }
}

}  // namespace tessera::quant

// Ternary types (values -1, 0, +1 times one f16 scale per 256): TQ1_0 packs 5 ternary digits per
// byte (1.6875 bpw), TQ2_0 2 bits per value (2.0625 bpw). Layout facts (ggml's, as gguf-py):
//  - TQ2_0: byte 32*c + j holds q+1 of element 128*c + 32*s + j in bits 2s..2s+1.
//  - TQ1_0: qs[0..32): digits of elements 32*k + j (k = 0..4) for byte j; qs[32..48): elements
//    160 + 16*k + j; qh[0..4): elements 240 + 4*k + j (k = 0..3). A byte stores the base-3 number
//    with the first digit most significant, scaled to 0..255 as ceil(v * 256 / 243); digit k is
//    recovered as ((uint8)(byte * 3^k) * 3) >> 8.
// Without importance the quantizers are the reference (d = max |x|, round half away from zero),
// bit-exact with gguf-py; with importance, d is searched to minimise the weighted error.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/blocks.h"
#include "quant/float16.h"
#include "quant/quant_impl.h"
#include "quant/scale_search.h"

namespace tessera::quant {
namespace {

constexpr uint8_t kPow3[5] = {1, 3, 9, 27, 81};

// Ternary digits (0, 1, 2 = q + 1) of one super-block and its scale d.
float ternarize(const float* x, const float* importance, int* t) {
  float d;
  if (importance) {
    float w[kQK_K];
    block_weights(importance, kQK_K, w);
    d = stored_scale(fit_symmetric(x, w, kQK_K, -1, 1).scale);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int e = 0; e < kQK_K; ++e) t[e] = detail::clamp_int(detail::round_even(x[e] * id), -1, 1) + 1;
    return d;
  }
  float amax = 0;
  for (int e = 0; e < kQK_K; ++e) amax = std::max(amax, std::fabs(x[e]));
  d = amax;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (int e = 0; e < kQK_K; ++e) t[e] = detail::round_away(x[e] * id) + 1;
  return d;
}

uint8_t pack_digits(const int* digits, int count, int stride) {
  int v = 0;
  for (int k = 0; k < count; ++k) v = v * 3 + digits[k * stride];
  for (int k = count; k < 5; ++k) v *= 3;  // qh bytes hold 4 digits, scaled as if a 5th were 0
  return static_cast<uint8_t>((v * 256 + 242) / 243);
}

int digit_of(uint8_t byte, int k) {
  const uint8_t shifted = static_cast<uint8_t>(byte * kPow3[k]);
  return (static_cast<uint16_t>(shifted) * 3) >> 8;
}

}  // namespace

void dequantize_tq1_0(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const BlockTQ1_0*>(blocks);
  for (int64_t i = 0; i < n / kQK_K; ++i, out += kQK_K) {
    const float d = f16_to_f32(b[i].d);
    for (int k = 0; k < 5; ++k) {
      for (int j = 0; j < 32; ++j) out[32 * k + j] = d * static_cast<float>(digit_of(b[i].qs[j], k) - 1);
      for (int j = 0; j < 16; ++j) out[160 + 16 * k + j] = d * static_cast<float>(digit_of(b[i].qs[32 + j], k) - 1);
    }
    for (int k = 0; k < 4; ++k) {
      for (int j = 0; j < 4; ++j) out[240 + 4 * k + j] = d * static_cast<float>(digit_of(b[i].qh[j], k) - 1);
    }
  }
}

void quantize_tq1_0(const float* in, void* blocks, int64_t n, const float* importance) {
  auto* b = static_cast<BlockTQ1_0*>(blocks);
  int t[kQK_K];
  for (int64_t i = 0; i < n / kQK_K; ++i, in += kQK_K) {
    b[i].d = f32_to_f16(ternarize(in, importance ? importance + i * kQK_K : nullptr, t));
    for (int j = 0; j < 32; ++j) b[i].qs[j] = pack_digits(t + j, 5, 32);
    for (int j = 0; j < 16; ++j) b[i].qs[32 + j] = pack_digits(t + 160 + j, 5, 16);
    for (int j = 0; j < 4; ++j) b[i].qh[j] = pack_digits(t + 240 + j, 4, 4);
  }
}

void dequantize_tq2_0(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const BlockTQ2_0*>(blocks);
  for (int64_t i = 0; i < n / kQK_K; ++i, out += kQK_K) {
    const float d = f16_to_f32(b[i].d);
    for (int g = 0; g < 8; ++g) {  // elements 32g.. = 128c + 32s: bits 2s of bytes 32c + j
      const uint8_t* qs = b[i].qs + 32 * (g / 4);
      const int shift = 2 * (g % 4);
      for (int j = 0; j < 32; ++j) out[32 * g + j] = d * static_cast<float>(((qs[j] >> shift) & 3) - 1);
    }
  }
}

void quantize_tq2_0(const float* in, void* blocks, int64_t n, const float* importance) {
  auto* b = static_cast<BlockTQ2_0*>(blocks);
  int t[kQK_K];
  for (int64_t i = 0; i < n / kQK_K; ++i, in += kQK_K) {
    b[i].d = f32_to_f16(ternarize(in, importance ? importance + i * kQK_K : nullptr, t));
    std::memset(b[i].qs, 0, sizeof(b[i].qs));
    for (int e = 0; e < kQK_K; ++e) {
      b[i].qs[32 * (e / 128) + e % 32] |= static_cast<uint8_t>(t[e] << (2 * ((e % 128) / 32)));
    }
  }
}

}  // namespace tessera::quant

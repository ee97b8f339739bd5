// The original ggml block formats: blocks of 32 with one f16 scale (Q4_0, Q5_0, Q8_0) or a scale
// and a min (Q4_1, Q5_1, Q8_1's d and d*sum). Layout facts:
//  - 4-bit quants: byte j holds element j in its low nibble and element j+16 in its high nibble.
//  - 5-bit quants add qh: bit j of the little-endian u32 is the 5th bit of element j.
// Without importance the quantizers are ggml's reference rounding (bit-exact with gguf-py); with
// importance they search the scale (and min) that minimise the weighted squared error.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/blocks.h"
#include "quant/float16.h"
#include "quant/quant_impl.h"
#include "quant/scale_search.h"

namespace tessera::quant {
namespace {

using detail::clamp_int;
using detail::round_even;

// Quants 0..2^bits-1 of one block of 32, packed as the 4-bit nibbles (and the 5th bits).
void pack_nibbles(const int* q, uint8_t* qs) {
  for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>((q[j] & 0x0f) | ((q[j + 16] & 0x0f) << 4));
}
uint32_t pack_high_bits(const int* q) {
  uint32_t qh = 0;
  for (int j = 0; j < 32; ++j) qh |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
  return qh;
}
void unpack_nibbles(const uint8_t* qs, int* q) {
  for (int j = 0; j < 16; ++j) q[j] = qs[j] & 0x0f, q[j + 16] = qs[j] >> 4;
}

// The element with the largest magnitude, sign kept (the first one on ties, as ggml and numpy).
float signed_absmax(const float* x, int n) {
  float amax = 0, vmax = 0;
  for (int j = 0; j < n; ++j) {
    if (amax < std::fabs(x[j])) amax = std::fabs(x[j]), vmax = x[j];
  }
  return vmax;
}

// ggml's reference symmetric rounding: d = vmax / -half, q = trunc(x/d + half + 0.5) in [0, 2*half).
float reference_symmetric(const float* x, int half, int* q) {
  const float d = signed_absmax(x, 32) / static_cast<float>(-half);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  const float bias = static_cast<float>(half) + 0.5f;
  for (int j = 0; j < 32; ++j) q[j] = std::min(2 * half - 1, static_cast<int>(x[j] * id + bias));
  return d;
}

// Weighted search; returns d as stored (f16-rounded) with q re-rounded to it.
float weighted_symmetric(const float* x, const float* importance, int half, int* q) {
  float w[32];
  block_weights(importance, 32, w);
  const SymmetricFit fit = fit_symmetric(x, w, 32, -half, half - 1);
  const float d = stored_scale(fit.scale);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (int j = 0; j < 32; ++j) q[j] = clamp_int(round_even(x[j] * id), -half, half - 1) + half;
  return d;
}

// ggml's reference affine rounding: d = (max - min) / nmax, q = trunc((x - min)/d + 0.5).
void reference_affine(const float* x, int nmax, int* q, float& d, float& m) {
  float lo = x[0], hi = x[0];
  for (int j = 1; j < 32; ++j) lo = std::min(lo, x[j]), hi = std::max(hi, x[j]);
  d = (hi - lo) / static_cast<float>(nmax);
  m = lo;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (int j = 0; j < 32; ++j) q[j] = std::min(nmax, static_cast<int>((x[j] - lo) * id + 0.5f));
}

void weighted_affine(const float* x, const float* importance, int nmax, int* q, float& d, float& m) {
  float w[32];
  block_weights(importance, 32, w);
  const AffineFit fit = fit_affine(x, w, 32, nmax, false);
  d = stored_scale(fit.scale);
  m = f16_to_f32(f32_to_f16(fit.offset));
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (int j = 0; j < 32; ++j) q[j] = clamp_int(round_even((x[j] - m) * id), 0, nmax);
}

}  // namespace

// ---- Q4_0: y = d * (q - 8) ----
void dequantize_q4_0(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const BlockQ4_0*>(blocks);
  for (int64_t i = 0; i < n / kQK4_0; ++i, out += kQK4_0) {
    const float d = f16_to_f32(b[i].d);
    int q[32];
    unpack_nibbles(b[i].qs, q);
    for (int j = 0; j < 32; ++j) out[j] = d * static_cast<float>(q[j] - 8);
  }
}

void quantize_q4_0(const float* in, void* blocks, int64_t n, const float* importance) {
  auto* b = static_cast<BlockQ4_0*>(blocks);
  for (int64_t i = 0; i < n / kQK4_0; ++i, in += kQK4_0) {
    int q[32];
    const float d = importance ? weighted_symmetric(in, importance + i * kQK4_0, 8, q) : reference_symmetric(in, 8, q);
    b[i].d = f32_to_f16(d);
    pack_nibbles(q, b[i].qs);
  }
}

// ---- Q4_1: y = d * q + m ----
void dequantize_q4_1(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const BlockQ4_1*>(blocks);
  for (int64_t i = 0; i < n / kQK4_1; ++i, out += kQK4_1) {
    const float d = f16_to_f32(b[i].d), m = f16_to_f32(b[i].m);
    int q[32];
    unpack_nibbles(b[i].qs, q);
    for (int j = 0; j < 32; ++j) out[j] = d * static_cast<float>(q[j]) + m;
  }
}

void quantize_q4_1(const float* in, void* blocks, int64_t n, const float* importance) {
  auto* b = static_cast<BlockQ4_1*>(blocks);
  for (int64_t i = 0; i < n / kQK4_1; ++i, in += kQK4_1) {
    int q[32];
    float d, m;
    if (importance)
      weighted_affine(in, importance + i * kQK4_1, 15, q, d, m);
    else
      reference_affine(in, 15, q, d, m);
    b[i].d = f32_to_f16(d);
    b[i].m = f32_to_f16(m);
    pack_nibbles(q, b[i].qs);
  }
}

// ---- Q5_0: y = d * (q - 16) ----
void dequantize_q5_0(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const BlockQ5_0*>(blocks);
  for (int64_t i = 0; i < n / kQK5_0; ++i, out += kQK5_0) {
    const float d = f16_to_f32(b[i].d);
    const uint32_t qh = detail::load_u32(b[i].qh);
    int q[32];
    unpack_nibbles(b[i].qs, q);
    for (int j = 0; j < 32; ++j) out[j] = d * static_cast<float>(static_cast<int>(q[j] | ((qh >> j & 1) << 4)) - 16);
  }
}

void quantize_q5_0(const float* in, void* blocks, int64_t n, const float* importance) {
  auto* b = static_cast<BlockQ5_0*>(blocks);
  for (int64_t i = 0; i < n / kQK5_0; ++i, in += kQK5_0) {
    int q[32];
    const float d =
        importance ? weighted_symmetric(in, importance + i * kQK5_0, 16, q) : reference_symmetric(in, 16, q);
    b[i].d = f32_to_f16(d);
    const uint32_t qh = pack_high_bits(q);
    std::memcpy(b[i].qh, &qh, 4);
    pack_nibbles(q, b[i].qs);
  }
}

// ---- Q5_1: y = d * q + m ----
void dequantize_q5_1(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const BlockQ5_1*>(blocks);
  for (int64_t i = 0; i < n / kQK5_1; ++i, out += kQK5_1) {
    const float d = f16_to_f32(b[i].d), m = f16_to_f32(b[i].m);
    const uint32_t qh = detail::load_u32(b[i].qh);
    int q[32];
    unpack_nibbles(b[i].qs, q);
    for (int j = 0; j < 32; ++j) out[j] = d * static_cast<float>(q[j] | ((qh >> j & 1) << 4)) + m;
  }
}

void quantize_q5_1(const float* in, void* blocks, int64_t n, const float* importance) {
  auto* b = static_cast<BlockQ5_1*>(blocks);
  for (int64_t i = 0; i < n / kQK5_1; ++i, in += kQK5_1) {
    int q[32];
    float d, m;
    if (importance)
      weighted_affine(in, importance + i * kQK5_1, 31, q, d, m);
    else
      reference_affine(in, 31, q, d, m);
    b[i].d = f32_to_f16(d);
    b[i].m = f32_to_f16(m);
    const uint32_t qh = pack_high_bits(q);
    std::memcpy(b[i].qh, &qh, 4);
    pack_nibbles(q, b[i].qs);
  }
}

// ---- Q8_0: y = d * q, q in [-127, 127] ----
void dequantize_q8_0(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const BlockQ8_0*>(blocks);
  for (int64_t i = 0; i < n / kQK8_0; ++i, out += kQK8_0) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < 32; ++j) out[j] = static_cast<float>(b[i].qs[j]) * d;
  }
}

void quantize_q8_0(const float* in, void* blocks, int64_t n, const float* importance) {
  auto* b = static_cast<BlockQ8_0*>(blocks);
  for (int64_t i = 0; i < n / kQK8_0; ++i, in += kQK8_0) {
    if (importance) {
      float w[32];
      block_weights(importance + i * kQK8_0, 32, w);
      const float d = stored_scale(fit_symmetric(in, w, 32, -127, 127).scale);
      const float id = d != 0.0f ? 1.0f / d : 0.0f;
      b[i].d = f32_to_f16(d);
      for (int j = 0; j < 32; ++j) b[i].qs[j] = static_cast<int8_t>(clamp_int(round_even(in[j] * id), -127, 127));
      continue;
    }
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(in[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = f32_to_f16(d);
    for (int j = 0; j < 32; ++j) b[i].qs[j] = static_cast<int8_t>(detail::round_away(in[j] * id));
  }
}

// ---- Q8_1: activation format, y = d * q; s = d * sum(q) lets dot kernels fold Q4_1/Q5_1 mins ----
void dequantize_q8_1(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const BlockQ8_1*>(blocks);
  for (int64_t i = 0; i < n / kQK8_1; ++i, out += kQK8_1) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < 32; ++j) out[j] = static_cast<float>(b[i].qs[j]) * d;
  }
}

void quantize_q8_1(const float* in, void* blocks, int64_t n, const float* /*importance*/) {
  auto* b = static_cast<BlockQ8_1*>(blocks);
  for (int64_t i = 0; i < n / kQK8_1; ++i, in += kQK8_1) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(in[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    int sum = 0;
    for (int j = 0; j < 32; ++j) {
      b[i].qs[j] = static_cast<int8_t>(detail::round_away(in[j] * id));
      sum += b[i].qs[j];
    }
    b[i].d = f32_to_f16(d);
    b[i].s = f32_to_f16(static_cast<float>(sum) * d);
  }
}

}  // namespace tessera::quant

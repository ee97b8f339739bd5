// The k-quants: super-blocks of 256 elements split into sub-blocks of 16 or 32, each with a small
// integer scale (and min) multiplied by f16 super-block scales. Layout facts (ggml's, as gguf-py
// decodes them):
//  - Q2_K: 16 sub-blocks of 16; scales[i] = scale | min << 4; 2-bit quants, byte 32*h + j holds
//          element 128*h + 32*s + j in bits 2s..2s+1.  y = d*sc*q - dmin*m.
//  - Q3_K: 16 sub-blocks of 16; 6-bit signed scales (sc + 32) packed in 12 bytes (low nibbles in
//          bytes 0..7, high 2-bit pairs in bytes 8..11); low 2 bits like Q2_K, third bit of element
//          32*k + j in hmask[j] bit k.  y = d*(sc - 32)*(q - 4).
//  - Q4_K/Q5_K: 8 sub-blocks of 32; 6-bit scales and mins packed in 12 bytes; byte 32*c + j holds
//          element 64*c + j (low nibble) and 64*c + 32 + j (high); Q5_K's fifth bit of element
//          32*k + j is qh[j] bit k.  y = d*sc*q - dmin*m.
//  - Q6_K: 16 sub-blocks of 16 with int8 scales; ql byte 64*h + j holds element 128*h + j (low)
//          and 128*h + 64 + j (high); qh byte 32*h + j holds bits 4..5 of element 128*h + 32*s + j
//          in bits 2s..2s+1.  y = d*sc*(q - 32).
//  - Q8_K: activation format, f32 d, int8 quants, bsums of each 16.
// Quantization (ours, not ggml's algorithm): each sub-block gets the scale (and min) minimising the
// weighted squared error over a fan of candidate roundings (scale_search.h); the integer sub-block
// scales are then rounded against the super-block scale and each is re-tuned within +-1 step,
// re-rounding the quants, to the value with the least error after all rounding. Weights are the
// importance (imatrix) values, or 1 (plain RMSE) without them.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>

#include "quant/blocks.h"
#include "quant/float16.h"
#include "quant/quant_impl.h"
#include "quant/scale_search.h"

namespace tessera::quant {
namespace {

using detail::clamp_int;
using detail::round_even;

// Integer sub-block scale (and min) re-tuning radius after super-block rounding. The sub-block
// fits are already least-squares optimal, so +-1 keeps nearly all of the gain of wider radii at a
// fraction of the cost (each step re-rounds the sub-block).
constexpr int kTune = 1;
// Sub-block fit candidates per side (scale_search.h) without / with importance weights: weighted
// fits gain more from a wide fan (importance makes the error surface rougher), plain ones little.
struct SearchSteps {
  int plain, weighted;
  int operator()(const float* importance) const { return importance ? weighted : plain; }
};
// (Chosen per type against ggml's time and error with bench/quant_type_error.py.)
constexpr SearchSteps kQ2Steps{5, 12}, kQ45Steps{12, 12}, kQ3Steps{3, 8}, kQ6Steps{4, 6};

// An affine super-block (Q2_K, Q4_K, Q5_K): y = (d*sc[j]) * q - (dmin*mn[j]).
struct AffineBlock {
  float d = 0, dmin = 0;  // f16-representable
  int sc[16] = {}, mn[16] = {};
  int q[kQK_K] = {};  // [0, nmax]
};

// The weighted error of one sub-block (n = 16 or 32) at a fixed scale s and min off, its levels
// re-rounded. Float lanes, no stored levels: this is the hot loop of the k-quant searches, and only
// the winner's levels are kept (affine_levels).
template <int N>
float affine_sub_error(const float* x, const float* w, float nmax, float s, float off) {
  constexpr int n = N;
  const float inv = s > 0 ? 1.0f / s : 0.0f;
  float acc[8] = {};
  for (int i = 0; i < n; i += 8) {
    for (int k = 0; k < 8; ++k) {
      const float q = detail::round_level((x[i + k] + off) * inv, 0.0f, nmax);
      const float diff = s * q - off - x[i + k];
      acc[k] += w[i + k] * diff * diff;
    }
  }
  float err = 0;
  for (float a : acc) err += a;
  return err;
}

void affine_levels(const float* x, int n, int nmax, float s, float off, int* q) {
  const float inv = s > 0 ? 1.0f / s : 0.0f;
  for (int i = 0; i < n; ++i) q[i] = clamp_int(round_even((x[i] + off) * inv), 0, nmax);
}

// Super-block scale for integer scales in [0, scale_max] covering `max_value`, f16-rounded.
float super_scale(float max_value, int scale_max) {
  return stored_scale(max_value / static_cast<float>(scale_max));
}

// Rounds the sub-block scales and mins against (d, dmin), re-tuning each pair within +-kTune;
// returns the block's total weighted error (levels are filled in by the caller). (In
// these searches the first candidate is always taken, so non-finite input still fills every field
// deterministically.)
double round_affine_scales(const float* x, const float* w, const float* scale, const float* minv, int sub, int nmax,
                           int scale_max, float d, float dmin, AffineBlock& b) {
  b.d = d;
  b.dmin = dmin;
  double total = 0;
  const float fmax_level = static_cast<float>(nmax);
  for (int j = 0; j < kQK_K / sub; ++j) {
    const int sc0 = d > 0 ? clamp_int(round_even(scale[j] / d), 0, scale_max) : 0;
    const int mn0 = dmin > 0 ? clamp_int(round_even(minv[j] / dmin), 0, scale_max) : 0;
    const int sc_first = std::max(0, sc0 - kTune), mn_first = std::max(0, mn0 - kTune);
    float best = INFINITY;
    for (int sc = sc_first; sc <= std::min(scale_max, sc0 + kTune); ++sc) {
      for (int mn = mn_first; mn <= std::min(scale_max, mn0 + kTune); ++mn) {
        const float s = d * static_cast<float>(sc), off = dmin * static_cast<float>(mn);
        const float err = sub == 16 ? affine_sub_error<16>(x + j * sub, w + j * sub, fmax_level, s, off)
                                    : affine_sub_error<32>(x + j * sub, w + j * sub, fmax_level, s, off);
        if (err < best || (sc == sc_first && mn == mn_first)) best = err, b.sc[j] = sc, b.mn[j] = mn;
      }
    }
    total += best;
  }
  return total;
}

void quantize_affine_block(const float* x, const float* w, int sub, int nmax, int scale_max, int steps,
                           AffineBlock& b) {
  const int nsub = kQK_K / sub;
  float scale[16], minv[16];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < nsub; ++j) {
    const AffineFit fit = fit_affine(x + j * sub, w + j * sub, sub, nmax, true, steps);
    scale[j] = fit.scale;
    minv[j] = -fit.offset;
    max_scale = std::max(max_scale, scale[j]);
    max_min = std::max(max_min, minv[j]);
  }
  // The super-block scales put the largest sub-block scale (min) on the top integer. (Trying a few
  // stretched super-block scales as well gained ~0.3% RMSE for 3x the re-tuning work.)
  round_affine_scales(x, w, scale, minv, sub, nmax, scale_max, super_scale(max_scale, scale_max),
                      super_scale(max_min, scale_max), b);
  for (int j = 0; j < nsub; ++j) {
    const float s = b.d * static_cast<float>(b.sc[j]), off = b.dmin * static_cast<float>(b.mn[j]);
    affine_levels(x + j * sub, sub, nmax, s, off, b.q + j * sub);
  }
}

// A symmetric super-block (Q3_K, Q6_K): y = (d*sc[j]) * q, q in [lo, hi], sc in [scale_lo, scale_hi].
struct SymmetricBlock {
  float d = 0;
  int sc[16] = {};
  int q[kQK_K] = {};
};

// As affine_sub_error, for one symmetric sub-block of 16.
float symmetric_sub_error(const float* x, const float* w, float lo, float hi, float s) {
  const float inv = s != 0 ? 1.0f / s : 0.0f;
  float acc[8] = {};
  for (int i = 0; i < 16; i += 8) {
    for (int k = 0; k < 8; ++k) {
      const float q = detail::round_level(x[i + k] * inv, lo, hi);
      const float diff = s * q - x[i + k];
      acc[k] += w[i + k] * diff * diff;
    }
  }
  float err = 0;
  for (float a : acc) err += a;
  return err;
}

// Rounds the sub-block scales against super-block scale d, re-tuning each; returns total error
// (levels are filled in by the caller).
double round_symmetric_scales(const float* x, const float* w, const float* scale, int lo, int hi, int scale_lo,
                              int scale_hi, float d, SymmetricBlock& b) {
  double total = 0;
  const float flo = static_cast<float>(lo), fhi = static_cast<float>(hi);
  for (int j = 0; j < 16; ++j) {
    const int sc0 = d != 0 ? clamp_int(round_even(scale[j] / d), scale_lo, scale_hi) : 0;
    const int sc_first = std::max(scale_lo, sc0 - kTune);
    float best = INFINITY;
    for (int sc = sc_first; sc <= std::min(scale_hi, sc0 + kTune); ++sc) {
      const float err = symmetric_sub_error(x + 16 * j, w + 16 * j, flo, fhi, d * static_cast<float>(sc));
      if (err < best || sc == sc_first) best = err, b.sc[j] = sc;  // first always taken (NaN-safe)
    }
    total += best;
  }
  b.d = d;
  return total;
}

void quantize_symmetric_block(const float* x, const float* w, int lo, int hi, int scale_lo, int scale_hi, int steps,
                              SymmetricBlock& b) {
  float scale[16];
  float smax = 0;
  for (int j = 0; j < 16; ++j) {
    scale[j] = fit_symmetric(x + 16 * j, w + 16 * j, 16, lo, hi, steps).scale;
    if (std::fabs(scale[j]) > std::fabs(smax)) smax = scale[j];
  }
  // The largest sub-block scale goes to the end of the scale range of its sign. (The other end, and
  // stretched super-block scales, gained ~1% RMSE for 6x the re-tuning work.)
  const float d = stored_scale(smax / static_cast<float>(smax < 0 ? scale_lo : scale_hi));
  round_symmetric_scales(x, w, scale, lo, hi, scale_lo, scale_hi, d, b);
  for (int j = 0; j < 16; ++j) {
    const float s = b.d * static_cast<float>(b.sc[j]), inv = s != 0 ? 1.0f / s : 0.0f;
    for (int i = 16 * j; i < 16 * j + 16; ++i) b.q[i] = clamp_int(round_even(x[i] * inv), lo, hi);
  }
}

// 6-bit scales and mins of Q4_K / Q5_K (8 of each) into 12 bytes, and back.
void pack_k_scales(const int* sc, const int* mn, uint8_t* out) {
  for (int j = 0; j < 4; ++j) {
    out[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
    out[j + 4] = static_cast<uint8_t>((mn[j] & 63) | ((mn[j + 4] >> 4) << 6));
    out[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4));
  }
}
void unpack_k_scales(const uint8_t* in, int* sc, int* mn) {
  for (int j = 0; j < 4; ++j) {
    sc[j] = in[j] & 63;
    mn[j] = in[j + 4] & 63;
    sc[j + 4] = (in[j + 8] & 15) | ((in[j] >> 6) << 4);
    mn[j + 4] = (in[j + 8] >> 4) | ((in[j + 4] >> 6) << 4);
  }
}

// 16 6-bit values (already offset to [0, 63]) of Q3_K into 12 bytes, and back.
void pack_q3_scales(const int* s6, uint8_t* out) {
  std::memset(out, 0, 12);
  for (int i = 0; i < 16; ++i) {
    out[i % 8] |= static_cast<uint8_t>((s6[i] & 15) << (i < 8 ? 0 : 4));
    out[8 + i % 4] |= static_cast<uint8_t>((s6[i] >> 4) << (2 * (i / 4)));
  }
}
void unpack_q3_scales(const uint8_t* in, int* s6) {
  for (int i = 0; i < 16; ++i) {
    const int low = (in[i % 8] >> (i < 8 ? 0 : 4)) & 15;
    s6[i] = low | (((in[8 + i % 4] >> (2 * (i / 4))) & 3) << 4);
  }
}

// 2-bit fields: byte 32*h + j, bits 2s, element 128*h + 32*s + j (Q2_K quants, Q3_K low bits).
void pack_2bit(const int* q, uint8_t* qs) {
  for (int h = 0; h < 2; ++h) {
    for (int j = 0; j < 32; ++j) {
      int byte = 0;
      for (int s = 0; s < 4; ++s) byte |= (q[128 * h + 32 * s + j] & 3) << (2 * s);
      qs[32 * h + j] = static_cast<uint8_t>(byte);
    }
  }
}

// Nibbles of Q4_K / Q5_K: byte 32*c + j holds element 64*c + j (low) and 64*c + 32 + j (high).
void pack_k_nibbles(const int* q, uint8_t* qs) {
  for (int c = 0; c < 4; ++c) {
    for (int j = 0; j < 32; ++j) {
      qs[32 * c + j] = static_cast<uint8_t>((q[64 * c + j] & 15) | ((q[64 * c + 32 + j] & 15) << 4));
    }
  }
}

// The quantize_* entry points differ only in the block search's parameters and how a fitted block
// is stored: each super-block gets its weights (importance or 1), is fitted, then packed.
template <class Block, class Store>
void quantize_affine_rows(const float* in, void* blocks, int64_t n, const float* importance, int sub, int nmax,
                          int scale_max, SearchSteps steps, Store store) {
  auto* b = static_cast<Block*>(blocks);
  float w[kQK_K];
  AffineBlock ab;
  for (int64_t i = 0; i < n / kQK_K; ++i, in += kQK_K) {
    block_weights(importance ? importance + i * kQK_K : nullptr, kQK_K, w);
    quantize_affine_block(in, w, sub, nmax, scale_max, steps(importance), ab);
    b[i].d = f32_to_f16(ab.d);
    b[i].dmin = f32_to_f16(ab.dmin);
    store(ab, b[i]);
  }
}

template <class Block, class Store>
void quantize_symmetric_rows(const float* in, void* blocks, int64_t n, const float* importance, int lo, int hi,
                             int scale_lo, int scale_hi, SearchSteps steps, Store store) {
  auto* b = static_cast<Block*>(blocks);
  float w[kQK_K];
  SymmetricBlock sb;
  for (int64_t i = 0; i < n / kQK_K; ++i, in += kQK_K) {
    block_weights(importance ? importance + i * kQK_K : nullptr, kQK_K, w);
    quantize_symmetric_block(in, w, lo, hi, scale_lo, scale_hi, steps(importance), sb);
    b[i].d = f32_to_f16(sb.d);
    store(sb, b[i]);
  }
}

// Q4_K / Q5_K: sub-block g takes nibble g % 2 of bytes 32 * (g / 2) + j; Q5_K adds qh[j] bit g as
// the fifth bit.
template <bool kFiveBit, class Block>
void dequantize_q4_5_k(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const Block*>(blocks);
  for (int64_t i = 0; i < n / kQK_K; ++i, out += kQK_K) {
    const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
    int sc[8], mn[8];
    unpack_k_scales(b[i].scales, sc, mn);
    for (int g = 0; g < 8; ++g) {
      const float dl = d * static_cast<float>(sc[g]), ml = dmin * static_cast<float>(mn[g]);
      const uint8_t* qs = b[i].qs + 32 * (g / 2);
      const int shift = 4 * (g % 2);
      for (int j = 0; j < 32; ++j) {
        int q = (qs[j] >> shift) & 15;
        if constexpr (kFiveBit) q |= ((b[i].qh[j] >> g) & 1) << 4;
        out[32 * g + j] = dl * static_cast<float>(q) - ml;
      }
    }
  }
}

}  // namespace

// ---- Q2_K ----
void dequantize_q2_k(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const BlockQ2_K*>(blocks);
  for (int64_t i = 0; i < n / kQK_K; ++i, out += kQK_K) {
    const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
    for (int g = 0; g < 16; ++g) {  // sub-block g: elements 16g.., bits 2s of bytes 32h + j
      const uint8_t sm = b[i].scales[g];
      const float dl = d * static_cast<float>(sm & 15), ml = dmin * static_cast<float>(sm >> 4);
      const int h = g / 8, shift = 2 * ((g % 8) / 2), j0 = 16 * (g % 2);
      const uint8_t* qs = b[i].qs + 32 * h + j0;
      for (int j = 0; j < 16; ++j) out[16 * g + j] = dl * static_cast<float>((qs[j] >> shift) & 3) - ml;
    }
  }
}

void quantize_q2_k(const float* in, void* blocks, int64_t n, const float* importance) {
  quantize_affine_rows<BlockQ2_K>(in, blocks, n, importance, 16, 3, 15, kQ2Steps, [](const AffineBlock& ab, BlockQ2_K& b) {
    for (int j = 0; j < 16; ++j) b.scales[j] = static_cast<uint8_t>(ab.sc[j] | (ab.mn[j] << 4));
    pack_2bit(ab.q, b.qs);
  });
}

// ---- Q3_K ----
void dequantize_q3_k(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const BlockQ3_K*>(blocks);
  for (int64_t i = 0; i < n / kQK_K; ++i, out += kQK_K) {
    const float d = f16_to_f32(b[i].d);
    int s6[16];
    unpack_q3_scales(b[i].scales, s6);
    for (int g = 0; g < 16; ++g) {  // as Q2_K, plus hmask[j] bit (g / 2) for the third bit
      const float dl = d * static_cast<float>(s6[g] - 32);
      const int h = g / 8, shift = 2 * ((g % 8) / 2), j0 = 16 * (g % 2), bit = g / 2;
      const uint8_t* qs = b[i].qs + 32 * h + j0;
      const uint8_t* hm = b[i].hmask + j0;
      for (int j = 0; j < 16; ++j) {
        const int q = ((qs[j] >> shift) & 3) - (((hm[j] >> bit) & 1) ? 0 : 4);
        out[16 * g + j] = dl * static_cast<float>(q);
      }
    }
  }
}

void quantize_q3_k(const float* in, void* blocks, int64_t n, const float* importance) {
  const auto store = [](const SymmetricBlock& sb, BlockQ3_K& b) {
    int s6[16], stored[kQK_K];
    for (int j = 0; j < 16; ++j) s6[j] = sb.sc[j] + 32;
    pack_q3_scales(s6, b.scales);
    for (int e = 0; e < kQK_K; ++e) stored[e] = sb.q[e] + 4;  // [0, 7]
    pack_2bit(stored, b.qs);
    std::memset(b.hmask, 0, sizeof(b.hmask));
    for (int e = 0; e < kQK_K; ++e) b.hmask[e % 32] |= static_cast<uint8_t>((stored[e] >> 2) << (e / 32));
  };
  quantize_symmetric_rows<BlockQ3_K>(in, blocks, n, importance, -4, 3, -32, 31, kQ3Steps, store);
}

// ---- Q4_K / Q5_K ----
void dequantize_q4_k(const void* blocks, float* out, int64_t n) {
  dequantize_q4_5_k<false, BlockQ4_K>(blocks, out, n);
}

void quantize_q4_k(const float* in, void* blocks, int64_t n, const float* importance) {
  quantize_affine_rows<BlockQ4_K>(in, blocks, n, importance, 32, 15, 63, kQ45Steps, [](const AffineBlock& ab, BlockQ4_K& b) {
    pack_k_scales(ab.sc, ab.mn, b.scales);
    pack_k_nibbles(ab.q, b.qs);
  });
}

void dequantize_q5_k(const void* blocks, float* out, int64_t n) {
  dequantize_q4_5_k<true, BlockQ5_K>(blocks, out, n);
}

void quantize_q5_k(const float* in, void* blocks, int64_t n, const float* importance) {
  quantize_affine_rows<BlockQ5_K>(in, blocks, n, importance, 32, 31, 63, kQ45Steps, [](const AffineBlock& ab, BlockQ5_K& b) {
    pack_k_scales(ab.sc, ab.mn, b.scales);
    pack_k_nibbles(ab.q, b.qs);
    std::memset(b.qh, 0, sizeof(b.qh));
    for (int e = 0; e < kQK_K; ++e) b.qh[e % 32] |= static_cast<uint8_t>((ab.q[e] >> 4) << (e / 32));
  });
}

// ---- Q6_K ----
void dequantize_q6_k(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const BlockQ6_K*>(blocks);
  for (int64_t i = 0; i < n / kQK_K; ++i, out += kQK_K) {
    const float d = f16_to_f32(b[i].d);
    for (int g = 0; g < 16; ++g) {  // elements 16g..16g+15 = 128h + r, r = 16 * (g % 8) + j
      const float dl = d * static_cast<float>(b[i].scales[g]);
      const int h = g / 8, r0 = 16 * (g % 8);
      const uint8_t* ql = b[i].ql + 64 * h + r0 % 64;
      const uint8_t* qh = b[i].qh + 32 * h + r0 % 32;
      const int low_shift = 4 * (r0 / 64), high_shift = 2 * (r0 / 32);
      for (int j = 0; j < 16; ++j) {
        const int q = ((ql[j] >> low_shift) & 15) | (((qh[j] >> high_shift) & 3) << 4);
        out[16 * g + j] = dl * static_cast<float>(q - 32);
      }
    }
  }
}

void quantize_q6_k(const float* in, void* blocks, int64_t n, const float* importance) {
  const auto store = [](const SymmetricBlock& sb, BlockQ6_K& b) {
    for (int j = 0; j < 16; ++j) b.scales[j] = static_cast<int8_t>(sb.sc[j]);
    std::memset(b.ql, 0, sizeof(b.ql));
    std::memset(b.qh, 0, sizeof(b.qh));
    for (int e = 0; e < kQK_K; ++e) {
      const int q = sb.q[e] + 32, h = e / 128, r = e % 128;
      b.ql[64 * h + r % 64] |= static_cast<uint8_t>((q & 15) << (4 * (r / 64)));
      b.qh[32 * h + r % 32] |= static_cast<uint8_t>((q >> 4) << (2 * (r / 32)));
    }
  };
  quantize_symmetric_rows<BlockQ6_K>(in, blocks, n, importance, -32, 31, -128, 127, kQ6Steps, store);
}

// ---- Q8_K: activations for the k-quant dot kernels. The element of largest magnitude maps to
// -127, so every quant fits in [-127, 127]; bsums pre-add each 16 for the min terms. ----
void dequantize_q8_k(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const BlockQ8_K*>(blocks);
  for (int64_t i = 0; i < n / kQK_K; ++i, out += kQK_K) {
    for (int e = 0; e < kQK_K; ++e) out[e] = b[i].d * static_cast<float>(b[i].qs[e]);
  }
}

void quantize_q8_k(const float* in, void* blocks, int64_t n, const float* /*importance*/) {
  auto* b = static_cast<BlockQ8_K*>(blocks);
  for (int64_t i = 0; i < n / kQK_K; ++i, in += kQK_K) {
    float amax = 0, vmax = 0;
    for (int e = 0; e < kQK_K; ++e) {
      if (std::fabs(in[e]) > amax) amax = std::fabs(in[e]), vmax = in[e];
    }
    std::memset(b[i].bsums, 0, sizeof(b[i].bsums));
    if (amax == 0) {
      b[i].d = 0;
      std::memset(b[i].qs, 0, sizeof(b[i].qs));
      continue;
    }
    const float iscale = -127.0f / vmax;
    for (int e = 0; e < kQK_K; ++e) {
      b[i].qs[e] = static_cast<int8_t>(std::min(127, round_even(iscale * in[e])));
      b[i].bsums[e / 16] = static_cast<int16_t>(b[i].bsums[e / 16] + b[i].qs[e]);
    }
    b[i].d = 1.0f / iscale;
  }
}

}  // namespace tessera::quant

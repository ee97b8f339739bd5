// The i-quants: values come from codebooks ("grids", iq_grids.h) of 4 or 8 magnitudes per index,
// with signs stored separately, and from the non-linear 16-value table of IQ4_NL / IQ4_XS.
// Layout facts (ggml's, as gguf-py decodes them), per super-block of 256 unless noted:
//  - IQ2_XXS: 8 groups of 32, each two u32: aux0 = four grid bytes (8 values each), aux1 = four
//             7-bit sign indices (bits 0..27) and a 4-bit scale (bits 28..31);
//             y = d*(0.5 + s)*0.25 * grid * sign.
//  - IQ2_XS:  32 u16: grid index (9 bits) | sign index << 9; 4-bit scale per 16 values.
//  - IQ2_S:   grid index = qs[g] | 2 bits of qh << 8 (10 bits); explicit sign bytes; 4-bit scales.
//  - IQ3_XXS: 64 grid bytes (4 values each), then 8 u32 of four 7-bit sign indices + 4-bit scale;
//             y = d*(0.5 + s)*0.5 * grid * sign.
//  - IQ3_S:   grid index = qs[k] | qh bit << 8 (9 bits); explicit sign bits; y = d*(1 + 2s)*grid*sign.
//  - IQ1_S:   per 32: u16 qh = 3 high index bits x4 | 3-bit scale << 12 | delta sign << 15;
//             y = d*(2s + 1) * (grid + delta), delta = +-1/8, grid in {-1, 0, 1}.
//  - IQ1_M:   per 16: 3-bit scales; per 8: index high bits and delta sign in a nibble of qh; the
//             f16 d is spread over the top nibbles of the four u16 scale words.
//  - IQ4_NL (blocks of 32) / IQ4_XS: 4-bit indices into kIq4Values, laid out like Q4_0; IQ4_XS has
//             6-bit signed sub-block scales (low 4 bits in scales_l, high 2 in scales_h).
// A 7-bit sign index names 8 signs: bits 0..6 are the first seven and the eighth makes the count
// of negatives even (ggml's ksigns table, computed here instead of stored).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "quant/blocks.h"
#include "quant/float16.h"
#include "quant/iq_grids.h"
#include "quant/quant_impl.h"
#include "quant/scale_search.h"

namespace tessera::quant {
namespace {

using detail::clamp_int;
using detail::load_u16;
using detail::load_u32;

constexpr int8_t kIq4Values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
constexpr Codebook kIq4Book(kIq4Values, 16);

// The 8 signs of a 7-bit sign index, as a bit mask (bit i set = value i negative).
inline uint8_t signs_from_index(uint32_t index7) {
  const uint32_t parity = std::popcount(index7 & 127u) & 1u;
  return static_cast<uint8_t>((index7 & 127u) | (parity << 7));
}

inline float grid_value(uint64_t row, int i) {
  return static_cast<float>((row >> (8 * i)) & 0xff);
}
inline float signed_grid_value(uint64_t row, int i) {
  return static_cast<float>(static_cast<int8_t>((row >> (8 * i)) & 0xff));
}

// out[0..8) = db * grid[i] * (+-1): the product order gguf-py uses, so results are bit-exact.
inline void emit8(float db, uint64_t row, uint8_t signs, float* out) {
  for (int i = 0; i < 8; ++i) out[i] = db * grid_value(row, i) * ((signs >> i & 1) ? -1.0f : 1.0f);
}

}  // namespace

void dequantize_iq2_xxs(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const BlockIQ2_XXS*>(blocks);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = f16_to_f32(b[i].d);
    const auto* qs = reinterpret_cast<const uint8_t*>(b[i].qs);
    for (int g = 0; g < 8; ++g) {
      const uint8_t* grid_bytes = qs + 8 * g;
      const uint32_t aux1 = load_u32(qs + 8 * g + 4);
      const float db = d * (0.5f + static_cast<float>(aux1 >> 28)) * 0.25f;
      for (int l = 0; l < 4; ++l, out += 8) {
        emit8(db, kIq2xxsGrid[grid_bytes[l]], signs_from_index(aux1 >> (7 * l)), out);
      }
    }
  }
}

void dequantize_iq2_xs(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const BlockIQ2_XS*>(blocks);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = f16_to_f32(b[i].d);
    const auto* qs = reinterpret_cast<const uint8_t*>(b[i].qs);
    for (int g = 0; g < 32; ++g, out += 8) {
      const int s = (b[i].scales[g / 4] >> (4 * ((g / 2) % 2))) & 15;
      const float db = d * (0.5f + static_cast<float>(s)) * 0.25f;
      const uint16_t q = load_u16(qs + 2 * g);
      emit8(db, kIq2xsGrid[q & 511], signs_from_index(q >> 9), out);
    }
  }
}

void dequantize_iq2_s(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const BlockIQ2_S*>(blocks);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = f16_to_f32(b[i].d);
    const uint8_t* grid_low = b[i].qs;    // [32]
    const uint8_t* signs = b[i].qs + 32;  // [32], one byte per 8 values
    for (int g = 0; g < 32; ++g, out += 8) {
      const int s = (b[i].scales[g / 4] >> (4 * ((g / 2) % 2))) & 15;
      const float db = d * (0.5f + static_cast<float>(s)) * 0.25f;
      const int index = grid_low[g] | (((b[i].qh[g / 4] >> (2 * (g % 4))) & 3) << 8);
      emit8(db, kIq2sGrid[index], signs[g], out);
    }
  }
}

void dequantize_iq3_xxs(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const BlockIQ3_XXS*>(blocks);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = f16_to_f32(b[i].d);
    const uint8_t* grid_bytes = b[i].qs;  // [64], 4 values each
    for (int g = 0; g < 8; ++g) {
      const uint32_t aux = load_u32(b[i].qs + 64 + 4 * g);
      const float db = d * (0.5f + static_cast<float>(aux >> 28)) * 0.5f;
      for (int l = 0; l < 4; ++l, out += 8) {
        const uint8_t signs = signs_from_index(aux >> (7 * l));
        const uint64_t row = kIq3xxsGrid[grid_bytes[8 * g + 2 * l]] |
                             (static_cast<uint64_t>(kIq3xxsGrid[grid_bytes[8 * g + 2 * l + 1]]) << 32);
        emit8(db, row, signs, out);
      }
    }
  }
}

void dequantize_iq3_s(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const BlockIQ3_S*>(blocks);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = f16_to_f32(b[i].d);
    for (int g = 0; g < 32; ++g, out += 8) {  // 8 values = two grid rows of 4
      const int s = (b[i].scales[g / 8] >> (4 * ((g / 4) % 2))) & 15;
      const float db = d * static_cast<float>(1 + 2 * s);
      uint64_t row = 0;
      for (int h = 0; h < 2; ++h) {
        const int k = 2 * g + h;
        const int index = b[i].qs[k] | (((b[i].qh[k / 8] >> (k % 8)) & 1) << 8);
        row |= static_cast<uint64_t>(kIq3sGrid[index]) << (32 * h);
      }
      emit8(db, row, b[i].signs[g], out);
    }
  }
}

void dequantize_iq1_s(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const BlockIQ1_S*>(blocks);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = f16_to_f32(b[i].d);
    for (int g = 0; g < 8; ++g) {
      const uint16_t qh = load_u16(reinterpret_cast<const uint8_t*>(b[i].qh) + 2 * g);
      const float dl = d * static_cast<float>(2 * ((qh >> 12) & 7) + 1);
      const float delta = (qh & 0x8000) ? -0.125f : 0.125f;
      for (int l = 0; l < 4; ++l, out += 8) {
        const uint64_t row = kIq1sGrid[b[i].qs[4 * g + l] | (((qh >> (3 * l)) & 7) << 8)];
        for (int v = 0; v < 8; ++v) out[v] = dl * (signed_grid_value(row, v) + delta);
      }
    }
  }
}

void dequantize_iq1_m(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const BlockIQ1_M*>(blocks);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    uint16_t sc[4];
    for (int k = 0; k < 4; ++k) sc[k] = load_u16(b[i].scales + 2 * k);
    const uint16_t d_bits =
        static_cast<uint16_t>((sc[0] >> 12) | ((sc[1] >> 8) & 0x00f0) | ((sc[2] >> 4) & 0x0f00) | (sc[3] & 0xf000));
    const float d = f16_to_f32(d_bits);
    for (int g = 0; g < 32; ++g, out += 8) {
      const int s = (sc[g / 8] >> (3 * ((g / 2) % 4))) & 7;
      const float dl = d * static_cast<float>(2 * s + 1);
      const int nibble = (b[i].qh[g / 2] >> (4 * (g % 2))) & 15;
      const float delta = (nibble & 8) ? -0.125f : 0.125f;
      const uint64_t row = kIq1sGrid[b[i].qs[g] | ((nibble & 7) << 8)];
      for (int v = 0; v < 8; ++v) out[v] = dl * (signed_grid_value(row, v) + delta);
    }
  }
}

// ---- IQ4_NL: blocks of 32, y = d * kIq4Values[q] ----
void dequantize_iq4_nl(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const BlockIQ4_NL*>(blocks);
  for (int64_t i = 0; i < n / kQK4_NL; ++i, out += kQK4_NL) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < 16; ++j) {
      out[j] = d * static_cast<float>(kIq4Values[b[i].qs[j] & 15]);
      out[j + 16] = d * static_cast<float>(kIq4Values[b[i].qs[j] >> 4]);
    }
  }
}

namespace {

// Codebook indices of 32 values at scale d (the nearest value each), packed like Q4_0.
void pack_iq4(const float* x, float d, uint8_t* qs) {
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  int q[32];
  for (int j = 0; j < 32; ++j) q[j] = nearest_code(kIq4Values, 16, x[j] * id);
  for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>(q[j] | (q[j + 16] << 4));
}

}  // namespace

void quantize_iq4_nl(const float* in, void* blocks, int64_t n, const float* importance) {
  auto* b = static_cast<BlockIQ4_NL*>(blocks);
  float w[32];
  for (int64_t i = 0; i < n / kQK4_NL; ++i, in += kQK4_NL) {
    block_weights(importance ? importance + i * kQK4_NL : nullptr, 32, w);
    const float d = stored_scale(fit_codebook(in, w, 32, kIq4Book).scale);
    b[i].d = f32_to_f16(d);
    pack_iq4(in, d, b[i].qs);
  }
}

// ---- IQ4_XS: 8 sub-blocks of 32 with 6-bit signed scales, y = d * (ls - 32) * kIq4Values[q] ----
void dequantize_iq4_xs(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const BlockIQ4_XS*>(blocks);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = f16_to_f32(b[i].d);
    for (int g = 0; g < 8; ++g, out += 32) {
      const int low = (b[i].scales_l[g / 2] >> (4 * (g % 2))) & 15;
      const int high = (b[i].scales_h >> (2 * g)) & 3;
      const float dl = d * static_cast<float>((low | (high << 4)) - 32);
      const uint8_t* qs = b[i].qs + 16 * g;
      for (int j = 0; j < 16; ++j) {
        out[j] = dl * static_cast<float>(kIq4Values[qs[j] & 15]);
        out[j + 16] = dl * static_cast<float>(kIq4Values[qs[j] >> 4]);
      }
    }
  }
}

void quantize_iq4_xs(const float* in, void* blocks, int64_t n, const float* importance) {
  auto* b = static_cast<BlockIQ4_XS*>(blocks);
  float w[kQK_K];
  for (int64_t i = 0; i < n / kQK_K; ++i, in += kQK_K) {
    block_weights(importance ? importance + i * kQK_K : nullptr, kQK_K, w);
    float scale[8], smax = 0;
    for (int g = 0; g < 8; ++g) {
      scale[g] = fit_codebook(in + 32 * g, w + 32 * g, 32, kIq4Book).scale;
      if (std::fabs(scale[g]) > std::fabs(smax)) smax = scale[g];
    }
    // The largest sub-block scale maps to -32; each 6-bit scale is then re-tuned within +-1.
    const float d = stored_scale(smax / -32.0f);
    b[i].d = f32_to_f16(d);
    b[i].scales_h = 0;
    std::memset(b[i].scales_l, 0, sizeof(b[i].scales_l));
    for (int g = 0; g < 8; ++g) {
      const int ls0 = d != 0 ? clamp_int(detail::round_even(scale[g] / d), -32, 31) : 0;
      int best_ls = ls0;
      double best = INFINITY;
      for (int ls = std::max(-32, ls0 - 1); ls <= std::min(31, ls0 + 1); ++ls) {
        const double err = kIq4Book.error(in + 32 * g, w + 32 * g, 32, d * static_cast<float>(ls));
        if (err < best) best = err, best_ls = ls;
      }
      const int stored = best_ls + 32;
      b[i].scales_l[g / 2] |= static_cast<uint8_t>((stored & 15) << (4 * (g % 2)));
      b[i].scales_h = static_cast<uint16_t>(b[i].scales_h | ((stored >> 4) << (2 * g)));
      pack_iq4(in + 32 * g, d * static_cast<float>(best_ls), b[i].qs + 16 * g);
    }
  }
}

}  // namespace tessera::quant

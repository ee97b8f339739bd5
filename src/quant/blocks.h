// Block layouts of the quantized tensor types, bit-compatible with ggml (one struct per type).
// Half-precision fields are stored as raw IEEE binary16 bits (`f16_bits`); convert them with
// quant/float16.h. Every struct's size is pinned by a static_assert against the type table's
// bytes_per_block.
#pragma once

#include <cstdint>

namespace tessera::quant {

using f16_bits = uint16_t;

constexpr int kQK4_0 = 32;
constexpr int kQK4_1 = 32;
constexpr int kQK5_0 = 32;
constexpr int kQK5_1 = 32;
constexpr int kQK8_0 = 32;
constexpr int kQK8_1 = 32;
constexpr int kQK4_NL = 32;
constexpr int kQK_MXFP4 = 32;
constexpr int kQK_K = 256;  // super-block of the k-quants, i-quants and ternary types
constexpr int kKScaleBytes = 12;  // packed 6-bit scales and mins of Q4_K / Q5_K

struct BlockQ4_0 {
  f16_bits d;               // scale
  uint8_t qs[kQK4_0 / 2];   // 4-bit quants, low nibbles = first half of the block
};
struct BlockQ4_1 {
  f16_bits d;               // scale
  f16_bits m;               // min
  uint8_t qs[kQK4_1 / 2];
};
struct BlockQ5_0 {
  f16_bits d;
  uint8_t qh[4];            // 5th bit of each quant
  uint8_t qs[kQK5_0 / 2];
};
struct BlockQ5_1 {
  f16_bits d;
  f16_bits m;
  uint8_t qh[4];
  uint8_t qs[kQK5_1 / 2];
};
struct BlockQ8_0 {
  f16_bits d;
  int8_t qs[kQK8_0];
};
struct BlockQ8_1 {
  f16_bits d;
  f16_bits s;               // d * sum(qs)
  int8_t qs[kQK8_1];
};

struct BlockQ2_K {
  uint8_t scales[kQK_K / 16];  // 4-bit scale and 4-bit min per 16 elements
  uint8_t qs[kQK_K / 4];       // 2-bit quants
  f16_bits d;                  // super-block scale for the scales
  f16_bits dmin;               // super-block scale for the mins
};
struct BlockQ3_K {
  uint8_t hmask[kQK_K / 8];    // high bit of each quant
  uint8_t qs[kQK_K / 4];       // low 2 bits
  uint8_t scales[12];          // 6-bit scales, packed
  f16_bits d;
};
struct BlockQ4_K {
  f16_bits d;
  f16_bits dmin;
  uint8_t scales[kKScaleBytes];  // 6-bit scales and mins of 8 sub-blocks of 32
  uint8_t qs[kQK_K / 2];
};
struct BlockQ5_K {
  f16_bits d;
  f16_bits dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];       // low 4 bits
  uint8_t qh[kQK_K / 4];       // high 2 bits
  int8_t scales[kQK_K / 16];   // 8-bit scales of 16 sub-blocks
  f16_bits d;
};
struct BlockQ8_K {
  float d;
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];   // sums of groups of 16 quants
};

struct BlockIQ2_XXS {
  f16_bits d;
  uint16_t qs[kQK_K / 8];
};
struct BlockIQ2_XS {
  f16_bits d;
  uint16_t qs[kQK_K / 8];
  uint8_t scales[kQK_K / 32];
};
struct BlockIQ2_S {
  f16_bits d;
  uint8_t qs[kQK_K / 4];
  uint8_t qh[kQK_K / 32];
  uint8_t scales[kQK_K / 32];
};
struct BlockIQ3_XXS {
  f16_bits d;
  uint8_t qs[3 * kQK_K / 8];
};
struct BlockIQ3_S {
  f16_bits d;
  uint8_t qs[kQK_K / 4];
  uint8_t qh[kQK_K / 32];
  uint8_t signs[kQK_K / 8];
  uint8_t scales[kQK_K / 64];
};
struct BlockIQ1_S {
  f16_bits d;
  uint8_t qs[kQK_K / 8];
  uint16_t qh[kQK_K / 32];
};
struct BlockIQ1_M {
  uint8_t qs[kQK_K / 8];
  uint8_t qh[kQK_K / 16];
  uint8_t scales[kQK_K / 32];  // also carries the f16 super-block scale in its top nibbles
};
struct BlockIQ4_NL {
  f16_bits d;
  uint8_t qs[kQK4_NL / 2];
};
struct BlockIQ4_XS {
  f16_bits d;
  uint16_t scales_h;
  uint8_t scales_l[kQK_K / 64];
  uint8_t qs[kQK_K / 2];
};
struct BlockTQ1_0 {
  uint8_t qs[(kQK_K - 4 * kQK_K / 64) / 5];  // 5 ternary digits per byte
  uint8_t qh[kQK_K / 64];                    // 4 ternary digits per byte
  f16_bits d;
};
struct BlockTQ2_0 {
  uint8_t qs[kQK_K / 4];  // 2 bits per element
  f16_bits d;
};
struct BlockMXFP4 {
  uint8_t e;               // E8M0 shared exponent
  uint8_t qs[kQK_MXFP4 / 2];  // E2M1 values, two per byte
};

}  // namespace tessera::quant

// Scale unpacking and value tables shared by the scalar and SIMD kernels. Functions are `static` so
// that every translation unit, whatever ISA flags it is compiled with, gets its own private copy
// (an `inline` function would be merged across TUs by the linker, and an AVX-512 copy could end up
// in the scalar path).
#pragma once

#include <cstdint>
#include <cstring>

#include "quant/blocks.h"

namespace tessera::quant::isa_kernels {

// IQ4_NL / IQ4_XS: the 16 non-uniform levels a 4-bit index selects.
inline constexpr int8_t kIq4nlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
// MXFP4: E2M1 values doubled to integers (the block scale is halved to compensate).
inline constexpr int8_t kMxfp4Values[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

// Q4_K / Q5_K: 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes. Bytes 0-3 hold
// scales 0-3 (low 6 bits), bytes 4-7 mins 0-3; sub-blocks 4-7 keep their low nibbles in bytes 8-11
// and their top two bits in the spare top bits of bytes 0-7.
static inline void q4k_scale_min(const uint8_t* s, int j, int& scale, int& min) {
  if (j < 4) {
    scale = s[j] & 63;
    min = s[j + 4] & 63;
  } else {
    scale = (s[j + 4] & 0xf) | ((s[j - 4] >> 6) << 4);
    min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// Q3_K: signed scale (-32..31) of 16-element sub-block j (0..15). Low nibbles of scales 0-7 are
// the low nibbles of bytes 0-7, of scales 8-15 their high nibbles; the top two bits of scale j
// are bits 2*(j/4) of byte 8 + j%4.
static inline int q3k_scale(const uint8_t* s, int j) {
  const int low = j < 8 ? (s[j] & 0xf) : (s[j - 8] >> 4);
  const int high = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
  return (low | (high << 4)) - 32;
}

// IQ4_XS: signed scale (-32..31) of 32-element sub-block j (0..7).
static inline int iq4xs_scale(const BlockIQ4_XS& b, int j) {
  const int low = (b.scales_l[j / 2] >> (4 * (j % 2))) & 0xf;
  const int high = (b.scales_h >> (2 * j)) & 3;
  return (low | (high << 4)) - 32;
}

// MXFP4: half of the E8M0 scale 2^(e-127), i.e. 2^(e-128), built from bits (exact; e = 0 and 1
// give f32 subnormals).
static inline float e8m0_half_to_f32(uint8_t e) {
  const uint32_t bits = e < 2 ? (0x00200000u << e) : (static_cast<uint32_t>(e - 1) << 23);
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// Q5_0 / Q5_1: the 32 high bits, little-endian.
static inline uint32_t load_qh32(const uint8_t* qh) {
  uint32_t bits;
  std::memcpy(&bits, qh, sizeof bits);
  return bits;
}

}  // namespace tessera::quant::isa_kernels

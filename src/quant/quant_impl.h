// Internal to src/quant: the per-type dequantize / reference-quantize functions that the type table
// (type_traits.cpp) points at, and small helpers they share. Callers outside src/quant go through
// type_traits(type).dequantize / .quantize. All functions are pure and thread-safe; `n` is the
// element count (a multiple of the type's block size), `importance` is null or [n] weights >= 0.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace tessera::quant {

#define TESSERA_QUANT_DECLARE(name)                                  \
  void dequantize_##name(const void* blocks, float* out, int64_t n); \
  void quantize_##name(const float* in, void* blocks, int64_t n, const float* importance);

// float_types.cpp
TESSERA_QUANT_DECLARE(f32)
TESSERA_QUANT_DECLARE(f16)
TESSERA_QUANT_DECLARE(bf16)
// legacy_quants.cpp
TESSERA_QUANT_DECLARE(q4_0)
TESSERA_QUANT_DECLARE(q4_1)
TESSERA_QUANT_DECLARE(q5_0)
TESSERA_QUANT_DECLARE(q5_1)
TESSERA_QUANT_DECLARE(q8_0)
TESSERA_QUANT_DECLARE(q8_1)
// k_quants.cpp
TESSERA_QUANT_DECLARE(q2_k)
TESSERA_QUANT_DECLARE(q3_k)
TESSERA_QUANT_DECLARE(q4_k)
TESSERA_QUANT_DECLARE(q5_k)
TESSERA_QUANT_DECLARE(q6_k)
TESSERA_QUANT_DECLARE(q8_k)
// i_quants.cpp (quantize only for the two 4-bit non-linear types)
void dequantize_iq2_xxs(const void* blocks, float* out, int64_t n);
void dequantize_iq2_xs(const void* blocks, float* out, int64_t n);
void dequantize_iq2_s(const void* blocks, float* out, int64_t n);
void dequantize_iq3_xxs(const void* blocks, float* out, int64_t n);
void dequantize_iq3_s(const void* blocks, float* out, int64_t n);
void dequantize_iq1_s(const void* blocks, float* out, int64_t n);
void dequantize_iq1_m(const void* blocks, float* out, int64_t n);
TESSERA_QUANT_DECLARE(iq4_nl)
TESSERA_QUANT_DECLARE(iq4_xs)
// ternary.cpp
TESSERA_QUANT_DECLARE(tq1_0)
TESSERA_QUANT_DECLARE(tq2_0)
// mxfp4.cpp
TESSERA_QUANT_DECLARE(mxfp4)

#undef TESSERA_QUANT_DECLARE

namespace detail {

// Round to nearest, ties away from zero: C's roundf, which ggml's reference quantizers (and
// gguf-py's np_roundf) use where the result must be bit-exact.
inline int round_away(float x) {
  return static_cast<int>(std::round(x));
}

// Round to nearest, ties to even: used by the error-minimising searches (no reference to match).
// Adding 1.5 * 2^23 leaves the rounded integer in the low mantissa bits (the FPU rounds to even);
// this is branch-free and avoids a libm call in the hot loops. |x| is capped at 2^21 first, far
// beyond any quant level, so the sum stays in [2^23, 2^24) where the trick holds (NaN gives an
// arbitrary in-range value).
inline int round_even(float x) {
  x = x < -2097152.0f ? -2097152.0f : (x > 2097152.0f ? 2097152.0f : x);
  const float shifted = x + 12582912.0f;
  int32_t bits;
  std::memcpy(&bits, &shifted, 4);
  return (bits & 0x007fffff) - 0x00400000;
}

// round_even(clamp(v, lo, hi)) as a float, for the candidate loops of the searches: float-only
// work the compiler vectorises with baseline SSE2 (integer min/max would need SSE4.1). Equal to
// clamp_int(round_even(v), lo, hi) for finite v and integer bounds within +-2^22; NaN stays NaN.
inline float round_level(float v, float lo, float hi) {
  v = v < lo ? lo : v;
  v = v > hi ? hi : v;
  return (v + 12582912.0f) - 12582912.0f;
}

inline int clamp_int(int v, int lo, int hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

// Little-endian unaligned loads/stores of block fields (blocks on disk have no alignment promise).
inline uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline void store_u16(uint8_t* p, uint16_t v) {
  std::memcpy(p, &v, 2);
}

}  // namespace detail
}  // namespace tessera::quant

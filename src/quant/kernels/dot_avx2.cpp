// AVX2 + FMA + F16C dot kernels. Only this file and gemm_avx2.cpp are compiled with those flags
// (src/quant/kernels/sources.cmake); they run only after CPU detection said the CPU has them.
#include <immintrin.h>

#include "quant/blocks.h"
#include "quant/kernels/block_decode.h"
#include "quant/kernels/kernels.h"

namespace tessera::quant::isa_kernels {
namespace {

// u (unsigned) times y (signed) in pairs to i16 (cannot saturate for our operand ranges), then
// pairs of pairs to i32.
inline __m256i dot_u8s8(__m256i u, __m256i y) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, y), _mm256_set1_epi16(1));
}
inline __m256i scaled_u8s8(__m256i u, __m256i y, __m256i sc16) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, y), sc16);
}

#include "quant/kernels/x86_common.inl"
#include "quant/kernels/x86_quant_kernels.inl"

// ---- float types: four independent accumulators of 8 lanes ----
// `load(which, i)` gives 8 f32 of the weight (which = 0) or activation (1) row from element i;
// `scalar(i)` the product of element i, for the n % 8 tail.
template <class Load, class Scalar>
float dot_float(int64_t n, Load load, Scalar scalar) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int u = 0; u < 4; ++u) acc[u] = _mm256_fmadd_ps(load(0, i + 8 * u), load(1, i + 8 * u), acc[u]);
  }
  for (; i + 8 <= n; i += 8) acc[0] = _mm256_fmadd_ps(load(0, i), load(1, i), acc[0]);
  float tail = 0.0f;
  for (; i < n; ++i) tail += scalar(i);
  return hsum_ps(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]))) + tail;
}

inline float bf16(uint16_t h) {
  return _mm_cvtss_f32(_mm_castsi128_ps(_mm_cvtsi32_si128(static_cast<int>(h) << 16)));
}

float dot_f32_f32(int64_t n, const void* vw, const void* va) {
  const float* p[2] = {static_cast<const float*>(vw), static_cast<const float*>(va)};
  return dot_float(
      n, [&](int which, int64_t i) { return _mm256_loadu_ps(p[which] + i); },
      [&](int64_t i) { return p[0][i] * p[1][i]; });
}

float dot_f16_f16(int64_t n, const void* vw, const void* va) {
  const uint16_t* p[2] = {static_cast<const uint16_t*>(vw), static_cast<const uint16_t*>(va)};
  return dot_float(
      n,
      [&](int which, int64_t i) {
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p[which] + i)));
      },
      [&](int64_t i) { return f16(p[0][i]) * f16(p[1][i]); });
}

// bf16 is the top half of an f32: widen to 32 bits and shift into place.
float dot_bf16_bf16(int64_t n, const void* vw, const void* va) {
  const uint16_t* p[2] = {static_cast<const uint16_t*>(vw), static_cast<const uint16_t*>(va)};
  return dot_float(
      n,
      [&](int which, int64_t i) {
        const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p[which] + i)));
        return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
      },
      [&](int64_t i) { return bf16(p[0][i]) * bf16(p[1][i]); });
}

}  // namespace

void register_avx2_kernels(KernelTable& table) {
  register_x86_quant_kernels(table, Isa::kAvx2);
  auto set = [&](TensorType type, VecDotFn fn) {
    table.vec_dot[static_cast<size_t>(type)] = fn;
    table.vec_dot_isa[static_cast<size_t>(type)] = Isa::kAvx2;
  };
  set(TensorType::kF32, dot_f32_f32);
  set(TensorType::kF16, dot_f16_f16);
  set(TensorType::kBF16, dot_bf16_bf16);
}

}  // namespace tessera::quant::isa_kernels

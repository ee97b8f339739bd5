// AVX-512 (F, BW, VL, VNNI) dot kernels. Only this file and gemm_avx512.cpp are compiled with those
// flags (src/quant/kernels/sources.cmake); they run only after CPU detection found all of them.
// The quantized kernels are the 256-bit ones of x86_quant_kernels.inl with VNNI's one-instruction
// u8×s8→i32 dot (vpdpbusd) in place of AVX2's two; the float kernels use 512-bit registers.
#include "quant/kernels/avx512_intrinsics.h"

#include "quant/blocks.h"
#include "quant/kernels/block_decode.h"
#include "quant/kernels/kernels.h"

namespace tessera::quant::isa_kernels {
namespace {

inline __m256i dot_u8s8(__m256i u, __m256i y) {
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, y);
}
// Per-pair i16 scales need the pairwise i16 sums first, so this stays maddubs + madd.
inline __m256i scaled_u8s8(__m256i u, __m256i y, __m256i sc16) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, y), sc16);
}

#include "quant/kernels/x86_common.inl"
#include "quant/kernels/x86_quant_kernels.inl"

// ---- float types: four accumulators of 16 lanes; the n % 16 tail through a lane mask ----
// `load(which, i, mask)` gives 16 f32 of the weight (0) or activation (1) row from element i,
// lanes outside `mask` zero.
template <class Load>
float dot_float512(int64_t n, Load load) {
  __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  const __mmask16 all = 0xffff;
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    for (int u = 0; u < 4; ++u) {
      acc[u] = _mm512_fmadd_ps(load(0, i + 16 * u, all), load(1, i + 16 * u, all), acc[u]);
    }
  }
  for (; i + 16 <= n; i += 16) acc[0] = _mm512_fmadd_ps(load(0, i, all), load(1, i, all), acc[0]);
  if (i < n) {
    const auto tail = static_cast<__mmask16>((1u << (n - i)) - 1);
    acc[1] = _mm512_fmadd_ps(load(0, i, tail), load(1, i, tail), acc[1]);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
}

float dot_f32_f32(int64_t n, const void* vw, const void* va) {
  const float* p[2] = {static_cast<const float*>(vw), static_cast<const float*>(va)};
  return dot_float512(n, [&](int which, int64_t i, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p[which] + i); });
}

float dot_f16_f16(int64_t n, const void* vw, const void* va) {
  const uint16_t* p[2] = {static_cast<const uint16_t*>(vw), static_cast<const uint16_t*>(va)};
  return dot_float512(
      n, [&](int which, int64_t i, __mmask16 m) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p[which] + i)); });
}

float dot_bf16_bf16(int64_t n, const void* vw, const void* va) {
  const uint16_t* p[2] = {static_cast<const uint16_t*>(vw), static_cast<const uint16_t*>(va)};
  return dot_float512(n, [&](int which, int64_t i, __mmask16 m) {
    const __m512i wide = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p[which] + i));
    return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
  });
}

}  // namespace

void register_avx512_kernels(KernelTable& table) {
  register_x86_quant_kernels(table, Isa::kAvx512);
  auto set = [&](TensorType type, VecDotFn fn) {
    table.vec_dot[static_cast<size_t>(type)] = fn;
    table.vec_dot_isa[static_cast<size_t>(type)] = Isa::kAvx512;
  };
  set(TensorType::kF32, dot_f32_f32);
  set(TensorType::kF16, dot_f16_f16);
  set(TensorType::kBF16, dot_bf16_bf16);
}

}  // namespace tessera::quant::isa_kernels

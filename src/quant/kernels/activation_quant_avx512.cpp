// AVX-512 activation quantizers for Q8_0 (the partner of Q4_0, Q5_0, Q8_0, IQ4_NL, MXFP4) and
// Q8_K (of the k-quants): the same bytes as the reference quantize_q8_0 (legacy_quants.cpp) and
// quantize_q8_k (k_quants.cpp), 16 elements at a time. With the GEMM at VNNI speed the scalar
// versions were several percent of prompt processing.
// Compiled with the AVX-512 flags; used only after CPU detection found them.
#include "quant/kernels/avx512_intrinsics.h"

#include <cstdint>
#include <cstring>

#include "quant/blocks.h"
#include "quant/kernels/kernels.h"

namespace tessera::quant::isa_kernels {
namespace {

// |v| by clearing the sign bit (AVX-512 F has no float and; DQ is not required).
inline __m512 abs512(__m512 v) {
  return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7fffffff)));
}

// std::round (halves away from zero) of each lane, for |v| < 2^23: truncate, then step one away
// from zero where the dropped fraction (exact) is at least a half.
inline __m512i round_away512(__m512 v) {
  const __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __mmask16 up = _mm512_cmp_ps_mask(abs512(_mm512_sub_ps(v, t)), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
  const __m512 one =
      _mm512_castsi512_ps(_mm512_or_si512(_mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(INT32_MIN)),
                                          _mm512_castps_si512(_mm512_set1_ps(1.0f))));
  return _mm512_cvttps_epi32(_mm512_mask_add_ps(t, up, t, one));
}

void quantize_row_q8_0_avx512(const float* x, void* out, int64_t n) {
  auto* b = static_cast<BlockQ8_0*>(out);
  for (int64_t i = 0; i < n / kQK8_0; ++i, x += kQK8_0) {
    const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(abs512(v1), _mm512_max_ps(abs512(v0), _mm512_setzero_ps())));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = static_cast<uint16_t>(_mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(d), _MM_FROUND_TO_NEAREST_INT), 0));
    const __m512 scale = _mm512_set1_ps(id);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(b[i].qs),
                     _mm512_cvtepi32_epi8(round_away512(_mm512_mul_ps(v0, scale))));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(b[i].qs + 16),
                     _mm512_cvtepi32_epi8(round_away512(_mm512_mul_ps(v1, scale))));
  }
}

void quantize_row_q8_k_avx512(const float* x, void* out, int64_t n) {
  auto* b = static_cast<BlockQ8_K*>(out);
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    __m512 v[16];
    __m512 amax = _mm512_setzero_ps();
    for (int g = 0; g < 16; ++g) {
      v[g] = _mm512_loadu_ps(x + 16 * g);
      amax = _mm512_max_ps(abs512(v[g]), amax);  // a NaN is skipped, as there
    }
    const float max_abs = _mm512_reduce_max_ps(amax);
    std::memset(b[i].bsums, 0, sizeof(b[i].bsums));
    if (max_abs == 0) {
      b[i].d = 0;
      std::memset(b[i].qs, 0, sizeof(b[i].qs));
      continue;
    }
    // The reference keeps the first element of largest magnitude, with its sign.
    float vmax = max_abs;
    for (int g = 0; g < 16; ++g) {
      const __mmask16 hit = _mm512_cmp_ps_mask(abs512(v[g]), _mm512_set1_ps(max_abs), _CMP_EQ_OQ);
      if (hit != 0) {
        vmax = x[16 * g + __builtin_ctz(hit)];
        break;
      }
    }
    const float iscale = -127.0f / vmax;
    const __m512 scale = _mm512_set1_ps(iscale);
    for (int g = 0; g < 16; ++g) {
      // Round to nearest even (the default rounding mode, as round_even), then min(127, q).
      __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(scale, v[g]));
      q = _mm512_min_epi32(q, _mm512_set1_epi32(127));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(b[i].qs + 16 * g), _mm512_cvtepi32_epi8(q));
      b[i].bsums[g] = static_cast<int16_t>(_mm512_reduce_add_epi32(q));
    }
    b[i].d = 1.0f / iscale;
  }
}

}  // namespace

void register_avx512_activation_quantizers(KernelTable& table) {
  table.quantize_activation[static_cast<size_t>(TensorType::kQ8_0)] = quantize_row_q8_0_avx512;
  table.quantize_activation[static_cast<size_t>(TensorType::kQ8_K)] = quantize_row_q8_k_avx512;
}

}  // namespace tessera::quant::isa_kernels

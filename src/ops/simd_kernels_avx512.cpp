// AVX-512 versions of the attention building blocks (simd_kernels.h). Compiled with AVX-512
// flags and only called after CPU detection allows it; uses no shared inline library code (see
// quant/dispatch.h) so nothing compiled here can be picked up by baseline code.
// GCC 12's AVX-512 headers trip its own -Wuninitialized (see quant/kernels/dot_avx512.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include "ops/simd_kernels.h"

namespace tessera::ops::detail {
namespace {

// Columns [16 v, 16 v + 16) of a 64-column chunk that lie below `width`.
inline __mmask16 column_mask(int64_t width, int v) {
  const int64_t left = width - 16 * v;
  if (left >= 16) return 0xffff;
  if (left <= 0) return 0;
  return static_cast<__mmask16>((1u << left) - 1);
}

// kRows rows × one 64-column chunk of c (width <= 64 valid columns), accumulated in registers.
// The row loops are unrolled explicitly: without it GCC 12 keeps acc[][] on the stack and stores
// all 24 accumulators every step (65 instead of 150 GFLOPS on an attention block).
template <int kRows>
inline void sgemm_tile(int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
                       int64_t width, bool accumulate) {
  const __mmask16 m0 = column_mask(width, 0), m1 = column_mask(width, 1), m2 = column_mask(width, 2),
                  m3 = column_mask(width, 3);
  __m512 acc[kRows][4];
#pragma GCC unroll 8
  for (int i = 0; i < kRows; ++i) {
    float* ci = c + i * ldc;
    acc[i][0] = accumulate ? _mm512_maskz_loadu_ps(m0, ci) : _mm512_setzero_ps();
    acc[i][1] = accumulate ? _mm512_maskz_loadu_ps(m1, ci + 16) : _mm512_setzero_ps();
    acc[i][2] = accumulate ? _mm512_maskz_loadu_ps(m2, ci + 32) : _mm512_setzero_ps();
    acc[i][3] = accumulate ? _mm512_maskz_loadu_ps(m3, ci + 48) : _mm512_setzero_ps();
  }
  for (int64_t p = 0; p < k; ++p) {
    const float* bp = b + p * ldb;
    const __m512 b0 = _mm512_maskz_loadu_ps(m0, bp);
    const __m512 b1 = _mm512_maskz_loadu_ps(m1, bp + 16);
    const __m512 b2 = _mm512_maskz_loadu_ps(m2, bp + 32);
    const __m512 b3 = _mm512_maskz_loadu_ps(m3, bp + 48);
#pragma GCC unroll 8
    for (int i = 0; i < kRows; ++i) {
      const __m512 av = _mm512_set1_ps(a[i * lda + p]);
      acc[i][0] = _mm512_fmadd_ps(av, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(av, b1, acc[i][1]);
      acc[i][2] = _mm512_fmadd_ps(av, b2, acc[i][2]);
      acc[i][3] = _mm512_fmadd_ps(av, b3, acc[i][3]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < kRows; ++i) {
    float* ci = c + i * ldc;
    _mm512_mask_storeu_ps(ci, m0, acc[i][0]);
    _mm512_mask_storeu_ps(ci + 16, m1, acc[i][1]);
    _mm512_mask_storeu_ps(ci + 32, m2, acc[i][2]);
    _mm512_mask_storeu_ps(ci + 48, m3, acc[i][3]);
  }
}

void sgemm_avx512(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                  int64_t ldc, bool accumulate) {
  for (int64_t j = 0; j < n; j += 64) {
    const int64_t width = n - j < 64 ? n - j : 64;
    int64_t i = 0;
    // Six rows use 24 accumulators + 4 b vectors + 1 broadcast of the 32 registers. Every c
    // element is the same ordered FMA chain over p whatever the tile height.
    for (; i + 6 <= m; i += 6) sgemm_tile<6>(k, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, width, accumulate);
    for (; i + 4 <= m; i += 4) sgemm_tile<4>(k, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, width, accumulate);
    for (; i < m; ++i) sgemm_tile<1>(k, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, width, accumulate);
  }
}

void f16_to_f32_avx512(const uint16_t* x, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm512_storeu_ps(out + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i))));
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(out + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x + i)));
  }
}

// exp(x) for x in [-104, 88.7] (inputs are clamped there; below -103 the result is 0): x = n ln2 + r
// with |r| <= ln2 / 2, exp(r) by a degree-6 polynomial (relative error ~2e-7), times 2^n by scalef.
inline __m512 exp_ps(__m512 x) {
  x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.7f)), _mm512_set1_ps(-104.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.3981999507e-3f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}

float exp_sub_sum_avx512(float* x, int64_t n, float max) {
  const __m512 vmax = _mm512_set1_ps(max);
  const __m512 neg_inf = _mm512_set1_ps(-__builtin_inff());
  __m512 sum = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    const __mmask16 live = _mm512_mask_cmp_ps_mask(m, v, neg_inf, _CMP_NEQ_OQ);
    const __m512 e = _mm512_maskz_mov_ps(live, exp_ps(_mm512_sub_ps(v, vmax)));
    _mm512_mask_storeu_ps(x + i, m, e);
    sum = _mm512_add_ps(sum, e);
  }
  return _mm512_reduce_add_ps(sum);
}

// x * sigmoid(x) = x / (1 + exp(-x)).
inline __m512 silu_ps(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  return _mm512_div_ps(x, _mm512_add_ps(one, exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

// 0.5 x (1 + tanh(u)) with u = sqrt(2/pi) (x + 0.044715 x^3); 1 + tanh(u) = 2 / (1 + exp(-2u)),
// so the product is x / (1 + exp(-2u)) (exp_ps saturates for large |u|: 0 or x exactly).
inline __m512 gelu_ps(__m512 x) {
  const __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
  const __m512 u =
      _mm512_mul_ps(_mm512_set1_ps(0.79788456080286535588f), _mm512_fmadd_ps(_mm512_set1_ps(0.044715f), x3, x));
  const __m512 e = exp_ps(_mm512_mul_ps(_mm512_set1_ps(-2.0f), u));
  return _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

template <__m512 (*kAct)(__m512)>
void gated_avx512(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
    const __m512 u = _mm512_maskz_loadu_ps(m, up + i);
    _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(kAct(g), u));
  }
}

}  // namespace

void register_avx512_op_kernels(OpKernels& table) {
  table.isa = quant::Isa::kAvx512;
  table.sgemm = sgemm_avx512;
  table.f16_to_f32 = f16_to_f32_avx512;
  table.exp_sub_sum = exp_sub_sum_avx512;
  table.swiglu = gated_avx512<silu_ps>;
  table.geglu = gated_avx512<gelu_ps>;
}

}  // namespace tessera::ops::detail

// AVX-512 versions of the attention building blocks (simd_kernels.h). Compiled with AVX-512
// flags and only called after CPU detection allows it; uses no shared inline library code (see
// quant/dispatch.h) so nothing compiled here can be picked up by baseline code.
#include "quant/kernels/avx512_intrinsics.h"

#include <climits>

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
    // (m % 6 == 2: one six fewer, so that the rest is two fours rather than two single rows)
    const int64_t sixes = m / 6 - (m % 6 == 2 && m >= 8 ? 1 : 0);
    for (; i < 6 * sixes; i += 6)
      sgemm_tile<6>(k, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, width, accumulate);
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

inline __mmask16 tail_mask(int64_t left) {
  return left >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1);
}

void f16_rows_to_f32_avx512(const uint16_t* const* rows, int64_t n_rows, int64_t n_cols, float* out, int64_t ldo) {
  for (int64_t j = 0; j < n_rows; ++j) f16_to_f32_avx512(rows[j], out + j * ldo, n_cols);
}

// In-register transpose of a 16x16 block: r[i] holds row i on entry, column i on return.
// Unpacks and in-lane shuffles transpose each 4x4 block of 128-bit lanes; two rounds of lane
// shuffles then transpose the 4x4 arrangement of those blocks.
inline void transpose16x16(__m512 (&r)[16]) {
  __m512 t[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  // r[4g + c], lane l: rows 4g..4g+3 at column 4l + c.
#pragma GCC unroll 4
  for (int g = 0; g < 4; ++g) {
    r[4 * g] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
    r[4 * g + 1] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0xee);
    r[4 * g + 2] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
    r[4 * g + 3] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xee);
  }
  // Column 4l + c, lane g = r[4g + c] lane l: a 4x4 transpose of lanes for each c.
#pragma GCC unroll 4
  for (int c = 0; c < 4; ++c) {
    t[c] = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x88);      // lanes 0, 2 of rows-groups 0, 1
    t[4 + c] = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xdd);  // lanes 1, 3 of groups 0, 1
    t[8 + c] = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x88);
    t[12 + c] = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xdd);
  }
#pragma GCC unroll 4
  for (int c = 0; c < 4; ++c) {
    r[c] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0x88);
    r[8 + c] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0xdd);
    r[4 + c] = _mm512_shuffle_f32x4(t[4 + c], t[12 + c], 0x88);
    r[12 + c] = _mm512_shuffle_f32x4(t[4 + c], t[12 + c], 0xdd);
  }
}

inline __m512 load_row(const uint16_t* x, __mmask16 m) {
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x));
}
inline __m512 load_row(const float* x, __mmask16 m) {
  return _mm512_maskz_loadu_ps(m, x);
}

// 16x16 tiles: up to 16 rows (missing ones read as zeros) by up to 16 columns, transposed in
// registers, then stored as up to 16 rows of out with only the present columns written.
template <class T>
void rows_transposed(const T* const* rows, int64_t n_rows, int64_t n_cols, float* out, int64_t ldo) {
  for (int64_t j0 = 0; j0 < n_rows; j0 += 16) {
    const int64_t jn = n_rows - j0 < 16 ? n_rows - j0 : 16;
    const __mmask16 store_mask = tail_mask(jn);
    for (int64_t d0 = 0; d0 < n_cols; d0 += 16) {
      const int64_t dn = n_cols - d0 < 16 ? n_cols - d0 : 16;
      const __mmask16 load_mask = tail_mask(dn);
      __m512 r[16];
#pragma GCC unroll 16
      for (int i = 0; i < 16; ++i) r[i] = i < jn ? load_row(rows[j0 + i] + d0, load_mask) : _mm512_setzero_ps();
      transpose16x16(r);
      float* dst = out + d0 * ldo + j0;
      if (dn == 16 && jn == 16) {
#pragma GCC unroll 16
        for (int i = 0; i < 16; ++i) _mm512_storeu_ps(dst + i * ldo, r[i]);
      } else {
#pragma GCC unroll 16
        for (int i = 0; i < 16; ++i) {
          if (i < dn) _mm512_mask_storeu_ps(dst + i * ldo, store_mask, r[i]);
        }
      }
    }
  }
}

void f16_rows_to_f32_transposed_avx512(const uint16_t* const* rows, int64_t n_rows, int64_t n_cols, float* out,
                                       int64_t ldo) {
  rows_transposed(rows, n_rows, n_cols, out, ldo);
}

void f32_rows_transposed_avx512(const float* const* rows, int64_t n_rows, int64_t n_cols, float* out, int64_t ldo) {
  rows_transposed(rows, n_rows, n_cols, out, ldo);
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

// tanh(x): Eigen's 13/6-degree rational approximation (generic_fast_tanh_float, within a few ulp;
// x itself for |x| < 0.0004), on inputs clamped to where it reaches exactly +-1 with FMA.
inline __m512 tanh_ps(__m512 x) {
  const __mmask16 tiny = _mm512_cmp_ps_mask(_mm512_abs_ps(x), _mm512_set1_ps(0.0004f), _CMP_LT_OQ);
  const __m512 c =
      _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(7.99881172180175781f)), _mm512_set1_ps(-7.99881172180175781f));
  const __m512 x2 = _mm512_mul_ps(c, c);
  __m512 p = _mm512_set1_ps(-2.76076847742355e-16f);
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(2.00018790482477e-13f));
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-8.60467152213735e-11f));
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(5.12229709037114e-08f));
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(1.48572235717979e-05f));
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(6.37261928875436e-04f));
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(4.89352455891786e-03f));
  p = _mm512_mul_ps(p, c);
  __m512 q = _mm512_set1_ps(1.19825839466702e-06f);
  q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(1.18534705686654e-04f));
  q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(2.26843463243900e-03f));
  q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(4.89352518554385e-03f));
  return _mm512_mask_mov_ps(_mm512_div_ps(p, q), tiny, x);
}

// Which keys of a block one query row sees: none, all, or those with lo <= position <= hi.
struct RowVisibility {
  bool sees_none, sees_all;
  __m512i lo, hi;
};

inline RowVisibility row_visibility(const SoftmaxBlock& b, int64_t pos) {
  RowVisibility v;
  v.sees_none = pos < b.key_min || (b.n_swa > 0 && pos - b.key_max >= b.n_swa);
  v.sees_all = pos >= b.key_max && (b.n_swa <= 0 || pos - b.key_min < b.n_swa);
  const int64_t lo = b.n_swa > 0 ? pos - b.n_swa + 1 : INT32_MIN;
  v.lo = _mm512_set1_epi32(static_cast<int32_t>(lo < INT32_MIN ? INT32_MIN : lo));
  v.hi = _mm512_set1_epi32(static_cast<int32_t>(pos));
  return v;
}

// Scores [i, i + 16) of row sr soft-capped, with -inf for keys the row does not see and for
// lanes past the block's end.
inline __m512 visible_scores(const SoftmaxBlock& b, const RowVisibility& vis, const float* sr, int64_t i) {
  const __mmask16 m = tail_mask(b.n - i);
  __m512 v = _mm512_maskz_loadu_ps(m, sr + i);
  if (b.softcap > 0) {
    const __m512 cap = _mm512_set1_ps(b.softcap);
    v = _mm512_mul_ps(cap, tanh_ps(_mm512_mul_ps(v, _mm512_set1_ps(1.0f / b.softcap))));
  }
  __mmask16 live = m;
  if (!vis.sees_all) {
    const __m512i kp = _mm512_maskz_loadu_epi32(m, b.key_pos + i);
    live = _mm512_mask_cmp_epi32_mask(m, kp, vis.lo, _MM_CMPINT_NLT);
    live = _mm512_mask_cmp_epi32_mask(live, kp, vis.hi, _MM_CMPINT_LE);
  }
  return _mm512_mask_mov_ps(_mm512_set1_ps(-__builtin_inff()), live, v);
}

// Folds a row's block max into its running state (rescaling its output row when the max grows);
// returns the max the block's weights are taken against.
inline float update_row_max(const SoftmaxBlock& b, int64_t r, float block_max) {
  const float old_max = b.row_max[r];
  const float new_max = old_max > block_max ? old_max : block_max;
  if (old_max != new_max) {
    const float corr =
        old_max == -__builtin_inff() ? 0.0f : _mm512_cvtss_f32(exp_ps(_mm512_set1_ps(old_max - new_max)));
    b.row_sum[r] *= corr;
    const __m512 vcorr = _mm512_set1_ps(corr);
    float* orow = b.o + r * b.ldo;
    for (int64_t d = 0; d < b.dv; d += 16) {
      const __mmask16 m = tail_mask(b.dv - d);
      _mm512_mask_storeu_ps(orow + d, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, orow + d), vcorr));
    }
    b.row_max[r] = new_max;
  }
  return new_max;
}

// Per row: the visible (soft-capped) scores and their max, the running-state update, then the
// weights and their sum (exp_sub_sum_avx512). Whether a row takes the whole-block shortcuts
// depends only on its own position, and every path gives the same values for the keys it sees,
// so results do not depend on the tile. (Keeping a row's 64 scores in registers between the
// passes, or updating 16 rows' states in one vector without branches, measured no faster.)
void online_softmax_avx512(const SoftmaxBlock& b) {
  for (int64_t r = 0; r < b.rows; ++r) {
    float* sr = b.s + r * b.lds;
    const RowVisibility vis = row_visibility(b, b.q_pos[b.tokens[static_cast<size_t>(r / b.group)]]);
    __m512 vmax = _mm512_set1_ps(-__builtin_inff());
    const bool store = b.softcap > 0 || !vis.sees_all;  // else the scores already are the values
    for (int64_t j = 0; j < b.n && !vis.sees_none; j += 16) {
      const __m512 v = visible_scores(b, vis, sr, j);
      if (store) _mm512_mask_storeu_ps(sr + j, tail_mask(b.n - j), v);
      vmax = _mm512_max_ps(vmax, v);
    }
    const float block_max = _mm512_reduce_max_ps(vmax);
    if (block_max == -__builtin_inff()) {  // nothing visible to this row here: weights 0
      for (int64_t j = 0; j < b.n; j += 16) _mm512_mask_storeu_ps(sr + j, tail_mask(b.n - j), _mm512_setzero_ps());
      continue;
    }
    const float m = update_row_max(b, r, block_max);
    b.row_sum[r] += exp_sub_sum_avx512(sr, b.n, m);
  }
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
  table.f16_rows_to_f32 = f16_rows_to_f32_avx512;
  table.f16_rows_to_f32_transposed = f16_rows_to_f32_transposed_avx512;
  table.f32_rows_transposed = f32_rows_transposed_avx512;
  table.exp_sub_sum = exp_sub_sum_avx512;
  table.online_softmax = online_softmax_avx512;
  table.swiglu = gated_avx512<silu_ps>;
  table.geglu = gated_avx512<gelu_ps>;
}

}  // namespace tessera::ops::detail

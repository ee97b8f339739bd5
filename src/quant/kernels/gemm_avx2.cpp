// AVX2 matrix-matrix kernels for prompt processing (several weight rows × several tokens per
// step), the AVX2 counterpart of gemm_avx512.cpp with the same scratch layouts (kernels.h) and the
// same plan: operands re-laid once per call, a register tile of accumulators, weights decoded once
// per row and reused for every token. Differences forced by AVX2's vpmaddubsw, which multiplies
// unsigned by signed bytes into saturating i16 pairs:
//  - Q8_0 family: activations stay signed and each weight's sign moves onto the activation
//    (|w| ≤ 128, |y| ≤ 127: pairs cannot saturate); the GemmScratch act_q bytes hold y itself and
//    w_corr is unused.
//  - k-quants: weights are the unsigned operand (q ≤ 63: pairs ≤ 2 * 63 * 127, no saturation).
//    IQ4_XS (+128 offset quants would saturate) keeps the one-row kernels.
//  - F32 / F16 / BF16: both operands widened to f32 (FGemmScratch), a plain FMA tile.
// Compiled with -mavx2 -mfma -mf16c only; used after CPU detection found them.
#include <immintrin.h>

#include <cstring>

#include "quant/blocks.h"
#include "quant/kernels/block_decode.h"
#include "quant/kernels/kernels.h"

namespace tessera::quant::isa_kernels {
namespace {

#include "quant/kernels/x86_common.inl"
#include "quant/kernels/x86_gemm_common.inl"

// Tile sizes: 16 ymm registers hold 2 × 4 accumulators plus the operands.
constexpr int kRows = 2;
constexpr int kTokens = 4;

inline __m256i madd_ones(__m256i pairs16) {
  return _mm256_madd_epi16(pairs16, _mm256_set1_epi16(1));
}

// ---- Q8_0 family ----

void gemm_prepare_acts(const MatmulArgs& args, const GemmScratch& L, uint8_t* scratch) {
  const int64_t kp = L.nb_pad * 32;
  for (int64_t t = 0; t < args.n_tokens; ++t) {
    const auto* a = static_cast<const BlockQ8_0*>(args.acts) + t * L.nb;
    uint8_t* y = scratch + L.act_q + t * kp;
    float* s8 = reinterpret_cast<float*>(scratch + L.act_s8) + t * L.nb_pad * 8;
    for (int64_t i = 0; i < L.nb_pad; ++i) {
      const bool real = i < L.nb;
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + 32 * i), real ? load256(a[i].qs) : _mm256_setzero_si256());
      _mm256_storeu_ps(s8 + 8 * i, _mm256_set1_ps(real ? f16(a[i].d) : 0.0f));
    }
  }
}

template <class Block, class Decode, class Scale>
void gemm_decode_rows(const Block* w, int rows, const GemmScratch& L, uint8_t* scratch, Decode decode, Scale scale) {
  const int64_t kp = L.nb_pad * 32;
  for (int r = 0; r < rows; ++r) {
    const Block* row = w + r * L.nb;
    uint8_t* q = scratch + L.w_q + r * kp;
    float* s8 = reinterpret_cast<float*>(scratch + L.w_s8) + r * L.nb_pad * 8;
    for (int64_t i = 0; i < L.nb_pad; ++i) {
      const bool real = i < L.nb;
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 32 * i), real ? decode(row[i]) : _mm256_setzero_si256());
      _mm256_storeu_ps(s8 + 8 * i, _mm256_set1_ps(real ? scale(row[i]) : 0.0f));
    }
  }
}

template <int R, int T>
void gemm_tile(const GemmScratch& L, const uint8_t* scratch, int64_t t0, float (&result)[kGemmRows][kGemmTokens]) {
  const int64_t kp = L.nb_pad * 32;
  const uint8_t* wq = scratch + L.w_q;
  const auto* ws = reinterpret_cast<const float*>(scratch + L.w_s8);
  const uint8_t* aq = scratch + L.act_q + t0 * kp;
  const auto* as = reinterpret_cast<const float*>(scratch + L.act_s8) + t0 * L.nb_pad * 8;
  __m256 acc[R][T];
  for (int r = 0; r < R; ++r) {
    for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
  }
  for (int64_t i = 0; i < L.nb; ++i) {
    __m256i w[R], abs_w[R];
    for (int r = 0; r < R; ++r) {
      w[r] = load256(wq + r * kp + 32 * i);
      abs_w[r] = _mm256_sign_epi8(w[r], w[r]);
    }
    for (int t = 0; t < T; ++t) {
      const __m256i y = load256(aq + t * kp + 32 * i);
      const __m256 ascale = _mm256_loadu_ps(as + (t * L.nb_pad + i) * 8);
      for (int r = 0; r < R; ++r) {
        const __m256i p = madd_ones(_mm256_maddubs_epi16(abs_w[r], _mm256_sign_epi8(y, w[r])));
        const __m256 scale = _mm256_mul_ps(_mm256_loadu_ps(ws + (r * L.nb_pad + i) * 8), ascale);
        acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), scale, acc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int t = 0; t < T; ++t) result[r][t] = hsum_ps(acc[r][t]);
  }
}

// ---- k-quants: super-block decoders (value = scale[g] * q - offset[g], q unsigned ≤ 63) ----
// Scales come from x86_gemm_common.inl; only the quant unpacking is AVX2-specific.

void kdecode_q4_k(const BlockQ4_K& b, uint8_t* q, float* scale, float* offset) {
  kscales_q4_k(b.d, b.dmin, b.scales, scale, offset);
  for (int c = 0; c < 4; ++c) {
    const __m256i packed = load256(b.qs + 32 * c);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 64 * c), _mm256_and_si256(packed, _mm256_set1_epi8(0x0f)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 64 * c + 32),
                        _mm256_and_si256(_mm256_srli_epi16(packed, 4), _mm256_set1_epi8(0x0f)));
  }
}

void kdecode_q5_k(const BlockQ5_K& b, uint8_t* q, float* scale, float* offset) {
  kscales_q4_k(b.d, b.dmin, b.scales, scale, offset);
  const __m256i qh = load256(b.qh);
  for (int c = 0; c < 4; ++c) {
    for (int half = 0; half < 2; ++half) {
      auto* out = reinterpret_cast<__m256i*>(q + 64 * c + 32 * half);
      const __m256i low = _mm256_and_si256(_mm256_srli_epi16(load256(b.qs + 32 * c), 4 * half), _mm256_set1_epi8(0x0f));
      _mm256_storeu_si256(out, _mm256_or_si256(low, _mm256_slli_epi16(bit_of_bytes(qh, 2 * c + half), 4)));
    }
  }
}

void kdecode_q6_k(const BlockQ6_K& b, uint8_t* q, float* scale, float* offset) {
  kscales_q6_k(b, scale, offset);
  const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(0x03);
  for (int h = 0; h < 2; ++h) {
    const __m256i l0 = load256(b.ql + 64 * h), l1 = load256(b.ql + 64 * h + 32), qh = load256(b.qh + 32 * h);
    const __m256i parts[4] = {
        _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4)),
        _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4)),
        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                        _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4)),
        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                        _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4)),
    };
    for (int g = 0; g < 4; ++g) _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 128 * h + 32 * g), parts[g]);
  }
}

void kdecode_q3_k(const BlockQ3_K& b, uint8_t* q, float* scale, float* offset) {
  kscales_q3_k(b, scale, offset);
  const __m256i hmask = load256(b.hmask);
  for (int h = 0; h < 2; ++h) {
    const __m256i qs = load256(b.qs + 32 * h);
    for (int g = 0; g < 4; ++g) {
      const __m256i low = _mm256_and_si256(_mm256_srl_epi16(qs, _mm_cvtsi32_si128(2 * g)), _mm256_set1_epi8(3));
      const __m256i high = _mm256_slli_epi16(bit_of_bytes(hmask, 4 * h + g), 2);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 128 * h + 32 * g), _mm256_or_si256(low, high));
    }
  }
}

void kdecode_q2_k(const BlockQ2_K& b, uint8_t* q, float* scale, float* offset) {
  kscales_q2_k(b, scale, offset);
  for (int h = 0; h < 2; ++h) {
    const __m256i qs = load256(b.qs + 32 * h);
    for (int g = 0; g < 4; ++g) {
      const __m256i v = _mm256_and_si256(_mm256_srl_epi16(qs, _mm_cvtsi32_si128(2 * g)), _mm256_set1_epi8(3));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 128 * h + 32 * g), v);
    }
  }
}

template <int R, int T>
void kgemm_tile(const KGemmScratch& L, int64_t k, const uint8_t* scratch, int64_t t0,
                float (&result)[kGemmRows][kGemmTokens]) {
  const int64_t groups = k / 16;
  const uint8_t* wq = scratch + L.w_q;
  const auto* ws = reinterpret_cast<const float*>(scratch + L.w_s4);
  const auto* wm = reinterpret_cast<const float*>(scratch + L.w_m4);
  const uint8_t* aq = scratch + L.act_q + t0 * k;
  const auto* ad = reinterpret_cast<const float*>(scratch + L.act_d) + t0 * L.n_super;
  const auto* as = reinterpret_cast<const float*>(scratch + L.act_sum4) + t0 * groups * 4;
  __m256 acc[R][T];
  for (int r = 0; r < R; ++r) {
    for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
  }
  for (int64_t z = 0; z < k / 32; ++z) {  // 32 elements = 2 groups = 8 lanes
    __m256i w[R];
    for (int r = 0; r < R; ++r) w[r] = load256(wq + r * k + 32 * z);
    for (int t = 0; t < T; ++t) {
      const __m256i y = load256(aq + t * k + 32 * z);
      const __m256 da = _mm256_broadcast_ss(ad + t * L.n_super + z / 8);
      const __m256 asum = _mm256_loadu_ps(as + (t * groups + 2 * z) * 4);
      for (int r = 0; r < R; ++r) {
        const __m256i p = madd_ones(_mm256_maddubs_epi16(w[r], y));
        const __m256 scale = _mm256_mul_ps(_mm256_loadu_ps(ws + (r * groups + 2 * z) * 4), da);
        acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), scale, acc[r][t]);
        acc[r][t] = _mm256_fnmadd_ps(_mm256_loadu_ps(wm + (r * groups + 2 * z) * 4), asum, acc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int t = 0; t < T; ++t) result[r][t] = hsum_ps(acc[r][t]);
  }
}

// ---- F32 / F16 / BF16: both operands widened to f32, one FMA per (row, token, 8 elements) ----

inline float widen_one(TensorType type, const void* src, int64_t i) {
  if (type == TensorType::kF32) return static_cast<const float*>(src)[i];
  const uint16_t bits = static_cast<const uint16_t*>(src)[i];
  if (type == TensorType::kF16) return f16(bits);
  return _mm_cvtss_f32(_mm_castsi128_ps(_mm_cvtsi32_si128(static_cast<int>(bits) << 16)));
}

// Widens n elements of a row to f32, zero-padding to `padded`.
template <TensorType kType>
void widen_row(const void* src, int64_t n, int64_t padded, float* dst) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v;
    if constexpr (kType == TensorType::kF32) {
      v = _mm256_loadu_ps(static_cast<const float*>(src) + i);
    } else {
      const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(src) + i));
      if constexpr (kType == TensorType::kF16) {
        v = _mm256_cvtph_ps(h);
      } else {
        v = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
      }
    }
    _mm256_storeu_ps(dst + i, v);
  }
  for (; i < n; ++i) dst[i] = widen_one(kType, src, i);
  for (; i < padded; ++i) dst[i] = 0.0f;
}

template <int R, int T>
void fgemm_tile(const FGemmScratch& L, const uint8_t* scratch, int64_t t0, float (&result)[kGemmRows][kGemmTokens]) {
  const auto* w = reinterpret_cast<const float*>(scratch + L.w);
  const auto* a = reinterpret_cast<const float*>(scratch + L.act) + t0 * L.k_pad;
  __m256 acc[R][T];
  for (int r = 0; r < R; ++r) {
    for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
  }
  for (int64_t i = 0; i < L.k_pad; i += 8) {
    __m256 wv[R];
    for (int r = 0; r < R; ++r) wv[r] = _mm256_loadu_ps(w + r * L.k_pad + i);
    for (int t = 0; t < T; ++t) {
      const __m256 av = _mm256_loadu_ps(a + t * L.k_pad + i);
      for (int r = 0; r < R; ++r) acc[r][t] = _mm256_fmadd_ps(wv[r], av, acc[r][t]);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int t = 0; t < T; ++t) result[r][t] = hsum_ps(acc[r][t]);
  }
}

#include "quant/kernels/x86_gemm_drivers.inl"
#include "quant/kernels/x86_gemm_quant_drivers.inl"

}  // namespace

void register_avx2_gemm_kernels(KernelTable& table) {
  set_float_gemm_kernels(table);
  set_quant_gemm_kernels(table);
}

}  // namespace tessera::quant::isa_kernels

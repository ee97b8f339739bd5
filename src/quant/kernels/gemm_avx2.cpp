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

// Tile sizes: 16 ymm registers hold 2 × 4 accumulators plus the operands.
constexpr int kRows = 2;
constexpr int kTokens = 4;
static_assert(kRows <= kGemmRows && kTokens <= kGemmTokens, "scratch is sized for kGemmRows rows");

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

// Q4_K / Q5_K: the 8 packed 6-bit scales and mins, one pair per 32 elements (two groups).
void k4_scales(uint16_t d_bits, uint16_t dmin_bits, const uint8_t* packed, float* scale, float* offset) {
  const float d = f16(d_bits), dmin = f16(dmin_bits);
  for (int s = 0; s < 8; ++s) {
    int sc, m;
    q4k_scale_min(packed, s, sc, m);
    scale[2 * s] = scale[2 * s + 1] = d * static_cast<float>(sc);
    offset[2 * s] = offset[2 * s + 1] = dmin * static_cast<float>(m);
  }
}

void kdecode_q4_k(const BlockQ4_K& b, uint8_t* q, float* scale, float* offset) {
  k4_scales(b.d, b.dmin, b.scales, scale, offset);
  for (int c = 0; c < 4; ++c) {
    const __m256i packed = load256(b.qs + 32 * c);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 64 * c), _mm256_and_si256(packed, _mm256_set1_epi8(0x0f)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 64 * c + 32),
                        _mm256_and_si256(_mm256_srli_epi16(packed, 4), _mm256_set1_epi8(0x0f)));
  }
}

void kdecode_q5_k(const BlockQ5_K& b, uint8_t* q, float* scale, float* offset) {
  k4_scales(b.d, b.dmin, b.scales, scale, offset);
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
  const float d = f16(b.d);
  for (int g = 0; g < 16; ++g) {
    scale[g] = d * static_cast<float>(b.scales[g]);
    offset[g] = 32.0f * scale[g];
  }
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
  const float d = f16(b.d);
  for (int g = 0; g < 16; ++g) {
    scale[g] = d * static_cast<float>(q3k_scale(b.scales, g));
    offset[g] = 4.0f * scale[g];  // q3 = low + 4 * high, value = q3 - 4
  }
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
  const float d = f16(b.d), dmin = f16(b.dmin);
  for (int g = 0; g < 16; ++g) {
    scale[g] = d * static_cast<float>(b.scales[g] & 0xf);
    offset[g] = dmin * static_cast<float>(b.scales[g] >> 4);
  }
  for (int h = 0; h < 2; ++h) {
    const __m256i qs = load256(b.qs + 32 * h);
    for (int g = 0; g < 4; ++g) {
      const __m256i v = _mm256_and_si256(_mm256_srl_epi16(qs, _mm_cvtsi32_si128(2 * g)), _mm256_set1_epi8(3));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 128 * h + 32 * g), v);
    }
  }
}

void kgemm_prepare_acts(const MatmulArgs& args, const KGemmScratch& L, uint8_t* scratch) {
  const int64_t k = args.k, groups = k / 16;
  for (int64_t t = 0; t < args.n_tokens; ++t) {
    const auto* a = static_cast<const BlockQ8_K*>(args.acts) + t * L.n_super;
    uint8_t* q = scratch + L.act_q + t * k;
    float* d = reinterpret_cast<float*>(scratch + L.act_d) + t * L.n_super;
    float* sum4 = reinterpret_cast<float*>(scratch + L.act_sum4) + t * groups * 4;
    for (int64_t sb = 0; sb < L.n_super; ++sb) {
      std::memcpy(q + 256 * sb, a[sb].qs, 256);
      d[sb] = a[sb].d;
      for (int g = 0; g < 16; ++g) {
        const float v = a[sb].d * static_cast<float>(a[sb].bsums[g]) * 0.25f;  // a quarter per lane, exact
        _mm_storeu_ps(sum4 + (16 * sb + g) * 4, _mm_set1_ps(v));
      }
    }
  }
}

template <class Block, class Decode>
void kgemm_decode_rows(const Block* w, int rows, int64_t k, const KGemmScratch& L, uint8_t* scratch, Decode decode) {
  const int64_t groups = k / 16;
  for (int r = 0; r < rows; ++r) {
    uint8_t* q = scratch + L.w_q + r * k;
    float* s4 = reinterpret_cast<float*>(scratch + L.w_s4) + r * groups * 4;
    float* m4 = reinterpret_cast<float*>(scratch + L.w_m4) + r * groups * 4;
    for (int64_t sb = 0; sb < L.n_super; ++sb) {
      float scale[16], offset[16];
      decode(w[r * L.n_super + sb], q + 256 * sb, scale, offset);
      for (int g = 0; g < 16; ++g) {
        _mm_storeu_ps(s4 + (16 * sb + g) * 4, _mm_set1_ps(scale[g]));
        _mm_storeu_ps(m4 + (16 * sb + g) * 4, _mm_set1_ps(offset[g]));
      }
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

// ---- drivers: rows in tiles of kRows, tokens in tiles of kTokens ----

// Runs tile<R, T> for the run-time sizes rows <= kRows, tokens <= kTokens.
template <template <int, int> class Tile, class... Args>
void run_tile(int rows, int tokens, Args&&... args) {
  auto for_rows = [&]<int R>() {
    switch (tokens) {
      case 4: return Tile<R, 4>::run(args...);
      case 3: return Tile<R, 3>::run(args...);
      case 2: return Tile<R, 2>::run(args...);
      default: return Tile<R, 1>::run(args...);
    }
  };
  if (rows == 2) {
    for_rows.template operator()<2>();
  } else {
    for_rows.template operator()<1>();
  }
}

template <int R, int T>
struct Q8Tile {
  static void run(const GemmScratch& L, const uint8_t* s, int64_t t0, float (&out)[kGemmRows][kGemmTokens]) {
    gemm_tile<R, T>(L, s, t0, out);
  }
};
template <int R, int T>
struct FTile {
  static void run(const FGemmScratch& L, const uint8_t* s, int64_t t0, float (&out)[kGemmRows][kGemmTokens]) {
    fgemm_tile<R, T>(L, s, t0, out);
  }
};
template <int R, int T>
struct KTile {
  static void run(const KGemmScratch& L, int64_t k, const uint8_t* s, int64_t t0,
                  float (&out)[kGemmRows][kGemmTokens]) {
    kgemm_tile<R, T>(L, k, s, t0, out);
  }
};

template <class Block, class Decode, class Scale>
void gemm_q8_0_family(const MatmulArgs& args, int64_t row_begin, int64_t row_end, void* scratch_ptr, Decode decode,
                      Scale scale) {
  auto* scratch = static_cast<uint8_t*>(scratch_ptr);
  const GemmScratch L = gemm_scratch_layout(args.k, args.n_tokens);
  gemm_prepare_acts(args, L, scratch);
  const auto* weights = static_cast<const Block*>(args.weights);
  gemm_loop<kRows, kTokens>(
      args, row_begin, row_end, static_cast<size_t>(L.nb_pad) * 64,  // 32 quant bytes + 32 scale bytes per block
      [&](int64_t r0, int rows) { gemm_decode_rows(weights + r0 * L.nb, rows, L, scratch, decode, scale); },
      [&](int rows, int tokens, int64_t t0, float(&out)[kGemmRows][kGemmTokens]) {
        run_tile<Q8Tile>(rows, tokens, L, scratch, t0, out);
      });
}

template <class Block, class Decode>
void gemm_k_family(const MatmulArgs& args, int64_t row_begin, int64_t row_end, void* scratch_ptr, Decode decode) {
  auto* scratch = static_cast<uint8_t*>(scratch_ptr);
  const KGemmScratch L = kgemm_scratch_layout(args.k, args.n_tokens);
  kgemm_prepare_acts(args, L, scratch);
  const auto* weights = static_cast<const Block*>(args.weights);
  gemm_loop<kRows, kTokens>(
      args, row_begin, row_end, static_cast<size_t>(args.k) * 2,  // quants + per-group sums
      [&](int64_t r0, int rows) { kgemm_decode_rows(weights + r0 * L.n_super, rows, args.k, L, scratch, decode); },
      [&](int rows, int tokens, int64_t t0, float(&out)[kGemmRows][kGemmTokens]) {
        run_tile<KTile>(rows, tokens, L, args.k, scratch, t0, out);
      });
}

template <TensorType kType>
void gemm_float(const MatmulArgs& args, int64_t row_begin, int64_t row_end, void* scratch_ptr) {
  auto* scratch = static_cast<uint8_t*>(scratch_ptr);
  const FGemmScratch L = fgemm_scratch_layout(args.k, args.n_tokens);
  const size_t elem = kType == TensorType::kF32 ? 4 : 2;
  const auto* acts = static_cast<const uint8_t*>(args.acts);
  const auto* weights = static_cast<const uint8_t*>(args.weights);
  auto* act_f = reinterpret_cast<float*>(scratch + L.act);
  auto* w_f = reinterpret_cast<float*>(scratch + L.w);
  for (int64_t t = 0; t < args.n_tokens; ++t)
    widen_row<kType>(acts + t * args.k * elem, args.k, L.k_pad, act_f + t * L.k_pad);
  gemm_loop<kRows, kTokens>(
      args, row_begin, row_end, static_cast<size_t>(L.k_pad) * 4,
      [&](int64_t r0, int rows) {
        for (int r = 0; r < rows; ++r)
          widen_row<kType>(weights + (r0 + r) * args.k * elem, args.k, L.k_pad, w_f + r * L.k_pad);
      },
      [&](int rows, int tokens, int64_t t0, float(&out)[kGemmRows][kGemmTokens]) {
        run_tile<FTile>(rows, tokens, L, scratch, t0, out);
      });
}

#define TESSERA_GEMM_Q8_0(name, Block, decode, scale)                                    \
  void name(const MatmulArgs& args, int64_t row_begin, int64_t row_end, void* scratch) { \
    gemm_q8_0_family<Block>(args, row_begin, row_end, scratch, decode, scale);           \
  }
TESSERA_GEMM_Q8_0(gemm_q4_0_q8_0, BlockQ4_0, decode_q4_0, scale_d<BlockQ4_0>)
TESSERA_GEMM_Q8_0(gemm_q5_0_q8_0, BlockQ5_0, decode_q5_0, scale_d<BlockQ5_0>)
TESSERA_GEMM_Q8_0(gemm_q8_0_q8_0, BlockQ8_0, decode_q8_0, scale_d<BlockQ8_0>)
TESSERA_GEMM_Q8_0(gemm_iq4_nl_q8_0, BlockIQ4_NL, decode_iq4_nl, scale_d<BlockIQ4_NL>)
TESSERA_GEMM_Q8_0(gemm_mxfp4_q8_0, BlockMXFP4, decode_mxfp4, scale_mxfp4)
#undef TESSERA_GEMM_Q8_0

#define TESSERA_GEMM_K(name, Block, decode)                                              \
  void name(const MatmulArgs& args, int64_t row_begin, int64_t row_end, void* scratch) { \
    gemm_k_family<Block>(args, row_begin, row_end, scratch, decode);                     \
  }
TESSERA_GEMM_K(gemm_q2_k_q8_k, BlockQ2_K, kdecode_q2_k)
TESSERA_GEMM_K(gemm_q3_k_q8_k, BlockQ3_K, kdecode_q3_k)
TESSERA_GEMM_K(gemm_q4_k_q8_k, BlockQ4_K, kdecode_q4_k)
TESSERA_GEMM_K(gemm_q5_k_q8_k, BlockQ5_K, kdecode_q5_k)
TESSERA_GEMM_K(gemm_q6_k_q8_k, BlockQ6_K, kdecode_q6_k)
#undef TESSERA_GEMM_K

}  // namespace

void register_avx2_gemm_kernels(KernelTable& table) {
  auto set = [&](TensorType type, GemmFn fn) { table.gemm[static_cast<size_t>(type)] = fn; };
  set(TensorType::kQ4_0, gemm_q4_0_q8_0);
  set(TensorType::kQ5_0, gemm_q5_0_q8_0);
  set(TensorType::kQ8_0, gemm_q8_0_q8_0);
  set(TensorType::kIQ4_NL, gemm_iq4_nl_q8_0);
  set(TensorType::kMXFP4, gemm_mxfp4_q8_0);
  set(TensorType::kQ2_K, gemm_q2_k_q8_k);
  set(TensorType::kQ3_K, gemm_q3_k_q8_k);
  set(TensorType::kQ4_K, gemm_q4_k_q8_k);
  set(TensorType::kQ5_K, gemm_q5_k_q8_k);
  set(TensorType::kQ6_K, gemm_q6_k_q8_k);
  set(TensorType::kF32, gemm_float<TensorType::kF32>);
  set(TensorType::kF16, gemm_float<TensorType::kF16>);
  set(TensorType::kBF16, gemm_float<TensorType::kBF16>);
}

}  // namespace tessera::quant::isa_kernels

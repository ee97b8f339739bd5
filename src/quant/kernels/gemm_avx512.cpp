// AVX-512 VNNI matrix-matrix kernels (several weight rows × several tokens per step) for prompt
// processing. Compiled with the same flags as dot_avx512.cpp and only used after CPU detection
// found AVX-512 F/BW/VL + VNNI. dispatch.cpp's matmul() calls these for any n_tokens and passes
// the scratch memory (layouts in kernels.h), so nothing here allocates.
// GCC 12's AVX-512 headers trip its own -Wuninitialized (see dot_avx512.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstring>

#include "quant/blocks.h"
#include "quant/kernels/block_decode.h"
#include "quant/kernels/kernels.h"

namespace tessera::quant::isa_kernels {
namespace {

#include "quant/kernels/x86_common.inl"
#include "quant/kernels/x86_gemm_common.inl"

// Tile sizes: the whole scratch tile; 32 zmm registers hold its 16 accumulators plus the operands.
constexpr int kRows = kGemmRows;
constexpr int kTokens = kGemmTokens;

// ---- matmul for the Q8_0 family (Q4_0, Q5_0, Q8_0, IQ4_NL, MXFP4 weights) ----
// Prompt processing is compute bound, so operands are re-laid once to make the inner loop short:
// activations become unsigned bytes u = y + 128 (vpdpbusd multiplies unsigned by signed, and the
// weight keeps its sign, so no per-product sign fix-up is needed), and kGemmRows weight rows at a
// time are decoded to plain int8. sum(u w) = sum(y w) + 128 sum(w): the second term is removed
// exactly by starting each block's integer dot from -128 sum(w). Blocks go two per 512-bit
// register with their scales pre-broadcast, so per (row, token, block pair) the work is
// dot, convert, scale product, fma. The tile of kGemmRows × kGemmTokens accumulators stays in
// registers.

inline __m512i load512(const void* p) {
  return _mm512_loadu_si512(p);
}

void gemm_prepare_acts(const MatmulArgs& args, const GemmScratch& L, uint8_t* scratch) {
  const int64_t kp = L.nb_pad * 32;
  const size_t a_stride = static_cast<size_t>(L.nb) * sizeof(BlockQ8_0);
  for (int64_t t = 0; t < args.n_tokens; ++t) {
    const auto* a = reinterpret_cast<const BlockQ8_0*>(static_cast<const uint8_t*>(args.acts) + t * a_stride);
    uint8_t* u = scratch + L.act_q + t * kp;
    float* s8 = reinterpret_cast<float*>(scratch + L.act_s8) + t * L.nb_pad * 8;
    for (int64_t i = 0; i < L.nb_pad; ++i) {
      const bool real = i < L.nb;
      const __m256i q = real ? load256(a[i].qs) : _mm256_setzero_si256();
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(u + 32 * i), _mm256_xor_si256(q, _mm256_set1_epi8(-128)));
      _mm256_storeu_ps(s8 + 8 * i, _mm256_set1_ps(real ? f16(a[i].d) : 0.0f));
    }
  }
}

// Decodes `rows` weight rows (rows <= kGemmRows) starting at `w` into the scratch slots.
template <class Block, class Decode, class Scale>
void gemm_decode_rows(const Block* w, int rows, const GemmScratch& L, uint8_t* scratch, Decode decode, Scale scale) {
  const int64_t kp = L.nb_pad * 32;
  for (int r = 0; r < rows; ++r) {
    const Block* row = w + r * L.nb;
    auto* q = reinterpret_cast<int8_t*>(scratch + L.w_q + r * kp);
    float* s8 = reinterpret_cast<float*>(scratch + L.w_s8) + r * L.nb_pad * 8;
    int32_t* corr = reinterpret_cast<int32_t*>(scratch + L.w_corr) + r * L.nb_pad * 8;
    for (int64_t i = 0; i < L.nb_pad; ++i) {
      const bool real = i < L.nb;
      const __m256i v = real ? decode(row[i]) : _mm256_setzero_si256();
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 32 * i), v);
      _mm256_storeu_ps(s8 + 8 * i, _mm256_set1_ps(real ? scale(row[i]) : 0.0f));
      // sum(v): |v| sums of (v + 128) as unsigned bytes, minus 32 * 128.
      const __m256i sad = _mm256_sad_epu8(_mm256_xor_si256(v, _mm256_set1_epi8(-128)), _mm256_setzero_si256());
      const int sum = hsum_epi32(sad) - 32 * 128;  // sad leaves four 64-bit sums < 2^13
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(corr + 8 * i), lane0(-128 * sum));
    }
  }
}

// One tile: R decoded weight rows × T tokens, all blocks. out[r * out_stride_t ... ] written by
// the caller from `result[r][t]`.
template <int R, int T>
void gemm_tile(const GemmScratch& L, const uint8_t* scratch, int64_t t0, float (&result)[kGemmRows][kGemmTokens]) {
  const int64_t kp = L.nb_pad * 32;
  const auto* wq = scratch + L.w_q;
  const auto* ws = reinterpret_cast<const float*>(scratch + L.w_s8);
  const auto* wc = reinterpret_cast<const int32_t*>(scratch + L.w_corr);
  const auto* aq = scratch + L.act_q + t0 * kp;
  const auto* as = reinterpret_cast<const float*>(scratch + L.act_s8) + t0 * L.nb_pad * 8;
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r) {
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  }
  for (int64_t i = 0; i < L.nb_pad; i += 2) {  // a pair of blocks: 64 quants, 16 lanes of scales
    __m512i w[R], corr[R];
    __m512 wscale[R];
    for (int r = 0; r < R; ++r) {
      w[r] = load512(wq + r * kp + 32 * i);
      corr[r] = load512(wc + (r * L.nb_pad + i) * 8);
      wscale[r] = _mm512_loadu_ps(ws + (r * L.nb_pad + i) * 8);
    }
    for (int t = 0; t < T; ++t) {
      const __m512i u = load512(aq + t * kp + 32 * i);
      const __m512 ascale = _mm512_loadu_ps(as + (t * L.nb_pad + i) * 8);
      for (int r = 0; r < R; ++r) {
        const __m512i p = _mm512_dpbusd_epi32(corr[r], u, w[r]);
        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(wscale[r], ascale), acc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int t = 0; t < T; ++t) result[r][t] = _mm512_reduce_add_ps(acc[r][t]);
  }
}

// ---- matmul for the k-quants and IQ4_XS against Q8_K ----
// Same plan as above with 16-element groups: weight rows are decoded once per call to unsigned
// quants (u8, the unsigned operand of vpdpbusd; IQ4_XS values get +128) with a float scale and
// offset per group (value = scale * q - offset), so one 512-bit register covers four groups. The
// offset term needs only the activations' per-group sums, which Q8_K carries (bsums):
// sum_g (scale_g sum(q y) - offset_g sum_g(y)) d_a.

// Super-block decoders: q[256] unsigned, scale[16] and offset[16] per 16-element group.
void kdecode_q4_k(const BlockQ4_K& b, uint8_t* q, float* scale, float* offset) {
  kscales_q4_k(b.d, b.dmin, b.scales, scale, offset);
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      q[64 * c + l] = b.qs[32 * c + l] & 0xf;
      q[64 * c + 32 + l] = b.qs[32 * c + l] >> 4;
    }
  }
}

void kdecode_q5_k(const BlockQ5_K& b, uint8_t* q, float* scale, float* offset) {
  kscales_q4_k(b.d, b.dmin, b.scales, scale, offset);
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      q[64 * c + l] = static_cast<uint8_t>((b.qs[32 * c + l] & 0xf) | (((b.qh[l] >> (2 * c)) & 1) << 4));
      q[64 * c + 32 + l] = static_cast<uint8_t>((b.qs[32 * c + l] >> 4) | (((b.qh[l] >> (2 * c + 1)) & 1) << 4));
    }
  }
}

void kdecode_q6_k(const BlockQ6_K& b, uint8_t* q, float* scale, float* offset) {
  kscales_q6_k(b, scale, offset);
  for (int h = 0; h < 2; ++h) {
    const uint8_t* ql = b.ql + 64 * h;
    const uint8_t* qh = b.qh + 32 * h;
    uint8_t* out = q + 128 * h;
    for (int l = 0; l < 32; ++l) {
      out[l] = static_cast<uint8_t>((ql[l] & 0xf) | ((qh[l] & 3) << 4));
      out[l + 32] = static_cast<uint8_t>((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4));
      out[l + 64] = static_cast<uint8_t>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
      out[l + 96] = static_cast<uint8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
    }
  }
}

void kdecode_q3_k(const BlockQ3_K& b, uint8_t* q, float* scale, float* offset) {
  kscales_q3_k(b, scale, offset);
  for (int h = 0; h < 2; ++h) {
    for (int g = 0; g < 4; ++g) {
      for (int l = 0; l < 32; ++l) {
        q[128 * h + 32 * g + l] =
            static_cast<uint8_t>(((b.qs[32 * h + l] >> (2 * g)) & 3) | (((b.hmask[l] >> (4 * h + g)) & 1) << 2));
      }
    }
  }
}

void kdecode_q2_k(const BlockQ2_K& b, uint8_t* q, float* scale, float* offset) {
  kscales_q2_k(b, scale, offset);
  for (int h = 0; h < 2; ++h) {
    for (int g = 0; g < 4; ++g) {
      for (int l = 0; l < 32; ++l) q[128 * h + 32 * g + l] = (b.qs[32 * h + l] >> (2 * g)) & 3;
    }
  }
}

void kdecode_iq4_xs(const BlockIQ4_XS& b, uint8_t* q, float* scale, float* offset) {
  const float d = f16(b.d);
  for (int s = 0; s < 8; ++s) {
    scale[2 * s] = scale[2 * s + 1] = d * static_cast<float>(iq4xs_scale(b, s));
    offset[2 * s] = offset[2 * s + 1] = 128.0f * scale[2 * s];  // quants stored as value + 128
    for (int j = 0; j < 16; ++j) {
      q[32 * s + j] = static_cast<uint8_t>(kIq4nlValues[b.qs[16 * s + j] & 0xf] + 128);
      q[32 * s + 16 + j] = static_cast<uint8_t>(kIq4nlValues[b.qs[16 * s + j] >> 4] + 128);
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
  const auto* aq = reinterpret_cast<const int8_t*>(scratch + L.act_q) + t0 * k;
  const auto* ad = reinterpret_cast<const float*>(scratch + L.act_d) + t0 * L.n_super;
  const auto* as = reinterpret_cast<const float*>(scratch + L.act_sum4) + t0 * groups * 4;
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r) {
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  }
  for (int64_t z = 0; z < k / 64; ++z) {  // 64 elements = 4 groups = 16 lanes
    __m512i w[R];
    for (int r = 0; r < R; ++r) w[r] = load512(wq + r * k + 64 * z);
    for (int t = 0; t < T; ++t) {
      const __m512i y = load512(aq + t * k + 64 * z);
      const __m512 da = _mm512_set1_ps(ad[t * L.n_super + z / 4]);
      const __m512 asum = _mm512_loadu_ps(as + (t * groups + 4 * z) * 4);
      for (int r = 0; r < R; ++r) {
        const __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w[r], y);
        const __m512 scale = _mm512_loadu_ps(ws + (r * groups + 4 * z) * 4);
        const __m512 offset = _mm512_loadu_ps(wm + (r * groups + 4 * z) * 4);
        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(scale, da), acc[r][t]);
        acc[r][t] = _mm512_fnmadd_ps(offset, asum, acc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int t = 0; t < T; ++t) result[r][t] = _mm512_reduce_add_ps(acc[r][t]);
  }
}

// ---- matmul for F32 / F16 / BF16 weights ----
// Both operands are widened to f32 once (weights kGemmRows rows at a time), then a 4 × 4 tile of
// 16-lane accumulators does one FMA per (row, token, 16 elements).

// Widens n elements of a row (f32, f16 or bf16 bits) to f32, zero-padding to `padded`.
template <TensorType kType>
void widen_row(const void* src, int64_t n, int64_t padded, float* dst) {
  for (int64_t i = 0; i < padded; i += 16) {
    const int64_t left = n - i;
    const __mmask16 m = left >= 16 ? __mmask16(0xffff) : left <= 0 ? __mmask16(0) : __mmask16((1u << left) - 1);
    __m512 v;
    if constexpr (kType == TensorType::kF32) {
      v = _mm512_maskz_loadu_ps(m, static_cast<const float*>(src) + i);
    } else if constexpr (kType == TensorType::kF16) {
      v = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, static_cast<const uint16_t*>(src) + i));
    } else {
      const __m512i wide = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, static_cast<const uint16_t*>(src) + i));
      v = _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
    }
    _mm512_storeu_ps(dst + i, v);
  }
}

template <int R, int T>
void fgemm_tile(const FGemmScratch& L, const uint8_t* scratch, int64_t t0, float (&result)[kGemmRows][kGemmTokens]) {
  const auto* w = reinterpret_cast<const float*>(scratch + L.w);
  const auto* a = reinterpret_cast<const float*>(scratch + L.act) + t0 * L.k_pad;
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r) {
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  }
  for (int64_t i = 0; i < L.k_pad; i += 16) {
    __m512 wv[R];
    for (int r = 0; r < R; ++r) wv[r] = _mm512_loadu_ps(w + r * L.k_pad + i);
    for (int t = 0; t < T; ++t) {
      const __m512 av = _mm512_loadu_ps(a + t * L.k_pad + i);
      for (int r = 0; r < R; ++r) acc[r][t] = _mm512_fmadd_ps(wv[r], av, acc[r][t]);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int t = 0; t < T; ++t) result[r][t] = _mm512_reduce_add_ps(acc[r][t]);
  }
}

#include "quant/kernels/x86_gemm_drivers.inl"

}  // namespace

void register_avx512_gemm_kernels(KernelTable& table) {
  set_shared_gemm_kernels(table);
  table.gemm[static_cast<size_t>(TensorType::kIQ4_XS)] = gemm_k_family<BlockIQ4_XS, kdecode_iq4_xs>;
}

}  // namespace tessera::quant::isa_kernels

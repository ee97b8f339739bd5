// AVX-512 VNNI matrix-matrix kernels (several weight rows × several tokens per step) for prompt
// processing. Compiled with the same flags as dot_avx512.cpp and only used after CPU detection
// found AVX-512 F/BW/VL + VNNI. dispatch.cpp's matmul() calls these for every n_tokens except a
// single token of a type with a matvec_avx512.cpp kernel (which gives the same bits), and passes
// the scratch memory (layouts in kernels.h), so nothing here allocates.
#include "quant/kernels/avx512_intrinsics.h"

#include <cstring>

#include "quant/blocks.h"
#include "quant/kernels/block_decode.h"
#include "quant/kernels/kernels.h"

namespace tessera::quant::isa_kernels {
namespace {

#include "quant/kernels/x86_common.inl"
#include "quant/kernels/x86_gemm_common.inl"

// Float GEMM tile sizes: the whole scratch tile; 32 zmm registers hold its 16 accumulators plus the operands.
constexpr int kRows = kGemmRows;
constexpr int kTokens = kGemmTokens;

// ---- scalar super-block decoders of the rarer k-quants and IQ4_XS ----
// q[256] unsigned (the unsigned operand of vpdpbusd; IQ4_XS values get +128), scale[16] and
// offset[16] per 16-element group: value = scale * q - offset. (Q4_K and Q6_K have the SIMD
// decoders of x86_vnni16.inl, shared with the matvec kernels; Q4_K has its own GEMM below.)
void kdecode_q5_k(const BlockQ5_K& b, uint8_t* q, float* scale, float* offset) {
  kscales_q4_k(b.d, b.dmin, b.scales, scale, offset);
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      q[64 * c + l] = static_cast<uint8_t>((b.qs[32 * c + l] & 0xf) | (((b.qh[l] >> (2 * c)) & 1) << 4));
      q[64 * c + 32 + l] = static_cast<uint8_t>((b.qs[32 * c + l] >> 4) | (((b.qh[l] >> (2 * c + 1)) & 1) << 4));
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
#include "quant/kernels/x86_vnni16.inl"

// ---- "one lane per block" GEMM for the Q8_0 family and the k-quants (layouts in kernels.h) ----
// The inner loop is loads and vpdpbusd only: a register holds 4 bytes of each of 16 blocks, so 8
// (Q8_0 family) or 4 (k-quants) vpdpbusd leave 16 whole block dots in 16 lanes, and the float work
// of x86_vnni16.inl is done once per 16 blocks. A 4-row × 3-token tile keeps its 12 integer and
// 12 float accumulators, 4 weight registers and one activation register in the 32 zmm registers.
constexpr int kVRows = kVnniRows;
constexpr int kVTokens = 3;

static_assert(kVRows * kVTokens <= 16, "reduce_tile sums at most 16 accumulators");

// The horizontal sums of a tile's float accumulators, all at once: out[kVRows t + r] = the sum of
// acc[r][t]'s 16 lanes. Each sum pairs lanes exactly as _mm512_reduce_add_ps does (i + (i + 8),
// then + 4, then + 2, then lane 0 + lane 1), so it equals the matvec kernels' reduction bit for bit,
// at 45 shuffles and adds for the whole tile instead of about 8 per accumulator.
template <int R, int T>
__attribute__((always_inline)) inline void reduce_tile(const __m512 (&acc)[R][T], float* out) {
  __m512 v[16];  // v[T r + t] = acc[r][t]; zeros elsewhere
  for (int i = 0; i < 16; ++i) v[i] = _mm512_setzero_ps();
  for (int r = 0; r < R; ++r) {
    for (int t = 0; t < T; ++t) v[T * r + t] = acc[r][t];
  }
  __m512 halves[8];  // lanes 0..7: v[2p] folded to 8 lanes (i + (i + 8)); lanes 8..15: v[2p + 1]
  for (int p = 0; p < 8; ++p) {
    halves[p] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * p], v[2 * p + 1], 0x44),
                              _mm512_shuffle_f32x4(v[2 * p], v[2 * p + 1], 0xee));
  }
  __m512 quarters[4];  // 128-bit chunk c: v[4q + c] folded to 4 lanes (i + (i + 4))
  for (int q = 0; q < 4; ++q) {
    quarters[q] = _mm512_add_ps(_mm512_shuffle_f32x4(halves[2 * q], halves[2 * q + 1], 0x88),
                                _mm512_shuffle_f32x4(halves[2 * q], halves[2 * q + 1], 0xdd));
  }
  __m512 pairs[2];  // chunk c, lanes 0-1: v[8s + c] folded to 2 lanes (i + (i + 2)); lanes 2-3: v[8s + 4 + c]
  for (int s = 0; s < 2; ++s) {
    pairs[s] = _mm512_add_ps(_mm512_shuffle_ps(quarters[2 * s], quarters[2 * s + 1], 0x44),
                             _mm512_shuffle_ps(quarters[2 * s], quarters[2 * s + 1], 0xee));
  }
  // chunk c, lane l: v[4l + c] (lane 0 + lane 1)
  alignas(64) float sums[16];
  _mm512_store_ps(
      sums, _mm512_add_ps(_mm512_shuffle_ps(pairs[0], pairs[1], 0x88), _mm512_shuffle_ps(pairs[0], pairs[1], 0xdd)));
  for (int r = 0; r < R; ++r) {
    for (int t = 0; t < T; ++t) {
      const int i = T * r + t;
      out[kVRows * t + r] = sums[4 * (i % 4) + i / 4];
    }
  }
}

// Operands into the transposed order with permutes (a gather per register would cost 16 loads).
// Q8_0 family: p[q] holds blocks 2q and 2q + 1 (8 words each); out[s] lane j = word s of block j.
inline void transpose_blocks(const __m512i (&p)[8], __m512i (&out)[8]) {
  const __m512i halves = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 0, 0, 0, 0, 0, 0, 0, 0);
  for (int s = 0; s < 8; ++s) {
    const __m512i pick = _mm512_setr_epi32(s, 8 + s, 16 + s, 24 + s, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    __m512i four[4];  // lanes 0..3: blocks 4q .. 4q + 3
    for (int q = 0; q < 4; ++q) four[q] = _mm512_permutex2var_epi32(p[2 * q], pick, p[2 * q + 1]);
    const __m512i low = _mm512_permutex2var_epi32(four[0], halves, four[1]);
    const __m512i high = _mm512_permutex2var_epi32(four[2], halves, four[3]);
    out[s] = _mm512_inserti64x4(low, _mm512_castsi512_si256(high), 1);
  }
}

// k-quants: p[c] holds groups 4c .. 4c + 3 (4 words each); out[s] lane g = word s of group g.
inline void transpose_groups(const __m512i (&p)[4], __m512i (&out)[4]) {
  for (int s = 0; s < 4; ++s) {
    const __m512i pick =
        _mm512_setr_epi32(s, 4 + s, 8 + s, 12 + s, 16 + s, 20 + s, 24 + s, 28 + s, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i low = _mm512_permutex2var_epi32(p[0], pick, p[1]);
    const __m512i high = _mm512_permutex2var_epi32(p[2], pick, p[3]);
    out[s] = _mm512_inserti64x4(low, _mm512_castsi512_si256(high), 1);
  }
}

// Group g (16 blocks) of a row of nb Q8_0-family blocks in transposed order (steps) with its 16
// block scales; blocks past the row's end are zero with scale 0.
template <class Block, auto kDecode, auto kScale>
void load_block_group(const Block* row, int64_t nb, int64_t g, __m512i (&steps)[8], __m512& scales) {
  alignas(64) float scale[16];
  __m512i pairs[8];
  for (int j = 0; j < 16; j += 2) {
    __m256i q[2];
    for (int h = 0; h < 2; ++h) {
      const int64_t i = 16 * g + j + h;
      q[h] = i < nb ? kDecode(row[i]) : _mm256_setzero_si256();
      scale[j + h] = i < nb ? kScale(row[i]) : 0.0f;
    }
    pairs[j / 2] = join256(q[0], q[1]);
  }
  transpose_blocks(pairs, steps);
  scales = _mm512_load_ps(scale);
}

// Q8_0 activations: u = y + 128 in transposed order, block scales per group of 16.
void vq8_prepare_acts(const MatmulArgs& args, const VnniQ8Scratch& L, uint8_t* scratch) {
  const auto* acts = static_cast<const BlockQ8_0*>(args.acts);
  for (int64_t t = 0; t < args.n_tokens; ++t) {
    for (int64_t g = 0; g < L.ng; ++g) {
      __m512i steps[8];
      __m512 scales;
      load_block_group<BlockQ8_0, decode_q8_0, scale_d<BlockQ8_0>>(acts + t * L.nb, L.nb, g, steps, scales);
      uint8_t* u = scratch + L.act_u + (t * L.ng + g) * 512;
      for (int step = 0; step < 8; ++step) {
        _mm512_store_si512(u + 64 * step, _mm512_xor_si512(steps[step], _mm512_set1_epi8(-128)));
      }
      _mm512_store_ps(reinterpret_cast<float*>(scratch + L.act_s) + (t * L.ng + g) * 16, scales);
    }
  }
}

// Decodes `rows` weight rows starting at `w` into the transposed slots, with the scales and the
// -128 * sum(w) corrections that remove the activations' +128 exactly.
template <class Block, auto kDecode, auto kScale>
void vq8_decode_rows(const Block* w, int rows, const VnniQ8Scratch& L, uint8_t* scratch) {
  for (int r = 0; r < rows; ++r) {
    for (int64_t g = 0; g < L.ng; ++g) {
      __m512i steps[8];
      __m512 scales;
      load_block_group<Block, kDecode, kScale>(w + r * L.nb, L.nb, g, steps, scales);
      const size_t slot = static_cast<size_t>(g * kVRows + r);
      __m512i sum = _mm512_setzero_si512();
      for (int step = 0; step < 8; ++step) {
        _mm512_store_si512(scratch + L.w_q + ((g * 8 + step) * kVRows + r) * 64, steps[step]);
        sum = _mm512_dpbusd_epi32(sum, _mm512_set1_epi8(1), steps[step]);
      }
      _mm512_store_si512(scratch + L.w_corr + slot * 64,
                         _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sum, 7)));
      _mm512_store_ps(reinterpret_cast<float*>(scratch + L.w_s) + slot * 16, scales);
    }
  }
}

// The integer dots of group g for an R × T tile, over all 16 lanes (V = __m512i) or the low 8
// (V = __m256i): isum[r][t] lane j = sum(y * w) of block j.
template <class V, int R, int T>
void group_dots(const VnniQ8Scratch& L, const uint8_t* scratch, int64_t t0, int64_t g, V (&isum)[R][T]) {
  const auto load = [](const uint8_t* p) {
    if constexpr (sizeof(V) == 64) {
      return _mm512_load_si512(p);
    } else {
      return _mm256_load_si256(reinterpret_cast<const __m256i*>(p));
    }
  };
  const uint8_t* w_g = scratch + L.w_q + g * 8 * kVRows * 64;  // [8 steps][kVRows][64]
  const int64_t a_stride = L.ng * 512;                         // bytes between tokens
  const uint8_t* a_g = scratch + L.act_u + t0 * a_stride + g * 512;
  for (int r = 0; r < R; ++r) {
    const V corr = load(scratch + L.w_corr + (g * kVRows + r) * 64);
    for (int t = 0; t < T; ++t) isum[r][t] = corr;
  }
  for (int step = 0; step < 8; ++step) {
    V w[R];
    for (int r = 0; r < R; ++r) w[r] = load(w_g + (step * kVRows + r) * 64);
    for (int t = 0; t < T; ++t) {
      const V u = load(a_g + t * a_stride + 64 * step);
      for (int r = 0; r < R; ++r) {
        if constexpr (sizeof(V) == 64) {
          isum[r][t] = _mm512_dpbusd_epi32(isum[r][t], u, w[r]);
        } else {
          isum[r][t] = _mm256_dpbusd_epi32(isum[r][t], u, w[r]);
        }
      }
    }
  }
}

template <int R, int T>
struct VQ8Tile {
  static void run(const VnniQ8Scratch& L, const uint8_t* scratch, int64_t t0, float* result) {
    const auto* ws = reinterpret_cast<const float*>(scratch + L.w_s);
    const auto* as = reinterpret_cast<const float*>(scratch + L.act_s);
    __m512 acc[R][T];
    for (int r = 0; r < R; ++r) {
      for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
    }
    for (int64_t g = 0; g < L.ng; ++g) {
      __m512i isum[R][T];
      if (L.nb - 16 * g > 8) {
        group_dots<__m512i, R, T>(L, scratch, t0, g, isum);
      } else {  // a last group of at most 8 blocks: the zero upper lanes need no work
        __m256i low[R][T];
        group_dots<__m256i, R, T>(L, scratch, t0, g, low);
        for (int r = 0; r < R; ++r) {
          for (int t = 0; t < T; ++t) isum[r][t] = _mm512_zextsi256_si512(low[r][t]);
        }
      }
      for (int r = 0; r < R; ++r) {
        const __m512 w_scale = _mm512_load_ps(ws + (g * kVRows + r) * 16);
        for (int t = 0; t < T; ++t) {
          acc[r][t] = q8_group_step(acc[r][t], isum[r][t], w_scale, _mm512_load_ps(as + ((t0 + t) * L.ng + g) * 16));
        }
      }
    }
    reduce_tile(acc, result);
  }
};

// Stores one lane group of re-laid Q8_K activations (token slot = t * ng + g) and of weights (row r
// of the tile), for either lane-group layout of VnniKScratch.
template <int kSteps>
void store_act_group(const VnniKScratch& L, uint8_t* scratch, size_t slot, const __m512i (&steps)[kSteps], __m512 d,
                     __m512 sums) {
  for (int step = 0; step < kSteps; ++step) {
    _mm512_store_si512(scratch + L.act_q + slot * L.group_bytes + 64 * step, steps[step]);
  }
  _mm512_store_ps(reinterpret_cast<float*>(scratch + L.act_d) + slot * 16, d);
  _mm512_store_ps(reinterpret_cast<float*>(scratch + L.act_sum) + slot * 16, sums);
}

template <int kSteps>
void store_weight_group(const VnniKScratch& L, uint8_t* scratch, int64_t g, int r, const __m512i (&steps)[kSteps],
                        __m512 scale, __m512 offset) {
  for (int step = 0; step < kSteps; ++step) {
    _mm512_store_si512(scratch + L.w_q + ((g * kSteps + step) * kVRows + r) * 64, steps[step]);
  }
  const size_t slot = static_cast<size_t>(g * kVRows + r);
  _mm512_store_ps(reinterpret_cast<float*>(scratch + L.w_s) + slot * 16, scale);
  _mm512_store_ps(reinterpret_cast<float*>(scratch + L.w_m) + slot * 16, offset);
}

// Q8_K activations: quants in transposed order, per lane the super-block d and d * bsum of the
// group, or for a zero-point type (kZeroPoint > 0) the integer -z * bsum (stored in act_sum's place).
template <int kZeroPoint>
void vk_prepare_acts(const MatmulArgs& args, const VnniKScratch& L, uint8_t* scratch) {
  const auto* acts = static_cast<const BlockQ8_K*>(args.acts);
  for (int64_t t = 0; t < args.n_tokens; ++t) {
    for (int64_t sb = 0; sb < L.ns; ++sb) {
      const BlockQ8_K& a = acts[t * L.ns + sb];
      const size_t slot = static_cast<size_t>(t * L.ns + sb);
      const __m512i groups[4] = {_mm512_loadu_si512(a.qs), _mm512_loadu_si512(a.qs + 64),
                                 _mm512_loadu_si512(a.qs + 128), _mm512_loadu_si512(a.qs + 192)};
      __m512i steps[4];
      transpose_groups(groups, steps);
      const __m512 sums = kZeroPoint != 0 ? _mm512_castsi512_ps(q8k_group_zero_corr(a, kZeroPoint)) : q8k_group_sums(a);
      store_act_group(L, scratch, slot, steps, _mm512_set1_ps(a.d), sums);
    }
  }
}

// The scalar decoders (q[256], scale[16], offset[16]) as a KSuper.
template <class Block, auto kDecode>
KSuper decode_k_scalar(const Block& b) {
  alignas(64) uint8_t q[256];
  alignas(64) float scale[16], offset[16];
  kDecode(b, q, scale, offset);
  KSuper s;
  for (int c = 0; c < 4; ++c) s.q[c] = _mm512_load_si512(q + 64 * c);
  s.scale = _mm512_load_ps(scale);
  s.offset = _mm512_load_ps(offset);
  return s;
}

template <class Block, auto kDecodeVec>
void vk_decode_rows(const Block* w, int rows, const VnniKScratch& L, uint8_t* scratch) {
  for (int r = 0; r < rows; ++r) {
    for (int64_t sb = 0; sb < L.ns; ++sb) {
      const KSuper s = kDecodeVec(w[r * L.ns + sb]);
      __m512i steps[4];
      transpose_groups(s.q, steps);
      store_weight_group(L, scratch, sb, r, steps, s.scale, s.offset);
    }
  }
}

// ---- Q4_K: one lane per 32-element sub-block, two super-blocks per 16 lanes (supers_per_group 2) ----
// transpose_blocks turns a pair's 8 registers (sub-blocks 2c and 2c + 1 in register c) into 8 steps
// whose lane j holds 4 bytes of sub-block j, as for the Q8_0 family's blocks.

// The second super-block of pair p of a row of ns, or nullptr past the row's end.
template <class Block>
const Block* second_of_pair(const Block* row, int64_t ns, int64_t p) {
  return 2 * p + 1 < ns ? row + 2 * p + 1 : nullptr;
}

// Q8_K activations: quants in transposed order, per lane the super-block d and d * sub-block sum.
void vk32_prepare_acts(const MatmulArgs& args, const VnniKScratch& L, uint8_t* scratch) {
  const auto* acts = static_cast<const BlockQ8_K*>(args.acts);
  for (int64_t t = 0; t < args.n_tokens; ++t) {
    const BlockQ8_K* row = acts + t * L.ns;
    for (int64_t p = 0; p < L.ng; ++p) {
      const BlockQ8_K& a0 = row[2 * p];
      const BlockQ8_K* a1 = second_of_pair(row, L.ns, p);
      __m512i blocks[8], steps[8];
      for (int c = 0; c < 4; ++c) {
        blocks[c] = _mm512_loadu_si512(a0.qs + 64 * c);
        blocks[4 + c] = a1 != nullptr ? _mm512_loadu_si512(a1->qs + 64 * c) : _mm512_setzero_si512();
      }
      transpose_blocks(blocks, steps);
      const size_t slot = static_cast<size_t>(t * L.ng + p);
      store_act_group(L, scratch, slot, steps, q8k_pair_d(a0, a1), q8k_pair_sums(a0, a1));
    }
  }
}

// A pair's Q4_K quants straight from the packed nibbles into step order: the same registers as
// transpose_blocks(decode_q4_k_pair(...).q) with 12 permutes instead of 64. Step s, lanes 2m and
// 2m + 1 = the low and high nibbles (sub-blocks 2m, 2m + 1 of the pair) of dword s of the pair's
// m-th 32-byte chunk of quants (chunks 0-3: the first super-block).
inline void q4_k_pair_steps(const BlockQ4_K& b0, const BlockQ4_K* b1, __m512i (&steps)[8]) {
  // Per super-block, lane 4 (s % 4) + c = dword s of chunk c: [0] for steps 0-3, [1] for steps 4-7.
  const __m512i first_steps = _mm512_setr_epi32(0, 8, 16, 24, 1, 9, 17, 25, 2, 10, 18, 26, 3, 11, 19, 27);
  const __m512i later_steps = _mm512_add_epi32(first_steps, _mm512_set1_epi32(4));
  __m512i by_step[2][2];  // [super-block][steps 0-3 | 4-7]
  for (int h = 0; h < 2; ++h) {
    const BlockQ4_K* b = h == 0 ? &b0 : b1;
    if (b == nullptr) {
      by_step[h][0] = by_step[h][1] = _mm512_setzero_si512();
      continue;
    }
    const __m512i low = _mm512_loadu_si512(b->qs), high = _mm512_loadu_si512(b->qs + 64);
    by_step[h][0] = _mm512_permutex2var_epi32(low, first_steps, high);
    by_step[h][1] = _mm512_permutex2var_epi32(low, later_steps, high);
  }
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  for (int s = 0; s < 8; ++s) {
    const int at = 4 * (s % 4);  // each chunk's dword twice: once per nibble
    const __m512i pick = _mm512_setr_epi32(at, at, at + 1, at + 1, at + 2, at + 2, at + 3, at + 3, 16 + at, 16 + at,
                                           17 + at, 17 + at, 18 + at, 18 + at, 19 + at, 19 + at);
    const __m512i both = _mm512_permutex2var_epi32(by_step[0][s / 4], pick, by_step[1][s / 4]);
    steps[s] = _mm512_and_si512(_mm512_mask_srli_epi32(both, 0xaaaa, both, 4), low4);
  }
}

void vk32_decode_rows(const BlockQ4_K* w, int rows, const VnniKScratch& L, uint8_t* scratch) {
  for (int r = 0; r < rows; ++r) {
    const BlockQ4_K* row = w + r * L.ns;
    for (int64_t p = 0; p < L.ng; ++p) {
      const bool has_second = 2 * p + 1 < L.ns;
      __m512i steps[8];
      q4_k_pair_steps(row[2 * p], has_second ? row + 2 * p + 1 : nullptr, steps);
      __m512 scale, offset;
      q4_k_pair_scales(row[2 * p], row[has_second ? 2 * p + 1 : 2 * p], has_second, scale, offset);
      store_weight_group(L, scratch, p, r, steps, scale, offset);
    }
  }
}

// The k-quant tile over either lane-group layout: kSteps vpdpbusd steps per lane group (4 for one
// super-block, 8 for a Q4_K pair), then one float step per lane group; a zero-point type
// (kZeroPoint > 0) starts its integer sums at -z * bsum instead of subtracting float offsets.
template <int kSteps, int kZeroPoint = 0>
struct VKTiles {
  template <int R, int T>
  struct Tile {
    static void run(const VnniKScratch& L, const uint8_t* scratch, int64_t t0, float* result) {
      const auto* ws = reinterpret_cast<const float*>(scratch + L.w_s);
      const auto* wm = reinterpret_cast<const float*>(scratch + L.w_m);
      const auto* ad = reinterpret_cast<const float*>(scratch + L.act_d);
      const auto* asum = reinterpret_cast<const float*>(scratch + L.act_sum);
      __m512 acc[R][T];
      for (int r = 0; r < R; ++r) {
        for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
      }
      const int64_t a_stride = L.ng * L.group_bytes;  // bytes between tokens' quants
      for (int64_t g = 0; g < L.ng; ++g) {
        const uint8_t* w_g = scratch + L.w_q + g * kSteps * kVRows * 64;  // [kSteps][kVRows][64]
        const uint8_t* a_g = scratch + L.act_q + t0 * a_stride + g * L.group_bytes;
        __m512i isum[R][T];
        for (int t = 0; t < T; ++t) {
          const __m512i start =
              kZeroPoint != 0 ? _mm512_load_si512(asum + ((t0 + t) * L.ng + g) * 16) : _mm512_setzero_si512();
          for (int r = 0; r < R; ++r) isum[r][t] = start;
        }
        for (int step = 0; step < kSteps; ++step) {
          __m512i w[R];
          for (int r = 0; r < R; ++r) w[r] = _mm512_load_si512(w_g + (step * kVRows + r) * 64);
          for (int t = 0; t < T; ++t) {
            const __m512i y = _mm512_load_si512(a_g + t * a_stride + 64 * step);
            for (int r = 0; r < R; ++r) isum[r][t] = _mm512_dpbusd_epi32(isum[r][t], w[r], y);
          }
        }
        for (int r = 0; r < R; ++r) {
          const __m512 w_scale = _mm512_load_ps(ws + (g * kVRows + r) * 16);
          const __m512 w_offset = _mm512_load_ps(wm + (g * kVRows + r) * 16);
          for (int t = 0; t < T; ++t) {
            const int64_t slot = (t0 + t) * L.ng + g;
            if constexpr (kZeroPoint != 0) {
              acc[r][t] = q8_group_step(acc[r][t], isum[r][t], w_scale, _mm512_load_ps(ad + slot * 16));
            } else {
              acc[r][t] = k_super_step(acc[r][t], isum[r][t], w_scale, w_offset, _mm512_load_ps(ad + slot * 16),
                                       _mm512_load_ps(asum + slot * 16));
            }
          }
        }
      }
      reduce_tile(acc, result);
    }
  };
};

// Runs Tile<R, T>::run(args...) for rows <= kVRows, tokens <= kVTokens.
template <template <int, int> class Tile, int R = kVRows, int T = kVTokens, class... Args>
void run_vnni_tile(int rows, int tokens, Args&&... args) {
  if (rows == R && tokens == T) return Tile<R, T>::run(args...);
  if constexpr (T > 1) {
    if (rows == R) return run_vnni_tile<Tile, R, T - 1>(rows, tokens, args...);
  }
  if constexpr (R > 1) return run_vnni_tile<Tile, R - 1, T>(rows, tokens, args...);
}

// Tokens in chunks whose re-laid activations stay in L2 (1 MiB of this core's 2 MiB); within a
// chunk, kVRows weight rows are decoded once and swept over every token tile.
template <class DecodeRows, class Tile>
void vnni_gemm_loop(const MatmulArgs& args, int64_t row_begin, int64_t row_end, size_t act_bytes_per_token,
                    DecodeRows decode_rows, Tile tile) {
  constexpr size_t kChunkBytes = size_t{1} << 20;
  constexpr int64_t kWriteAhead = 4 * kVTokens;
  int64_t chunk = static_cast<int64_t>(kChunkBytes / act_bytes_per_token);
  chunk = chunk < kVTokens ? kVTokens : chunk / kVTokens * kVTokens;
  float result[kVRows * kVTokens];  // [token][kVRows]: a tile's sums (reduce_tile)
  for (int64_t c0 = 0; c0 < args.n_tokens; c0 += chunk) {
    const int64_t c1 = args.n_tokens - c0 < chunk ? args.n_tokens : c0 + chunk;
    for (int64_t r0 = row_begin; r0 < row_end; r0 += kVRows) {
      const int rows = static_cast<int>(row_end - r0 < kVRows ? row_end - r0 : kVRows);
      decode_rows(r0, rows);
      for (int64_t t0 = c0; t0 < c1; t0 += kVTokens) {
        const int tokens = static_cast<int>(c1 - t0 < kVTokens ? c1 - t0 : kVTokens);
        // The output rows a few tiles ahead, for writing: the output is large and cold, and
        // waiting for each line at the store cost ~10% on an FFN-sized matrix.
        for (int t = 0; t < kVTokens; ++t) {
          const int64_t ahead = t0 + kWriteAhead + t < args.n_tokens ? t0 + kWriteAhead + t : args.n_tokens - 1;
          _mm_prefetch(reinterpret_cast<const char*>(args.out + ahead * args.out_stride + r0), _MM_HINT_ET0);
        }
        tile(rows, tokens, t0, result);
        static_assert(kVRows == 4, "a whole tile row of sums is one 16-byte store");
        for (int t = 0; t < tokens; ++t) {
          float* dst = args.out + (t0 + t) * args.out_stride + r0;
          if (rows == kVRows) {
            _mm_storeu_ps(dst, _mm_loadu_ps(result + kVRows * t));
          } else {
            for (int r = 0; r < rows; ++r) dst[r] = result[kVRows * t + r];
          }
        }
      }
    }
  }
}

template <class Block, auto kDecode, auto kScale>
void vgemm_q8_family(const MatmulArgs& args, int64_t row_begin, int64_t row_end, void* scratch_ptr) {
  auto* scratch = static_cast<uint8_t*>(scratch_ptr);
  const VnniQ8Scratch L = vnni_q8_scratch_layout(args.k, args.n_tokens);
  if (!args.acts_prepared) vq8_prepare_acts(args, L, scratch);
  const auto* weights = static_cast<const Block*>(args.weights);
  vnni_gemm_loop(
      args, row_begin, row_end, static_cast<size_t>(L.ng) * (512 + 64),
      [&](int64_t r0, int rows) { vq8_decode_rows<Block, kDecode, kScale>(weights + r0 * L.nb, rows, L, scratch); },
      [&](int rows, int tokens, int64_t t0, float* out) { run_vnni_tile<VQ8Tile>(rows, tokens, L, scratch, t0, out); });
}

template <class Block, auto kDecodeVec, int kZeroPoint>
void vgemm_k_family(const MatmulArgs& args, int64_t row_begin, int64_t row_end, void* scratch_ptr) {
  auto* scratch = static_cast<uint8_t*>(scratch_ptr);
  const VnniKScratch L = vnni_k_scratch_layout(args.k, args.n_tokens, 1);
  if (!args.acts_prepared) vk_prepare_acts<kZeroPoint>(args, L, scratch);
  const auto* weights = static_cast<const Block*>(args.weights);
  vnni_gemm_loop(
      args, row_begin, row_end, static_cast<size_t>(L.ng) * (L.group_bytes + 128),
      [&](int64_t r0, int rows) { vk_decode_rows<Block, kDecodeVec>(weights + r0 * L.ns, rows, L, scratch); },
      [&](int rows, int tokens, int64_t t0, float* out) {
        run_vnni_tile<VKTiles<4, kZeroPoint>::template Tile>(rows, tokens, L, scratch, t0, out);
      });
}

void vgemm_q4_k(const MatmulArgs& args, int64_t row_begin, int64_t row_end, void* scratch_ptr) {
  auto* scratch = static_cast<uint8_t*>(scratch_ptr);
  const VnniKScratch L = vnni_k_scratch_layout(args.k, args.n_tokens, 2);
  if (!args.acts_prepared) vk32_prepare_acts(args, L, scratch);
  const auto* weights = static_cast<const BlockQ4_K*>(args.weights);
  vnni_gemm_loop(
      args, row_begin, row_end, static_cast<size_t>(L.ng) * (L.group_bytes + 128),
      [&](int64_t r0, int rows) { vk32_decode_rows(weights + r0 * L.ns, rows, L, scratch); },
      [&](int rows, int tokens, int64_t t0, float* out) {
        run_vnni_tile<VKTiles<8>::Tile>(rows, tokens, L, scratch, t0, out);
      });
}

}  // namespace

void register_avx512_gemm_kernels(KernelTable& table) {
  set_float_gemm_kernels(table);
  auto set = [&](TensorType type, GemmFn fn) { table.gemm[static_cast<size_t>(type)] = fn; };
  set(TensorType::kQ4_0, vgemm_q8_family<BlockQ4_0, decode_q4_0, scale_d<BlockQ4_0>>);
  set(TensorType::kQ5_0, vgemm_q8_family<BlockQ5_0, decode_q5_0, scale_d<BlockQ5_0>>);
  set(TensorType::kQ8_0, vgemm_q8_family<BlockQ8_0, decode_q8_0, scale_d<BlockQ8_0>>);
  set(TensorType::kIQ4_NL, vgemm_q8_family<BlockIQ4_NL, decode_iq4_nl, scale_d<BlockIQ4_NL>>);
  set(TensorType::kMXFP4, vgemm_q8_family<BlockMXFP4, decode_mxfp4, scale_mxfp4>);
  set(TensorType::kQ2_K, vgemm_k_family<BlockQ2_K, decode_k_scalar<BlockQ2_K, kdecode_q2_k>, 0>);
  set(TensorType::kQ3_K, vgemm_k_family<BlockQ3_K, decode_k_scalar<BlockQ3_K, kdecode_q3_k>, 4>);
  set(TensorType::kQ4_K, vgemm_q4_k);
  set(TensorType::kQ5_K, vgemm_k_family<BlockQ5_K, decode_k_scalar<BlockQ5_K, kdecode_q5_k>, 0>);
  set(TensorType::kQ6_K, vgemm_k_family<BlockQ6_K, decode_q6_k_vec, 32>);
  set(TensorType::kIQ4_XS, vgemm_k_family<BlockIQ4_XS, decode_k_scalar<BlockIQ4_XS, kdecode_iq4_xs>, 128>);
}

}  // namespace tessera::quant::isa_kernels

// AVX-512 VNNI matrix-vector kernels for one token (token generation). Generation is bound by
// memory bandwidth, so these stream each weight row once as it is stored (no re-laid copy) and do
// the integer dots block by block; lanes are then folded so that each block's (or group's) exact
// integer dot lands in the lane where the GEMM of gemm_avx512.cpp has it, and the float steps of
// x86_vnni16.inl follow. A token decoded alone therefore gets exactly the bits it gets in a batch.
// Compiled with the same flags as gemm_avx512.cpp; used only after CPU detection found AVX-512
// F/BW/VL + VNNI.
#include "quant/kernels/avx512_intrinsics.h"

#include <cstring>
#include <vector>

#include "quant/blocks.h"
#include "quant/kernels/block_decode.h"
#include "quant/kernels/kernels.h"

namespace tessera::quant::isa_kernels {
namespace {

#include "quant/kernels/x86_common.inl"
#include "quant/kernels/x86_vnni16.inl"

// The f16 scales `d` of blocks b[0..n) (n <= 16) as 16 floats, 0 past n: one gather of the
// 32-bit words that start at each d.
template <class Block>
__m512 f16_scales16(const Block* b, int64_t n) {
  const __mmask16 real = n >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << n) - 1);
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i at = _mm512_mullo_epi32(lane, _mm512_set1_epi32(static_cast<int>(sizeof(Block))));
  const __m512i words = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), real, at, &b->d, 1);
  return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(words));
}

// Weight scales of blocks w[0..n): f16 `d` where the block has one, else kScale one by one.
template <class Block, auto kScale>
__m512 weight_scales16(const Block* w, int64_t n) {
  if constexpr (requires { w->d; }) {
    return f16_scales16(w, n);
  } else {
    alignas(64) float s[16];
    for (int64_t j = 0; j < 16; ++j) s[j] = j < n ? kScale(w[j]) : 0.0f;
    return _mm512_load_ps(s);
  }
}

// Prefetches row `r + kRowsAhead` of a matrix streamed row by row (every line of it): a row is a
// short stream (about a kilobyte), too short for the hardware prefetcher to get ahead of, and a
// single token's matvec waits on memory otherwise.
constexpr int64_t kRowsAhead = 2;
inline void prefetch_row_ahead(const void* weights, size_t row_bytes, int64_t r, int64_t row_end) {
  if (r + kRowsAhead >= row_end) return;
  const char* row = static_cast<const char*>(weights) + static_cast<size_t>(r + kRowsAhead) * row_bytes;
  for (size_t at = 0; at < row_bytes; at += 64) _mm_prefetch(row + at, _MM_HINT_T0);
}

// ---- Q8_0 family: 16 blocks per step, one lane each ----
// Per row, per group of 16 blocks: the unsigned quants u = w + z of each block (z: the type's zero
// point) against y with vpdpbusd, then the exact integer sum(w * y) = sum(u * y) - z * sum(y),
// with the activation side (block sums and scales) prepared once per call.
template <class Block, auto kDecode>
__m256i biased(const Block& b) {  // z = 128: the signed decoders' int8 quants + 128
  return _mm256_xor_si256(kDecode(b), _mm256_set1_epi8(-128));
}

struct Q8Acts {
  std::vector<int32_t> corr;  // [ng * 16] -z * sum(y) of each block (0 in padding)
  std::vector<float> scale;   // [ng * 16] block scales (0 in padding)
};

Q8Acts prepare_q8_acts(const BlockQ8_0* a, int64_t nb, int zero_point) {
  const int64_t ng = (nb + 15) / 16;
  Q8Acts acts{std::vector<int32_t>(static_cast<size_t>(ng * 16)), std::vector<float>(static_cast<size_t>(ng * 16))};
  for (int64_t i = 0; i < nb; ++i) {
    const __m256i y = load256(a[i].qs);
    const __m256i sums = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(1), y);
    acts.corr[static_cast<size_t>(i)] = -zero_point * hsum_epi32(sums);
    acts.scale[static_cast<size_t>(i)] = f16(a[i].d);
  }
  return acts;
}

template <class Block, auto kUnsigned, auto kScale>
float matvec_q8_row(const Block* w, const BlockQ8_0* a, const Q8Acts& acts, int64_t nb) {
  __m512 acc = _mm512_setzero_ps();
  for (int64_t g0 = 0; g0 < nb; g0 += 16) {
    const int64_t n = nb - g0 < 16 ? nb - g0 : 16;
    __m512i p[8];
    for (int j = 0; j < 16; j += 2) {
      if (j >= n) {  // padding of the last group: zero, as in the GEMM
        p[j / 2] = _mm512_setzero_si512();
        continue;
      }
      __m256i wq[2], yq[2];
      for (int h = 0; h < 2; ++h) {
        const bool real = j + h < n;
        const int64_t i = g0 + j + h;
        wq[h] = real ? kUnsigned(w[i]) : _mm256_setzero_si256();
        yq[h] = real ? load256(a[i].qs) : _mm256_setzero_si256();
      }
      p[j / 2] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), join256(wq[0], wq[1]), join256(yq[0], yq[1]));
    }
    const __m512i isum = _mm512_add_epi32(sum_lane_octets(p), _mm512_loadu_si512(acts.corr.data() + g0));
    acc = q8_group_step(acc, isum, weight_scales16<Block, kScale>(w + g0, n), _mm512_loadu_ps(acts.scale.data() + g0));
  }
  return _mm512_reduce_add_ps(acc);
}

template <class Block, auto kUnsigned, int kZeroPoint, auto kScale>
void matvec_q8_family(const MatmulArgs& args, int64_t row_begin, int64_t row_end, void* /*scratch*/) {
  const int64_t nb = args.k / 32;
  const auto* w = static_cast<const Block*>(args.weights);
  const auto* a = static_cast<const BlockQ8_0*>(args.acts);
  const Q8Acts acts = prepare_q8_acts(a, nb, kZeroPoint);
  for (int64_t r = row_begin; r < row_end; ++r) {
    // The next row's first cache lines are on their way while this one is summed.
    prefetch_row_ahead(w, nb * sizeof(Block), r, row_end);
    args.out[r] = matvec_q8_row<Block, kUnsigned, kScale>(w + r * nb, a, acts, nb);
  }
}

// ---- nibble types (Q4_0, IQ4_NL, MXFP4: 16 packed bytes per block, low nibbles = elements 0..15):
// four blocks per register, from four 16-byte loads and one shift, against activations re-laid
// once per call so that lanes 4b..4b+3 of the low / high register meet block b's elements 0..15 /
// 16..31; the lane quads then fold into one lane per block, as in the GEMM.
struct NibbleActs {
  std::vector<int8_t> y;  // [units of 4 blocks][low 64 | high 64]
  Q8Acts blocks;          // block sums (times -z) and scales
};

NibbleActs prepare_nibble_acts(const BlockQ8_0* a, int64_t nb, int zero_point) {
  const int64_t units = (nb + 3) / 4;
  NibbleActs acts{std::vector<int8_t>(static_cast<size_t>(units * 128)), prepare_q8_acts(a, nb, zero_point)};
  for (int64_t i = 0; i < nb; ++i) {
    int8_t* unit = acts.y.data() + (i / 4) * 128 + (i % 4) * 16;
    std::memcpy(unit, a[i].qs, 16);
    std::memcpy(unit + 64, a[i].qs + 16, 16);
  }
  return acts;
}

inline __m512i nibbles_as_is(__m512i nibbles) {  // Q4_0: u = q, z = 8
  return nibbles;
}
template <const int8_t* kValues>
__m512i nibbles_via_table(__m512i nibbles) {  // IQ4_NL, MXFP4: u = value + 128, z = 128
  const __m512i table = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kValues)));
  return _mm512_xor_si512(_mm512_shuffle_epi8(table, nibbles), _mm512_set1_epi8(-128));
}

template <class Block, auto kMap, auto kScale>
float matvec_nibble_row(const Block* w, const NibbleActs& acts, int64_t nb) {
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t g0 = 0; g0 < nb; g0 += 16) {
    const int64_t n = nb - g0 < 16 ? nb - g0 : 16;
    __m512i p[4];
    for (int u = 0; u < 4; ++u) {
      const int64_t b0 = g0 + 4 * u;
      if (4 * u >= n) {  // padding of the last group: zero, as in the GEMM
        p[u] = _mm512_setzero_si512();
        continue;
      }
      __m512i packed = _mm512_setzero_si512();
      packed = _mm512_inserti32x4(packed, _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b0].qs)), 0);
      if (4 * u + 1 < n)
        packed = _mm512_inserti32x4(packed, _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b0 + 1].qs)), 1);
      if (4 * u + 2 < n)
        packed = _mm512_inserti32x4(packed, _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b0 + 2].qs)), 2);
      if (4 * u + 3 < n)
        packed = _mm512_inserti32x4(packed, _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b0 + 3].qs)), 3);
      const int8_t* y = acts.y.data() + (b0 / 4) * 128;
      const __m512i low = kMap(_mm512_and_si512(packed, low4));
      const __m512i high = kMap(_mm512_and_si512(_mm512_srli_epi16(packed, 4), low4));
      __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), low, _mm512_loadu_si512(y));
      p[u] = _mm512_dpbusd_epi32(dot, high, _mm512_loadu_si512(y + 64));
    }
    const __m512i isum = _mm512_add_epi32(sum_lane_quads(p), _mm512_loadu_si512(acts.blocks.corr.data() + g0));
    acc = q8_group_step(acc, isum, weight_scales16<Block, kScale>(w + g0, n),
                        _mm512_loadu_ps(acts.blocks.scale.data() + g0));
  }
  return _mm512_reduce_add_ps(acc);
}

template <class Block, auto kMap, int kZeroPoint, auto kScale>
void matvec_nibble_family(const MatmulArgs& args, int64_t row_begin, int64_t row_end, void* /*scratch*/) {
  const int64_t nb = args.k / 32;
  const auto* w = static_cast<const Block*>(args.weights);
  const NibbleActs acts = prepare_nibble_acts(static_cast<const BlockQ8_0*>(args.acts), nb, kZeroPoint);
  for (int64_t r = row_begin; r < row_end; ++r) {
    prefetch_row_ahead(w, nb * sizeof(Block), r, row_end);
    args.out[r] = matvec_nibble_row<Block, kMap, kScale>(w + r * nb, acts, nb);
  }
}

// ---- k-quants: one super-block per step, one lane per group of 16 (kZeroPoint: see x86_vnni16.inl) ----
template <class Block, auto kDecodeVec, int kZeroPoint>
void matvec_k_family(const MatmulArgs& args, int64_t row_begin, int64_t row_end, void* /*scratch*/) {
  const int64_t ns = args.k / 256;
  const auto* w = static_cast<const Block*>(args.weights);
  const auto* a = static_cast<const BlockQ8_K*>(args.acts);
  for (int64_t r = row_begin; r < row_end; ++r) {
    const Block* row = w + r * ns;
    prefetch_row_ahead(w, ns * sizeof(Block), r, row_end);
    __m512 acc = _mm512_setzero_ps();
    for (int64_t sb = 0; sb < ns; ++sb) {
      const KSuper s = kDecodeVec(row[sb]);
      __m512i p[4];
      for (int c = 0; c < 4; ++c) {
        p[c] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), s.q[c], _mm512_loadu_si512(a[sb].qs + 64 * c));
      }
      if constexpr (kZeroPoint != 0) {
        const __m512i isum = _mm512_add_epi32(sum_lane_quads(p), q8k_group_zero_corr(a[sb], kZeroPoint));
        acc = q8_group_step(acc, isum, s.scale, _mm512_set1_ps(a[sb].d));
      } else {
        acc = k_super_step(acc, sum_lane_quads(p), s.scale, s.offset, _mm512_set1_ps(a[sb].d), q8k_group_sums(a[sb]));
      }
    }
    args.out[r] = _mm512_reduce_add_ps(acc);
  }
}

// ---- Q4_K: two super-blocks per step, one lane per 32-element sub-block (as the GEMM's pairs) ----
void matvec_q4_k(const MatmulArgs& args, int64_t row_begin, int64_t row_end, void* /*scratch*/) {
  const int64_t ns = args.k / 256;
  const auto* w = static_cast<const BlockQ4_K*>(args.weights);
  const auto* a = static_cast<const BlockQ8_K*>(args.acts);
  for (int64_t r = row_begin; r < row_end; ++r) {
    const BlockQ4_K* row = w + r * ns;
    prefetch_row_ahead(w, ns * sizeof(BlockQ4_K), r, row_end);
    __m512 acc = _mm512_setzero_ps();
    for (int64_t sb = 0; sb < ns; sb += 2) {
      const bool pair = sb + 1 < ns;
      const K32Pair s = decode_q4_k_pair(row[sb], pair ? row + sb + 1 : nullptr);
      const BlockQ8_K* a1 = pair ? a + sb + 1 : nullptr;
      __m512i p[8];
      for (int c = 0; c < 4; ++c) {
        p[c] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), s.q[c], _mm512_loadu_si512(a[sb].qs + 64 * c));
        p[4 + c] = pair ? _mm512_dpbusd_epi32(_mm512_setzero_si512(), s.q[4 + c], _mm512_loadu_si512(a1->qs + 64 * c))
                        : _mm512_setzero_si512();
      }
      acc = k_super_step(acc, sum_lane_octets(p), s.scale, s.offset, q8k_pair_d(a[sb], a1), q8k_pair_sums(a[sb], a1));
    }
    args.out[r] = _mm512_reduce_add_ps(acc);
  }
}

}  // namespace

void register_avx512_matvec_kernels(KernelTable& table) {
  auto set = [&](TensorType type, GemmFn fn) { table.matvec[static_cast<size_t>(type)] = fn; };
  set(TensorType::kQ4_0, matvec_nibble_family<BlockQ4_0, nibbles_as_is, 8, scale_d<BlockQ4_0>>);
  set(TensorType::kQ5_0, matvec_q8_family<BlockQ5_0, unsigned_q5_0, 16, scale_d<BlockQ5_0>>);
  set(TensorType::kQ8_0, matvec_q8_family<BlockQ8_0, biased<BlockQ8_0, decode_q8_0>, 128, scale_d<BlockQ8_0>>);
  set(TensorType::kIQ4_NL,
      matvec_nibble_family<BlockIQ4_NL, nibbles_via_table<kIq4nlValues>, 128, scale_d<BlockIQ4_NL>>);
  set(TensorType::kMXFP4, matvec_nibble_family<BlockMXFP4, nibbles_via_table<kMxfp4Values>, 128, scale_mxfp4>);
  set(TensorType::kQ4_K, matvec_q4_k);
  set(TensorType::kQ6_K, matvec_k_family<BlockQ6_K, decode_q6_k_vec, 32>);
}

}  // namespace tessera::quant::isa_kernels

// Internal: how the per-ISA translation units hand their kernels to the dispatch table.
// Each register_* function overwrites the entries it implements and leaves the others, so a table
// built scalar → AVX2 → AVX-512 falls back to the best lower ISA per type.
#pragma once

#include "quant/dispatch.h"

namespace tessera::quant::isa_kernels {

void register_scalar_kernels(KernelTable& table);                // every supported type; the reference
void register_avx2_kernels(KernelTable& table);                  // compiled with -mavx2 -mfma -mf16c
void register_avx2_gemm_kernels(KernelTable& table);             // gemm_avx2.cpp, same flags
void register_avx512_kernels(KernelTable& table);                // compiled with AVX-512 F/BW/VL/VNNI
void register_avx512_gemm_kernels(KernelTable& table);           // gemm_avx512.cpp, same flags
void register_avx512_matvec_kernels(KernelTable& table);         // matvec_avx512.cpp, same flags
void register_avx512_activation_quantizers(KernelTable& table);  // activation_quant_avx512.cpp

// Scratch layout of the AVX2 Q8_0-family GEMM (gemm_avx2.cpp): activations re-laid once per call as
// unsigned bytes (y + 128) with their block scales, and kGemmRows weight rows at a time decoded to
// int8 with scales and the integer correction for the +128. Blocks are padded to an even count so
// the kernel can take them two at a time (512 bits). `static`: each TU computes its own copy.
constexpr int kGemmRows = 4;
constexpr int kGemmTokens = 4;
constexpr int kVnniRows = 4;  // weight rows per tile of the AVX-512 VNNI GEMM (its scratch below)
struct GemmScratch {
  int64_t nb = 0;      // 32-element blocks per row
  int64_t nb_pad = 0;  // nb rounded up to even
  size_t act_q = 0;    // [n_tokens, nb_pad * 32] u8: y + 128 (128 in padding)
  size_t act_s8 = 0;   // [n_tokens, nb_pad, 8] f32: each block scale repeated for 8 lanes
  size_t w_q = 0;      // [kGemmRows, nb_pad * 32] i8: decoded weights (0 in padding)
  size_t w_s8 = 0;     // [kGemmRows, nb_pad, 8] f32: weight block scales, 8 lanes each
  size_t w_corr = 0;   // [kGemmRows, nb_pad, 8] i32: lane 0 = -128 * sum(weights of the block)
  size_t total = 0;
};
static inline GemmScratch gemm_scratch_layout(int64_t k, int64_t n_tokens) {
  GemmScratch s;
  s.nb = k / 32;
  s.nb_pad = (s.nb + 1) & ~int64_t{1};
  const auto bytes = [](int64_t n) { return (static_cast<size_t>(n) + 63) & ~size_t{63}; };
  size_t offset = 0;
  const auto take = [&](int64_t n) {
    const size_t at = offset;
    offset += bytes(n);
    return at;
  };
  s.act_q = take(n_tokens * s.nb_pad * 32);
  s.act_s8 = take(n_tokens * s.nb_pad * 8 * 4);
  s.w_q = take(kGemmRows * s.nb_pad * 32);
  s.w_s8 = take(kGemmRows * s.nb_pad * 8 * 4);
  s.w_corr = take(kGemmRows * s.nb_pad * 8 * 4);
  s.total = offset;
  return s;
}

// Scratch layout of the AVX2 k-quant GEMM (gemm_avx2.cpp): Q8_K activations re-laid as contiguous
// int8 with their scales and scaled 16-element sums, and kGemmRows weight rows decoded to unsigned
// quants with one f32 scale and one f32 offset per 16 elements (value = scale * q - offset).
struct KGemmScratch {
  int64_t n_super = 0;  // 256-element super-blocks per row
  size_t act_q = 0;     // [n_tokens, k] i8
  size_t act_d = 0;     // [n_tokens, n_super] f32
  size_t act_sum4 = 0;  // [n_tokens, k / 16, 4] f32: d * (sum of the 16 quants) / 4, in 4 lanes
  size_t w_q = 0;       // [kGemmRows, k] u8
  size_t w_s4 = 0;      // [kGemmRows, k / 16, 4] f32: group scale, repeated for 4 lanes
  size_t w_m4 = 0;      // [kGemmRows, k / 16, 4] f32: group offset, repeated for 4 lanes
  size_t total = 0;
};
static inline KGemmScratch kgemm_scratch_layout(int64_t k, int64_t n_tokens) {
  KGemmScratch s;
  s.n_super = k / 256;
  size_t offset = 0;
  const auto take = [&](int64_t n) {
    const size_t at = offset;
    offset += (static_cast<size_t>(n) + 63) & ~size_t{63};
    return at;
  };
  s.act_q = take(n_tokens * k);
  s.act_d = take(n_tokens * s.n_super * 4);
  s.act_sum4 = take(n_tokens * (k / 16) * 4 * 4);
  s.w_q = take(kGemmRows * k);
  s.w_s4 = take(kGemmRows * (k / 16) * 4 * 4);
  s.w_m4 = take(kGemmRows * (k / 16) * 4 * 4);
  s.total = offset;
  return s;
}

// Scratch layout of the float GEMM (F32 / F16 / BF16 weights): both operands widened to f32, rows
// padded with zeros to a multiple of 16 elements.
struct FGemmScratch {
  int64_t k_pad = 0;  // k rounded up to 16
  size_t act = 0;     // [n_tokens, k_pad] f32
  size_t w = 0;       // [kGemmRows, k_pad] f32
  size_t total = 0;
};
static inline FGemmScratch fgemm_scratch_layout(int64_t k, int64_t n_tokens) {
  FGemmScratch s;
  s.k_pad = (k + 15) & ~int64_t{15};
  const auto bytes = [](int64_t n) { return (static_cast<size_t>(n) + 63) & ~size_t{63}; };
  s.act = 0;
  s.w = bytes(n_tokens * s.k_pad * 4);
  s.total = s.w + bytes(kGemmRows * s.k_pad * 4);
  return s;
}

// Scratch layouts of the AVX-512 VNNI GEMM (gemm_avx512.cpp), "one lane per block": a 512-bit
// register holds 4 bytes of each of 16 blocks (Q8_0 family: 16 blocks of 32; k-quants: the 16
// groups of 16 of one super-block), so a run of vpdpbusd leaves each block's whole integer dot in
// its own lane and the float work (convert, scale, accumulate) is done once per 16 blocks rather
// than once per block. Operands are re-laid into that transposed order once per call (activations)
// or once per row tile and token chunk (weights).
struct VnniQ8Scratch {
  int64_t nb = 0;     // 32-element blocks per row
  int64_t ng = 0;     // groups of 16 blocks per row, the last one zero-padded
  size_t act_u = 0;   // [n_tokens, ng, 8 steps, 16 blocks, 4] u8: y + 128 (128 in padding)
  size_t act_s = 0;   // [n_tokens, ng, 16] f32 block scales (0 in padding)
  size_t w_q = 0;     // [ng, 8 steps, kVnniRows, 16, 4] i8 weights (0 in padding; a tile's rows side by side)
  size_t w_s = 0;     // [ng, kVnniRows, 16] f32 block scales (0 in padding)
  size_t w_corr = 0;  // [ng, kVnniRows, 16] i32: -128 * sum of the block's weights
  size_t total = 0;
};
static inline VnniQ8Scratch vnni_q8_scratch_layout(int64_t k, int64_t n_tokens) {
  VnniQ8Scratch s;
  s.nb = k / 32;
  s.ng = (s.nb + 15) / 16;
  size_t offset = 0;
  const auto take = [&](int64_t n) {
    const size_t at = offset;
    offset += (static_cast<size_t>(n) + 63) & ~size_t{63};
    return at;
  };
  s.act_u = take(n_tokens * s.ng * 512);
  s.act_s = take(n_tokens * s.ng * 64);
  s.w_q = take(kVnniRows * s.ng * 512);
  s.w_s = take(kVnniRows * s.ng * 64);
  s.w_corr = take(kVnniRows * s.ng * 64);
  s.total = offset;
  return s;
}

// k-quants and IQ4_XS against Q8_K: value = scale[lane] * q - offset[lane]. The 16 lanes of a
// lane group hold either the 16 groups of 16 of one super-block (supers_per_group 1), or, for Q4_K,
// the 8 sub-blocks of 32 of two super-blocks (supers_per_group 2: the float work is done once per
// two super-blocks; a row with an odd number of super-blocks ends in a zero-padded one).
struct VnniKScratch {
  int64_t ns = 0;           // 256-element super-blocks per row
  int64_t ng = 0;           // lane groups per row (the last one zero-padded)
  int64_t group_bytes = 0;  // quants per lane group: 256 * supers_per_group
  size_t act_q = 0;         // [n_tokens, ng, steps, 16 lanes, 4] i8 (0 in padding)
  size_t act_d = 0;         // [n_tokens, ng, 16] f32: the lane's super-block scale d (0 in padding)
  size_t act_sum = 0;       // [n_tokens, ng, 16] f32: d * (sum of the lane's quants); zero-point types: i32 -z * sum
  size_t w_q = 0;           // [ng, steps, kVnniRows, 16, 4] u8 (a tile's rows side by side)
  size_t w_s = 0;           // [ng, kVnniRows, 16] f32 lane scales
  size_t w_m = 0;           // [ng, kVnniRows, 16] f32 lane offsets
  size_t total = 0;
};
static inline VnniKScratch vnni_k_scratch_layout(int64_t k, int64_t n_tokens, int64_t supers_per_group) {
  VnniKScratch s;
  s.ns = k / 256;
  s.ng = (s.ns + supers_per_group - 1) / supers_per_group;
  s.group_bytes = 256 * supers_per_group;
  size_t offset = 0;
  const auto take = [&](int64_t n) {
    const size_t at = offset;
    offset += (static_cast<size_t>(n) + 63) & ~size_t{63};
    return at;
  };
  s.act_q = take(n_tokens * s.ng * s.group_bytes);
  s.act_d = take(n_tokens * s.ng * 64);
  s.act_sum = take(n_tokens * s.ng * 64);
  s.w_q = take(kVnniRows * s.ng * s.group_bytes);
  s.w_s = take(kVnniRows * s.ng * 64);
  s.w_m = take(kVnniRows * s.ng * 64);
  s.total = offset;
  return s;
}

// Bytes of scratch any GEMM kernel needs for this shape.
static inline size_t gemm_scratch_bytes(int64_t k, int64_t n_tokens) {
  const size_t sizes[] = {gemm_scratch_layout(k, n_tokens).total,      kgemm_scratch_layout(k, n_tokens).total,
                          fgemm_scratch_layout(k, n_tokens).total,     vnni_q8_scratch_layout(k, n_tokens).total,
                          vnni_k_scratch_layout(k, n_tokens, 1).total, vnni_k_scratch_layout(k, n_tokens, 2).total};
  size_t most = 0;
  for (size_t s : sizes) most = s > most ? s : most;
  return most;
}

// Activation quantizers: the scalar ones (activation_quant.cpp) every table starts from.
void quantize_row_q8_0(const float* x, void* out, int64_t n);
void quantize_row_q8_1(const float* x, void* out, int64_t n);
void quantize_row_q8_k(const float* x, void* out, int64_t n);
void convert_row_f32(const float* x, void* out, int64_t n);
void convert_row_f16(const float* x, void* out, int64_t n);
void convert_row_bf16(const float* x, void* out, int64_t n);

}  // namespace tessera::quant::isa_kernels

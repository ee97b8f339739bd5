// Scalar reference dot kernels: the specification every SIMD kernel is tested against.
// Integer products are summed exactly per block (or per sub-block, then scaled by the integer
// sub-block scale), and each block's integer sum is scaled once in f32, as the SIMD versions do;
// only the order of the f32 additions differs between ISAs.
#include "quant/blocks.h"
#include "quant/float16.h"
#include "quant/kernels/block_decode.h"
#include "quant/kernels/kernels.h"

namespace tessera::quant::isa_kernels {
namespace {

using T = TensorType;

// ---- float types: accumulate in double (the reference is as accurate as it is cheap to be) ----

template <class Elem, class ToF32>
float dot_float(int64_t n, const void* vw, const void* va, ToF32 to_f32) {
  const auto* w = static_cast<const Elem*>(vw);
  const auto* a = static_cast<const Elem*>(va);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(to_f32(w[i])) * to_f32(a[i]);
  return static_cast<float>(sum);
}

float dot_f32_f32(int64_t n, const void* vw, const void* va) {
  return dot_float<float>(n, vw, va, [](float x) { return x; });
}

float dot_f16_f16(int64_t n, const void* vw, const void* va) {
  return dot_float<uint16_t>(n, vw, va, [](uint16_t x) { return f16_to_f32(x); });
}

float dot_bf16_bf16(int64_t n, const void* vw, const void* va) {
  return dot_float<uint16_t>(n, vw, va, [](uint16_t x) { return bf16_to_f32(x); });
}

// Every quantized kernel walks matching weight / activation blocks and adds one f32 term per block,
// in block order (the order the SIMD kernels are compared against); only that term differs.
template <class WBlock, class ABlock, int64_t kBlockSize, class BlockTerm>
float sum_blocks(int64_t n, const void* vw, const void* va, BlockTerm block_term) {
  const auto* w = static_cast<const WBlock*>(vw);
  const auto* a = static_cast<const ABlock*>(va);
  float sum = 0;
  for (int64_t i = 0; i < n / kBlockSize; ++i) sum += block_term(w[i], a[i]);
  return sum;
}

// ---- 32-element blocks against Q8_0: weight value = scale * q[j] ----

// Block scale of a Q8_0-family weight block: f16 `d`, except MXFP4's E8M0 exponent.
template <class Block>
float q8_0_family_scale(const Block& w) {
  return f16_to_f32(w.d);
}
float q8_0_family_scale(const BlockMXFP4& w) {
  return e8m0_half_to_f32(w.e);
}

template <class Block, class BlockSum>
float dot_q8_0_family(int64_t n, const void* vw, const void* va, BlockSum block_sum) {
  return sum_blocks<Block, BlockQ8_0, kQK8_0>(n, vw, va, [&](const Block& w, const BlockQ8_0& a) {
    const int32_t sumi = block_sum(w, a);
    return q8_0_family_scale(w) * f16_to_f32(a.d) * static_cast<float>(sumi);
  });
}

// Signed quants of one 4-bit block through a 16-entry table (Q4_0: j - 8; IQ4_NL; MXFP4).
int32_t sum_nibbles_lut(const uint8_t* qs, const int8_t* y, const int8_t* lut) {
  int32_t sum = 0;
  for (int j = 0; j < 16; ++j) {
    sum += lut[qs[j] & 0xf] * y[j];      // low nibbles: elements 0..15
    sum += lut[qs[j] >> 4] * y[j + 16];  // high nibbles: elements 16..31
  }
  return sum;
}

template <class Block>
float dot_nibbles_lut_q8_0(int64_t n, const void* vw, const void* va, const int8_t* lut) {
  return dot_q8_0_family<Block>(n, vw, va,
                                [lut](const Block& w, const BlockQ8_0& a) { return sum_nibbles_lut(w.qs, a.qs, lut); });
}

constexpr int8_t kQ4_0Values[16] = {-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7};

float dot_q4_0_q8_0(int64_t n, const void* vw, const void* va) {
  return dot_nibbles_lut_q8_0<BlockQ4_0>(n, vw, va, kQ4_0Values);
}

float dot_iq4_nl_q8_0(int64_t n, const void* vw, const void* va) {
  return dot_nibbles_lut_q8_0<BlockIQ4_NL>(n, vw, va, kIq4nlValues);
}

float dot_mxfp4_q8_0(int64_t n, const void* vw, const void* va) {
  return dot_nibbles_lut_q8_0<BlockMXFP4>(n, vw, va, kMxfp4Values);
}

// Q5_0 / Q5_1 quant j (0..31): nibble plus the j-th bit of qh as bit 4, unsigned 0..31.
template <class Block>
int q5_unsigned(const Block& w, uint32_t qh, int j) {
  const int nibble = j < 16 ? (w.qs[j] & 0xf) : (w.qs[j - 16] >> 4);
  return nibble | static_cast<int>(((qh >> j) & 1u) << 4);
}

// sum_j (q5_j - offset) y_j over one Q5_0 / Q5_1 block.
template <class Block, class ABlock>
int32_t sum_q5(const Block& w, const ABlock& a, int offset) {
  const uint32_t qh = load_qh32(w.qh);
  int32_t sumi = 0;
  for (int j = 0; j < 32; ++j) sumi += (q5_unsigned(w, qh, j) - offset) * a.qs[j];
  return sumi;
}

float dot_q5_0_q8_0(int64_t n, const void* vw, const void* va) {
  return dot_q8_0_family<BlockQ5_0>(n, vw, va, [](const BlockQ5_0& w, const BlockQ8_0& a) { return sum_q5(w, a, 16); });
}

float dot_q8_0_q8_0(int64_t n, const void* vw, const void* va) {
  return dot_q8_0_family<BlockQ8_0>(n, vw, va, [](const BlockQ8_0& w, const BlockQ8_0& a) {
    int32_t sumi = 0;
    for (int j = 0; j < 32; ++j) sumi += w.qs[j] * a.qs[j];
    return sumi;
  });
}

// ---- 32-element blocks against Q8_1: weight value = d * q[j] + m, q unsigned ----
// sum_j (d q_j + m) a_d y_j = d a_d sum(q y) + m * (a_d sum y) and Q8_1 stores a_d * sum(y) as s.

template <class Block, class BlockSum>
float dot_q8_1_family(int64_t n, const void* vw, const void* va, BlockSum block_sum) {
  return sum_blocks<Block, BlockQ8_1, kQK8_1>(n, vw, va, [&](const Block& w, const BlockQ8_1& a) {
    const int32_t sumi = block_sum(w, a);
    return f16_to_f32(w.d) * f16_to_f32(a.d) * static_cast<float>(sumi) + f16_to_f32(w.m) * f16_to_f32(a.s);
  });
}

float dot_q4_1_q8_1(int64_t n, const void* vw, const void* va) {
  return dot_q8_1_family<BlockQ4_1>(n, vw, va, [](const BlockQ4_1& w, const BlockQ8_1& a) {
    int32_t sumi = 0;
    for (int j = 0; j < 16; ++j) {
      sumi += (w.qs[j] & 0xf) * a.qs[j];
      sumi += (w.qs[j] >> 4) * a.qs[j + 16];
    }
    return sumi;
  });
}

float dot_q5_1_q8_1(int64_t n, const void* vw, const void* va) {
  return dot_q8_1_family<BlockQ5_1>(n, vw, va, [](const BlockQ5_1& w, const BlockQ8_1& a) { return sum_q5(w, a, 0); });
}

// ---- 256-element super-blocks against Q8_K ----
// Element e of a Q2_K / Q3_K / Q6_K block belongs to 16-element sub-block e / 16; in each 128-element
// half h, element 32*g + l (g = 0..3) takes bits 2g..2g+1 of byte l of that half's quant bytes.

// sum_s scale(s) * sum_{e in s} quant(h, g, l) y_e over the 16 sub-blocks; integer, so exact.
template <class Quant, class Scale>
int32_t sum_subblocks16(const BlockQ8_K& a, Quant quant, Scale scale) {
  int32_t sumi = 0;
  for (int s = 0; s < 16; ++s) {
    int32_t sub = 0;
    for (int e = 16 * s; e < 16 * s + 16; ++e) {
      const int h = e / 128, g = (e % 128) / 32, l = e % 32;
      sub += quant(h, g, l) * a.qs[e];
    }
    sumi += scale(s) * sub;
  }
  return sumi;
}

template <class Block, class BlockTerm>
float dot_k_family(int64_t n, const void* vw, const void* va, BlockTerm block_term) {
  return sum_blocks<Block, BlockQ8_K, kQK_K>(n, vw, va, block_term);
}

float dot_q2_k_q8_k(int64_t n, const void* vw, const void* va) {
  return dot_k_family<BlockQ2_K>(n, vw, va, [](const BlockQ2_K& w, const BlockQ8_K& a) {
    int32_t summ = 0;
    for (int s = 0; s < 16; ++s) summ += (w.scales[s] >> 4) * a.bsums[s];
    const int32_t sumi = sum_subblocks16(
        a, [&](int h, int g, int l) { return (w.qs[32 * h + l] >> (2 * g)) & 3; },
        [&](int s) { return w.scales[s] & 0xf; });
    return a.d * (f16_to_f32(w.d) * static_cast<float>(sumi) - f16_to_f32(w.dmin) * static_cast<float>(summ));
  });
}

float dot_q3_k_q8_k(int64_t n, const void* vw, const void* va) {
  return dot_k_family<BlockQ3_K>(n, vw, va, [](const BlockQ3_K& w, const BlockQ8_K& a) {
    const int32_t sumi = sum_subblocks16(
        a,
        [&](int h, int g, int l) {
          const int low = (w.qs[32 * h + l] >> (2 * g)) & 3;
          const bool high = (w.hmask[l] >> (4 * h + g)) & 1;  // a clear high bit means q - 4
          return low - (high ? 0 : 4);
        },
        [&](int s) { return q3k_scale(w.scales, s); });
    return a.d * f16_to_f32(w.d) * static_cast<float>(sumi);
  });
}

// Q4_K / Q5_K: element 64*c + l (l < 32) is the low nibble of qs[32c + l] (sub-block 2c),
// element 64*c + 32 + l its high nibble (sub-block 2c + 1); Q5_K adds bit (2c or 2c+1) of qh[l].
template <bool kFiveBit, class Block>
float dot_q4_5_k(int64_t n, const void* vw, const void* va) {
  return dot_k_family<Block>(n, vw, va, [](const Block& w, const BlockQ8_K& a) {
    int32_t sumi = 0, summ = 0;
    for (int s = 0; s < 8; ++s) {
      int scale, min;
      q4k_scale_min(w.scales, s, scale, min);
      summ += min * (a.bsums[2 * s] + a.bsums[2 * s + 1]);
      const int c = s / 2, shift = 4 * (s % 2);
      int32_t sub = 0;
      for (int l = 0; l < 32; ++l) {
        int q = (w.qs[32 * c + l] >> shift) & 0xf;
        if constexpr (kFiveBit) q |= ((w.qh[l] >> s) & 1) << 4;
        sub += q * a.qs[32 * s + l];
      }
      sumi += scale * sub;
    }
    return a.d * (f16_to_f32(w.d) * static_cast<float>(sumi) - f16_to_f32(w.dmin) * static_cast<float>(summ));
  });
}

float dot_q4_k_q8_k(int64_t n, const void* vw, const void* va) {
  return dot_q4_5_k<false, BlockQ4_K>(n, vw, va);
}

float dot_q5_k_q8_k(int64_t n, const void* vw, const void* va) {
  return dot_q4_5_k<true, BlockQ5_K>(n, vw, va);
}

// Q6_K: in half h, element 32*g + l takes a nibble of ql[64h + l + 32*(g % 2)] (low for g < 2) and
// bits 2g..2g+1 of qh[32h + l] as bits 4-5; value = q - 32.
float dot_q6_k_q8_k(int64_t n, const void* vw, const void* va) {
  return dot_k_family<BlockQ6_K>(n, vw, va, [](const BlockQ6_K& w, const BlockQ8_K& a) {
    const int32_t sumi = sum_subblocks16(
        a,
        [&](int h, int g, int l) {
          const int low = (w.ql[64 * h + l + 32 * (g % 2)] >> (4 * (g / 2))) & 0xf;
          const int high = (w.qh[32 * h + l] >> (2 * g)) & 3;
          return (low | (high << 4)) - 32;
        },
        [&](int s) { return static_cast<int>(w.scales[s]); });
    return a.d * f16_to_f32(w.d) * static_cast<float>(sumi);
  });
}

// IQ4_XS: 8 sub-blocks of 32, each laid out like an IQ4_NL block, with a 6-bit signed scale.
float dot_iq4_xs_q8_k(int64_t n, const void* vw, const void* va) {
  return dot_k_family<BlockIQ4_XS>(n, vw, va, [](const BlockIQ4_XS& w, const BlockQ8_K& a) {
    int32_t sumi = 0;
    for (int s = 0; s < 8; ++s) sumi += iq4xs_scale(w, s) * sum_nibbles_lut(w.qs + 16 * s, a.qs + 32 * s, kIq4nlValues);
    return a.d * f16_to_f32(w.d) * static_cast<float>(sumi);
  });
}

}  // namespace

void register_scalar_kernels(KernelTable& table) {
  auto set = [&](T type, VecDotFn fn) {
    table.vec_dot[static_cast<size_t>(type)] = fn;
    table.vec_dot_isa[static_cast<size_t>(type)] = Isa::kScalar;
  };
  set(T::kF32, dot_f32_f32);
  set(T::kF16, dot_f16_f16);
  set(T::kBF16, dot_bf16_bf16);
  set(T::kQ4_0, dot_q4_0_q8_0);
  set(T::kQ4_1, dot_q4_1_q8_1);
  set(T::kQ5_0, dot_q5_0_q8_0);
  set(T::kQ5_1, dot_q5_1_q8_1);
  set(T::kQ8_0, dot_q8_0_q8_0);
  set(T::kQ2_K, dot_q2_k_q8_k);
  set(T::kQ3_K, dot_q3_k_q8_k);
  set(T::kQ4_K, dot_q4_k_q8_k);
  set(T::kQ5_K, dot_q5_k_q8_k);
  set(T::kQ6_K, dot_q6_k_q8_k);
  set(T::kIQ4_NL, dot_iq4_nl_q8_0);
  set(T::kIQ4_XS, dot_iq4_xs_q8_k);
  set(T::kMXFP4, dot_mxfp4_q8_0);

  auto act = [&](T type, QuantizeActivationFn fn) { table.quantize_activation[static_cast<size_t>(type)] = fn; };
  act(T::kQ8_0, quantize_row_q8_0);
  act(T::kQ8_1, quantize_row_q8_1);
  act(T::kQ8_K, quantize_row_q8_k);
  act(T::kF32, convert_row_f32);
  act(T::kF16, convert_row_f16);
  act(T::kBF16, convert_row_bf16);
}

}  // namespace tessera::quant::isa_kernels

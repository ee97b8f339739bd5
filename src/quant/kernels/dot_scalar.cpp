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

float dot_f32_f32(int64_t n, const void* vw, const void* va) {
  const auto* w = static_cast<const float*>(vw);
  const auto* a = static_cast<const float*>(va);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(w[i]) * a[i];
  return static_cast<float>(sum);
}

float dot_f16_f16(int64_t n, const void* vw, const void* va) {
  const auto* w = static_cast<const uint16_t*>(vw);
  const auto* a = static_cast<const uint16_t*>(va);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(f16_to_f32(w[i])) * f16_to_f32(a[i]);
  return static_cast<float>(sum);
}

float dot_bf16_bf16(int64_t n, const void* vw, const void* va) {
  const auto* w = static_cast<const uint16_t*>(vw);
  const auto* a = static_cast<const uint16_t*>(va);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(bf16_to_f32(w[i])) * bf16_to_f32(a[i]);
  return static_cast<float>(sum);
}

// ---- 32-element blocks against Q8_0: weight value = scale * q[j] ----

// Signed quants of one 4-bit block through a 16-entry table (Q4_0: j - 8; IQ4_NL; MXFP4).
template <class Block>
int32_t sum_nibbles_lut(const Block& w, const BlockQ8_0& a, const int8_t* lut) {
  int32_t sum = 0;
  for (int j = 0; j < 16; ++j) {
    sum += lut[w.qs[j] & 0xf] * a.qs[j];      // low nibbles: elements 0..15
    sum += lut[w.qs[j] >> 4] * a.qs[j + 16];  // high nibbles: elements 16..31
  }
  return sum;
}

constexpr int8_t kQ4_0Values[16] = {-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7};

float dot_q4_0_q8_0(int64_t n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ4_0*>(vw);
  const auto* a = static_cast<const BlockQ8_0*>(va);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK8_0; ++i) {
    const int32_t sumi = sum_nibbles_lut(w[i], a[i], kQ4_0Values);
    sum += f16_to_f32(w[i].d) * f16_to_f32(a[i].d) * static_cast<float>(sumi);
  }
  return sum;
}

float dot_iq4_nl_q8_0(int64_t n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockIQ4_NL*>(vw);
  const auto* a = static_cast<const BlockQ8_0*>(va);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK8_0; ++i) {
    const int32_t sumi = sum_nibbles_lut(w[i], a[i], kIq4nlValues);
    sum += f16_to_f32(w[i].d) * f16_to_f32(a[i].d) * static_cast<float>(sumi);
  }
  return sum;
}

float dot_mxfp4_q8_0(int64_t n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockMXFP4*>(vw);
  const auto* a = static_cast<const BlockQ8_0*>(va);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK8_0; ++i) {
    const int32_t sumi = sum_nibbles_lut(w[i], a[i], kMxfp4Values);
    sum += e8m0_half_to_f32(w[i].e) * f16_to_f32(a[i].d) * static_cast<float>(sumi);
  }
  return sum;
}

// Q5_0 / Q5_1 quant j (0..31): nibble plus the j-th bit of qh as bit 4, unsigned 0..31.
template <class Block>
int q5_unsigned(const Block& w, uint32_t qh, int j) {
  const int nibble = j < 16 ? (w.qs[j] & 0xf) : (w.qs[j - 16] >> 4);
  return nibble | static_cast<int>(((qh >> j) & 1u) << 4);
}

float dot_q5_0_q8_0(int64_t n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ5_0*>(vw);
  const auto* a = static_cast<const BlockQ8_0*>(va);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK8_0; ++i) {
    const uint32_t qh = load_qh32(w[i].qh);
    int32_t sumi = 0;
    for (int j = 0; j < 32; ++j) sumi += (q5_unsigned(w[i], qh, j) - 16) * a[i].qs[j];
    sum += f16_to_f32(w[i].d) * f16_to_f32(a[i].d) * static_cast<float>(sumi);
  }
  return sum;
}

float dot_q8_0_q8_0(int64_t n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ8_0*>(vw);
  const auto* a = static_cast<const BlockQ8_0*>(va);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK8_0; ++i) {
    int32_t sumi = 0;
    for (int j = 0; j < 32; ++j) sumi += w[i].qs[j] * a[i].qs[j];
    sum += f16_to_f32(w[i].d) * f16_to_f32(a[i].d) * static_cast<float>(sumi);
  }
  return sum;
}

// ---- 32-element blocks against Q8_1: weight value = d * q[j] + m, q unsigned ----
// sum_j (d q_j + m) a_d y_j = d a_d sum(q y) + m * (a_d sum y) and Q8_1 stores a_d * sum(y) as s.

float dot_q4_1_q8_1(int64_t n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ4_1*>(vw);
  const auto* a = static_cast<const BlockQ8_1*>(va);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK8_1; ++i) {
    int32_t sumi = 0;
    for (int j = 0; j < 16; ++j) {
      sumi += (w[i].qs[j] & 0xf) * a[i].qs[j];
      sumi += (w[i].qs[j] >> 4) * a[i].qs[j + 16];
    }
    sum += f16_to_f32(w[i].d) * f16_to_f32(a[i].d) * static_cast<float>(sumi) + f16_to_f32(w[i].m) * f16_to_f32(a[i].s);
  }
  return sum;
}

float dot_q5_1_q8_1(int64_t n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ5_1*>(vw);
  const auto* a = static_cast<const BlockQ8_1*>(va);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK8_1; ++i) {
    const uint32_t qh = load_qh32(w[i].qh);
    int32_t sumi = 0;
    for (int j = 0; j < 32; ++j) sumi += q5_unsigned(w[i], qh, j) * a[i].qs[j];
    sum += f16_to_f32(w[i].d) * f16_to_f32(a[i].d) * static_cast<float>(sumi) + f16_to_f32(w[i].m) * f16_to_f32(a[i].s);
  }
  return sum;
}

// ---- 256-element super-blocks against Q8_K ----
// Element e of a Q2_K / Q3_K / Q6_K block belongs to 16-element sub-block e / 16; in each 128-element
// half h, element 32*g + l (g = 0..3) takes bits 2g..2g+1 of byte l of that half's quant bytes.

float dot_q2_k_q8_k(int64_t n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ2_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int32_t sumi = 0, summ = 0;
    for (int s = 0; s < 16; ++s) {
      summ += (w[i].scales[s] >> 4) * a[i].bsums[s];
      int32_t sub = 0;
      for (int e = 16 * s; e < 16 * s + 16; ++e) {
        const int h = e / 128, g = (e % 128) / 32, l = e % 32;
        sub += ((w[i].qs[32 * h + l] >> (2 * g)) & 3) * a[i].qs[e];
      }
      sumi += (w[i].scales[s] & 0xf) * sub;
    }
    sum += a[i].d * (f16_to_f32(w[i].d) * static_cast<float>(sumi) - f16_to_f32(w[i].dmin) * static_cast<float>(summ));
  }
  return sum;
}

float dot_q3_k_q8_k(int64_t n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ3_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int32_t sumi = 0;
    for (int s = 0; s < 16; ++s) {
      int32_t sub = 0;
      for (int e = 16 * s; e < 16 * s + 16; ++e) {
        const int h = e / 128, g = (e % 128) / 32, l = e % 32;
        const int low = (w[i].qs[32 * h + l] >> (2 * g)) & 3;
        const bool high = (w[i].hmask[l] >> (4 * h + g)) & 1;  // a clear high bit means q - 4
        sub += (low - (high ? 0 : 4)) * a[i].qs[e];
      }
      sumi += q3k_scale(w[i].scales, s) * sub;
    }
    sum += a[i].d * f16_to_f32(w[i].d) * static_cast<float>(sumi);
  }
  return sum;
}

// Q4_K / Q5_K: element 64*c + l (l < 32) is the low nibble of qs[32c + l] (sub-block 2c),
// element 64*c + 32 + l its high nibble (sub-block 2c + 1); Q5_K adds bit (2c or 2c+1) of qh[l].
template <bool kFiveBit, class Block>
float dot_q4_5_k(int64_t n, const Block* w, const BlockQ8_K* a) {
  float sum = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int32_t sumi = 0, summ = 0;
    for (int s = 0; s < 8; ++s) {
      int scale, min;
      q4k_scale_min(w[i].scales, s, scale, min);
      summ += min * (a[i].bsums[2 * s] + a[i].bsums[2 * s + 1]);
      const int c = s / 2, shift = 4 * (s % 2);
      int32_t sub = 0;
      for (int l = 0; l < 32; ++l) {
        int q = (w[i].qs[32 * c + l] >> shift) & 0xf;
        if constexpr (kFiveBit) q |= ((w[i].qh[l] >> s) & 1) << 4;
        sub += q * a[i].qs[32 * s + l];
      }
      sumi += scale * sub;
    }
    sum += a[i].d * (f16_to_f32(w[i].d) * static_cast<float>(sumi) - f16_to_f32(w[i].dmin) * static_cast<float>(summ));
  }
  return sum;
}

float dot_q4_k_q8_k(int64_t n, const void* vw, const void* va) {
  return dot_q4_5_k<false>(n, static_cast<const BlockQ4_K*>(vw), static_cast<const BlockQ8_K*>(va));
}

float dot_q5_k_q8_k(int64_t n, const void* vw, const void* va) {
  return dot_q4_5_k<true>(n, static_cast<const BlockQ5_K*>(vw), static_cast<const BlockQ8_K*>(va));
}

// Q6_K: in half h, element 32*g + l takes a nibble of ql[64h + l + 32*(g % 2)] (low for g < 2) and
// bits 2g..2g+1 of qh[32h + l] as bits 4-5; value = q - 32.
float dot_q6_k_q8_k(int64_t n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ6_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int32_t sumi = 0;
    for (int s = 0; s < 16; ++s) {
      int32_t sub = 0;
      for (int e = 16 * s; e < 16 * s + 16; ++e) {
        const int h = e / 128, g = (e % 128) / 32, l = e % 32;
        const int low = (w[i].ql[64 * h + l + 32 * (g % 2)] >> (4 * (g / 2))) & 0xf;
        const int high = (w[i].qh[32 * h + l] >> (2 * g)) & 3;
        sub += ((low | (high << 4)) - 32) * a[i].qs[e];
      }
      sumi += w[i].scales[s] * sub;
    }
    sum += a[i].d * f16_to_f32(w[i].d) * static_cast<float>(sumi);
  }
  return sum;
}

// IQ4_XS: 8 sub-blocks of 32, each laid out like an IQ4_NL block, with a 6-bit signed scale.
float dot_iq4_xs_q8_k(int64_t n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockIQ4_XS*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int32_t sumi = 0;
    for (int s = 0; s < 8; ++s) {
      const uint8_t* qs = w[i].qs + 16 * s;
      const int8_t* y = a[i].qs + 32 * s;
      int32_t sub = 0;
      for (int j = 0; j < 16; ++j) {
        sub += kIq4nlValues[qs[j] & 0xf] * y[j];
        sub += kIq4nlValues[qs[j] >> 4] * y[j + 16];
      }
      sumi += iq4xs_scale(w[i], s) * sub;
    }
    sum += a[i].d * f16_to_f32(w[i].d) * static_cast<float>(sumi);
  }
  return sum;
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

// 256-bit quantized dot kernels shared by the AVX2 and AVX-512 translation units.
// Included inside an anonymous namespace by each of them, after x86_common.inl and after they
// define the integer primitives below, so each TU compiles its own copy with its own ISA flags:
//   __m256i dot_u8s8(__m256i u, __m256i y)   8 x i32: sums of 4 products u[k] * y[k], u unsigned
//   __m256i scaled_u8s8(__m256i u, __m256i y, __m256i sc16)
//       8 x i32: pairs u*y summed to i16 (u <= 64 or |u| <= 127 with |y| <= 127 cannot saturate),
//       times the i16 scale of each pair, pairs of those summed.
// Integer sums are exact; each block's sum is scaled once in f32, as the scalar reference does.

// Signed x times y (|y| <= 127): move x's sign onto y so the unsigned-by-signed instruction applies.
inline __m256i dot_s8s8(__m256i x, __m256i y) {
  return dot_u8s8(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

// ---- 32-element blocks against Q8_0 ----
// `decode(block)` returns the 32 signed weight quants; `scale(block)` the weight scale.
template <class Block, class Decode, class Scale>
float dot_q8_0_family(int64_t n, const Block* w, const BlockQ8_0* a, Decode decode, Scale scale) {
  const int64_t nb = n / kQK8_0;
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 1 < nb; i += 2) {  // two independent chains hide the int→float latency
    const __m256i p0 = dot_s8s8(decode(w[i]), load256(a[i].qs));
    const __m256i p1 = dot_s8s8(decode(w[i + 1]), load256(a[i + 1].qs));
    acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_set1_ps(scale(w[i]) * f16(a[i].d)), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1), _mm256_set1_ps(scale(w[i + 1]) * f16(a[i + 1].d)), acc1);
  }
  for (; i < nb; ++i) {
    const __m256i p = dot_s8s8(decode(w[i]), load256(a[i].qs));
    acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(scale(w[i]) * f16(a[i].d)), acc0);
  }
  return hsum_ps(_mm256_add_ps(acc0, acc1));
}

// The same against kMaxActRows activation rows at once: each weight block is decoded once.
template <int kRows, class Block, class Decode, class Scale>
void dot_q8_0_family_multi(int64_t n, const Block* w, const uint8_t* act, size_t stride, float* out, Decode decode,
                           Scale scale) {
  __m256 acc[kRows];
  for (int r = 0; r < kRows; ++r) acc[r] = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK8_0; ++i) {
    const __m256i q = decode(w[i]);
    const __m256i abs_q = _mm256_sign_epi8(q, q);
    const float ws = scale(w[i]);
    for (int r = 0; r < kRows; ++r) {
      const BlockQ8_0& b = reinterpret_cast<const BlockQ8_0*>(act + r * stride)[i];
      const __m256i p = dot_u8s8(abs_q, _mm256_sign_epi8(load256(b.qs), q));
      acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(ws * f16(b.d)), acc[r]);
    }
  }
  for (int r = 0; r < kRows; ++r) out[r] = hsum_ps(acc[r]);
}

#define TESSERA_Q8_0_KERNEL(name, Block, decode, scale)                                                       \
  float name(int64_t n, const void* w, const void* a) {                                                       \
    return dot_q8_0_family(n, static_cast<const Block*>(w), static_cast<const BlockQ8_0*>(a), decode, scale); \
  }                                                                                                           \
  void name##_multi(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out) {          \
    const auto* wb = static_cast<const Block*>(w);                                                            \
    const auto* ab = static_cast<const uint8_t*>(a);                                                          \
    switch (n_act) {                                                                                          \
      case 4: return dot_q8_0_family_multi<4>(n, wb, ab, stride, out, decode, scale);                         \
      case 3: return dot_q8_0_family_multi<3>(n, wb, ab, stride, out, decode, scale);                         \
      case 2: return dot_q8_0_family_multi<2>(n, wb, ab, stride, out, decode, scale);                         \
      default: return dot_q8_0_family_multi<1>(n, wb, ab, stride, out, decode, scale);                        \
    }                                                                                                         \
  }

TESSERA_Q8_0_KERNEL(dot_q4_0_q8_0, BlockQ4_0, decode_q4_0, scale_d<BlockQ4_0>)
TESSERA_Q8_0_KERNEL(dot_q5_0_q8_0, BlockQ5_0, decode_q5_0, scale_d<BlockQ5_0>)
TESSERA_Q8_0_KERNEL(dot_q8_0_q8_0, BlockQ8_0, decode_q8_0, scale_d<BlockQ8_0>)
TESSERA_Q8_0_KERNEL(dot_iq4_nl_q8_0, BlockIQ4_NL, decode_iq4_nl, scale_d<BlockIQ4_NL>)
TESSERA_Q8_0_KERNEL(dot_mxfp4_q8_0, BlockMXFP4, decode_mxfp4, scale_mxfp4)
#undef TESSERA_Q8_0_KERNEL

// ---- 32-element blocks with a min, against Q8_1: d * a_d * sum(q y) + m * a_s ----
template <class Block, class Decode>
float dot_q8_1_family(int64_t n, const Block* w, const BlockQ8_1* a, Decode decode) {
  __m256 acc = _mm256_setzero_ps();
  float mins = 0.0f;
  for (int64_t i = 0; i < n / kQK8_1; ++i) {
    const __m256i p = dot_u8s8(decode(w[i]), load256(a[i].qs));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(f16(w[i].d) * f16(a[i].d)), acc);
    mins += f16(w[i].m) * f16(a[i].s);
  }
  return hsum_ps(acc) + mins;
}

float dot_q4_1_q8_1(int64_t n, const void* w, const void* a) {
  return dot_q8_1_family(n, static_cast<const BlockQ4_1*>(w), static_cast<const BlockQ8_1*>(a),
                         [](const BlockQ4_1& b) { return unpack_nibbles16(b.qs); });
}

float dot_q5_1_q8_1(int64_t n, const void* w, const void* a) {
  return dot_q8_1_family(n, static_cast<const BlockQ5_1*>(w), static_cast<const BlockQ8_1*>(a), [](const BlockQ5_1& b) {
    const __m256i high = _mm256_and_si256(bits_to_bytes(load_qh32(b.qh)), _mm256_set1_epi8(0x10));
    return _mm256_or_si256(unpack_nibbles16(b.qs), high);
  });
}

// ---- 256-element super-blocks against Q8_K ----

// Q4_K / Q5_K: chunk c (64 elements) = low nibbles of qs[32c..32c+31] (sub-block 2c) then high
// nibbles (sub-block 2c+1); Q5_K's fifth bits are bits 2c, 2c+1 of qh[0..31].
template <bool kFiveBit, class Block>
float dot_q4_5_k(int64_t n, const Block* w, const BlockQ8_K* a) {
  __m256 acc = _mm256_setzero_ps();
  float mins = 0.0f;
  const __m256i low_mask = _mm256_set1_epi8(0x0f);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    uint8_t scales[8];
    const int min_sum = q4k_scales_and_min_sum(w[i].scales, a[i].bsums, scales);
    __m256i sum = _mm256_setzero_si256();
    __m256i qh;
    if constexpr (kFiveBit) qh = load256(w[i].qh);
    for (int c = 0; c < 4; ++c) {
      const __m256i q = load256(w[i].qs + 32 * c);
      __m256i lo = _mm256_and_si256(q, low_mask);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low_mask);
      if constexpr (kFiveBit) {
        lo = _mm256_or_si256(lo, _mm256_slli_epi16(bit_of_bytes(qh, 2 * c), 4));
        hi = _mm256_or_si256(hi, _mm256_slli_epi16(bit_of_bytes(qh, 2 * c + 1), 4));
      }
      const __m256i s0 = _mm256_set1_epi16(scales[2 * c]), s1 = _mm256_set1_epi16(scales[2 * c + 1]);
      sum = _mm256_add_epi32(sum, scaled_u8s8(lo, load256(a[i].qs + 64 * c), s0));
      sum = _mm256_add_epi32(sum, scaled_u8s8(hi, load256(a[i].qs + 64 * c + 32), s1));
    }
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), _mm256_set1_ps(a[i].d * f16(w[i].d)), acc);
    mins += a[i].d * f16(w[i].dmin) * static_cast<float>(min_sum);
  }
  return hsum_ps(acc) - mins;
}

float dot_q4_k_q8_k(int64_t n, const void* w, const void* a) {
  return dot_q4_5_k<false>(n, static_cast<const BlockQ4_K*>(w), static_cast<const BlockQ8_K*>(a));
}
float dot_q5_k_q8_k(int64_t n, const void* w, const void* a) {
  return dot_q4_5_k<true>(n, static_cast<const BlockQ5_K*>(w), static_cast<const BlockQ8_K*>(a));
}

// Q6_K: quants are used unsigned (0..63) and the -32 offset is applied through the activation
// block sums: sum sc (q - 32) y = sum sc q y - 32 sum_s sc_s bsums_s.
float dot_q6_k_q8_k(int64_t n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ6_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(0x03);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const int8_t* sc = w[i].scales;
    const int offset = dot_scales_bsums(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc)), a[i].bsums);
    __m256i sum = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i l0 = load256(w[i].ql + 64 * h), l1 = load256(w[i].ql + 64 * h + 32);
      const __m256i qh = load256(w[i].qh + 32 * h);
      const __m256i q[4] = {
          _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4)),
          _mm256_or_si256(_mm256_and_si256(l1, m4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4)),
      };
      for (int g = 0; g < 4; ++g) {
        const int s = 8 * h + 2 * g;
        const __m256i y = load256(a[i].qs + 128 * h + 32 * g);
        sum = _mm256_add_epi32(sum, scaled_u8s8(q[g], y, scale_pair(sc[s], sc[s + 1])));
      }
    }
    sum = _mm256_sub_epi32(sum, lane0(32 * offset));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), _mm256_set1_ps(a[i].d * f16(w[i].d)), acc);
  }
  return hsum_ps(acc);
}

// Q2_K / Q3_K: in half h, 2-bit field g of qs[32h + l] is element 128h + 32g + l. Quants are used
// unsigned and the offsets go through bsums (Q2_K: dmin * min; Q3_K: 4 where the high bit is clear,
// i.e. q = low + 4 * high - 4).
template <bool kThreeBit, class Block>
float dot_q2_3_k(int64_t n, const Block* w, const BlockQ8_K* a) {
  const __m256i m2 = _mm256_set1_epi8(0x03);
  __m256 acc = _mm256_setzero_ps();
  float mins = 0.0f;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int8_t scales[16];
    int offset;
    if constexpr (kThreeBit) {
      const __m128i sc = q3k_scales16(w[i].scales);
      offset = 4 * dot_scales_bsums(sc, a[i].bsums);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(scales), sc);
    } else {
      const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[i].scales));
      const __m128i low = _mm_set1_epi8(0x0f);
      offset = dot_scales_bsums(_mm_and_si128(_mm_srli_epi16(raw, 4), low), a[i].bsums);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(scales), _mm_and_si128(raw, low));
    }
    __m256i hmask;
    if constexpr (kThreeBit) hmask = load256(w[i].hmask);
    __m256i sum = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i qs = load256(w[i].qs + 32 * h);
      for (int g = 0; g < 4; ++g) {
        __m256i q = _mm256_and_si256(_mm256_srl_epi16(qs, _mm_cvtsi32_si128(2 * g)), m2);
        if constexpr (kThreeBit) q = _mm256_or_si256(q, _mm256_slli_epi16(bit_of_bytes(hmask, 4 * h + g), 2));
        const int s = 8 * h + 2 * g;
        const __m256i y = load256(a[i].qs + 128 * h + 32 * g);
        sum = _mm256_add_epi32(sum, scaled_u8s8(q, y, scale_pair(scales[s], scales[s + 1])));
      }
    }
    if constexpr (kThreeBit) {
      sum = _mm256_sub_epi32(sum, lane0(offset));  // same scale as the quants: stays exact
    } else {
      mins += a[i].d * f16(w[i].dmin) * static_cast<float>(offset);
    }
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), _mm256_set1_ps(a[i].d * f16(w[i].d)), acc);
  }
  return hsum_ps(acc) - mins;
}

float dot_q2_k_q8_k(int64_t n, const void* w, const void* a) {
  return dot_q2_3_k<false>(n, static_cast<const BlockQ2_K*>(w), static_cast<const BlockQ8_K*>(a));
}
float dot_q3_k_q8_k(int64_t n, const void* w, const void* a) {
  return dot_q2_3_k<true>(n, static_cast<const BlockQ3_K*>(w), static_cast<const BlockQ8_K*>(a));
}

// IQ4_XS: per 32-element sub-block, IQ4_NL values times a signed 6-bit scale.
float dot_iq4_xs_q8_k(int64_t n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockIQ4_XS*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  const __m256i lut = lut16(kIq4nlValues);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    __m256i sum = _mm256_setzero_si256();
    for (int s = 0; s < 8; ++s) {
      const __m256i q = _mm256_shuffle_epi8(lut, unpack_nibbles16(w[i].qs + 16 * s));
      const __m256i y = load256(a[i].qs + 32 * s);
      const int scale = iq4xs_scale(w[i], s);
      // |q| <= 127, so |q| * |y| pairs stay below the i16 saturation point.
      sum =
          _mm256_add_epi32(sum, scaled_u8s8(_mm256_sign_epi8(q, q), _mm256_sign_epi8(y, q), scale_pair(scale, scale)));
    }
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), _mm256_set1_ps(a[i].d * f16(w[i].d)), acc);
  }
  return hsum_ps(acc);
}

void register_x86_quant_kernels(KernelTable& table, Isa isa) {
  auto set = [&](TensorType type, VecDotFn fn, VecDotMultiFn multi) {
    table.vec_dot[static_cast<size_t>(type)] = fn;
    table.vec_dot_isa[static_cast<size_t>(type)] = isa;
    table.vec_dot_multi[static_cast<size_t>(type)] = multi;
  };
  using T = TensorType;
  set(T::kQ4_0, dot_q4_0_q8_0, dot_q4_0_q8_0_multi);
  set(T::kQ5_0, dot_q5_0_q8_0, dot_q5_0_q8_0_multi);
  set(T::kQ8_0, dot_q8_0_q8_0, dot_q8_0_q8_0_multi);
  set(T::kIQ4_NL, dot_iq4_nl_q8_0, dot_iq4_nl_q8_0_multi);
  set(T::kMXFP4, dot_mxfp4_q8_0, dot_mxfp4_q8_0_multi);
  set(T::kQ4_1, dot_q4_1_q8_1, nullptr);
  set(T::kQ5_1, dot_q5_1_q8_1, nullptr);
  set(T::kQ2_K, dot_q2_k_q8_k, nullptr);
  set(T::kQ3_K, dot_q3_k_q8_k, nullptr);
  set(T::kQ4_K, dot_q4_k_q8_k, nullptr);
  set(T::kQ5_K, dot_q5_k_q8_k, nullptr);
  set(T::kQ6_K, dot_q6_k_q8_k, nullptr);
  set(T::kIQ4_XS, dot_iq4_xs_q8_k, nullptr);
}

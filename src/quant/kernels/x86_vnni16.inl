// "One lane per block" helpers shared by the AVX-512 GEMM (gemm_avx512.cpp) and the matrix-vector
// kernels (matvec_avx512.cpp). Included inside an anonymous namespace of each, after
// x86_common.inl, so each TU compiles its own copy under the AVX-512 flags.
//
// Both kernels reduce a row × token dot the same way, which is what makes a token decoded alone
// bit-identical to the same token inside a batch:
//  - Q8_0 family (32-element blocks): 16 blocks at a time; lane j of a 16-lane i32 vector holds
//    block j's exact integer dot sum(w * y); then acc = fma(cvt(isum), ws * as, acc) with the
//    16 weight and activation block scales (0 for the padding blocks past the row's end).
//  - k-quants against Q8_K: one super-block at a time; lane g holds group g's (16 elements)
//    exact sum(q * y) over the unsigned quants q; then acc = fma(cvt(isum), ws * d, acc) and
//    acc = acc - wm * (d * bsum_g) with the group scales ws, offsets wm (value = ws * q - wm),
//    the activation super-block scale d and group sums bsum. Q4_K (scales per 32 elements) does
//    the same with one lane per 32-element sub-block and two super-blocks per 16 lanes, so its
//    float step runs half as often; a_d then holds each lane's super-block d.
//    Zero-point k-quants (value = scale * (q - z): Q6_K z = 32, Q3_K z = 4, IQ4_XS z = 128) fold
//    the offset into the integer dot instead: isum - z * bsum_g is exact, then acc = fma(cvt(that),
//    ws * d, acc), the Q8_0 family's step (one float operation fewer per group).
//  - the row's result is _mm512_reduce_add_ps(acc).
// The integer sums are exact whatever order computes them, so the GEMM (which re-lays operands so
// that a run of vpdpbusd leaves each block in its lane) and the matvec (which reads the weights as
// stored and folds lanes together with permutes) only have to share the float steps below.

inline __m512 q8_group_step(__m512 acc, __m512i isum, __m512 w_scale, __m512 a_scale) {
  return _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(w_scale, a_scale), acc);
}

inline __m512 k_super_step(__m512 acc, __m512i isum, __m512 w_scale, __m512 w_offset, __m512 a_d, __m512 a_sum) {
  acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(w_scale, a_d), acc);
  return _mm512_fnmadd_ps(w_offset, a_sum, acc);
}

// d * bsums[g] for the 16 groups of a Q8_K block.
inline __m512 q8k_group_sums(const BlockQ8_K& a) {
  const __m512i b = _mm512_cvtepi16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bsums)));
  return _mm512_mul_ps(_mm512_set1_ps(a.d), _mm512_cvtepi32_ps(b));
}

// -z * bsums[g] for the 16 groups of a Q8_K block: what a zero-point type adds to its integer dots.
inline __m512i q8k_group_zero_corr(const BlockQ8_K& a, int z) {
  const __m512i b = _mm512_cvtepi16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bsums)));
  return _mm512_mullo_epi32(b, _mm512_set1_epi32(-z));
}

// Sums of adjacent lane pairs: lanes 0..7 from x, 8..15 from y.
inline __m512i pair_sums(__m512i x, __m512i y) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  return _mm512_add_epi32(_mm512_permutex2var_epi32(x, even, y), _mm512_permutex2var_epi32(x, odd, y));
}

// Four vectors of 4 consecutive lanes per group (groups in order) → one lane per group.
inline __m512i sum_lane_quads(const __m512i (&p)[4]) {
  return pair_sums(pair_sums(p[0], p[1]), pair_sums(p[2], p[3]));
}

// Eight vectors of 8 consecutive lanes per block (blocks in order) → one lane per block.
inline __m512i sum_lane_octets(const __m512i (&p)[8]) {
  const __m512i a = pair_sums(pair_sums(p[0], p[1]), pair_sums(p[2], p[3]));
  const __m512i b = pair_sums(pair_sums(p[4], p[5]), pair_sums(p[6], p[7]));
  return pair_sums(a, b);
}

// Two 256-bit halves as one 512-bit register.
inline __m512i join256(__m256i lo, __m256i hi) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

// ---- k-quant super-blocks decoded in element order (Q6_K here; the rarer types' scalar decoders
// are in gemm_avx512.cpp): q[c] holds elements 64c .. 64c+63 as unsigned quants, with the 16
// group scales and offsets ----

struct KSuper {
  __m512i q[4];
  __m512 scale, offset;
};

inline KSuper decode_q6_k_vec(const BlockQ6_K& b) {
  KSuper s;
  const __m512i low4 = _mm512_set1_epi8(0x0f), low2 = _mm512_set1_epi8(0x03);
  for (int h = 0; h < 2; ++h) {
    const __m512i ql = _mm512_loadu_si512(b.ql + 64 * h);
    const __m256i qh = load256(b.qh + 32 * h);
    const __m512i hi = join256(qh, _mm256_srli_epi16(qh, 2));  // bits for elements 0..31 | 32..63
    const __m512i hi_low = _mm512_slli_epi16(_mm512_and_si512(hi, low2), 4);
    const __m512i hi_high = _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(hi, 4), low2), 4);
    s.q[2 * h] = _mm512_or_si512(_mm512_and_si512(ql, low4), hi_low);
    s.q[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), low4), hi_high);
  }
  const __m512i sc = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales)));
  s.scale = _mm512_mul_ps(_mm512_set1_ps(f16(b.d)), _mm512_cvtepi32_ps(sc));
  s.offset = _mm512_mul_ps(_mm512_set1_ps(32.0f), s.scale);  // quants stored as value + 32
  return s;
}

// ---- Q4_K, one lane per 32-element sub-block: two super-blocks fill 16 lanes (sub-blocks 0..7 of
// the first, 8..15 of the second), so the float step runs once per two super-blocks. The second
// super-block may be missing (a row with an odd count): zero quants, scales, offsets and sums,
// which leave acc unchanged. The float step is k_super_step. ----

// Two 256-bit float halves as one 512-bit register (no AVX-512 DQ: insert as doubles).
inline __m512 join256_ps(__m256 lo, __m256 hi) {
  return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(lo)), _mm256_castps_pd(hi), 1));
}

struct K32Pair {
  __m512i q[8];  // q[c]: unsigned quants of the pair's elements 64c .. 64c + 63 (sub-blocks 2c, 2c + 1)
  __m512 scale, offset;
};

// The 8 sub-block scales d * sc[j] and offsets dmin * m[j] of one super-block.
inline void q4_k_sub_scales(const BlockQ4_K& b, __m256& scale, __m256& offset) {
  // The 6-bit scales and mins of the 8 sub-blocks of 32, four at a time (as q4k_scale_min reads them).
  uint32_t u[3];
  std::memcpy(u, b.scales, sizeof u);
  const uint32_t low6 = 0x3f3f3f3f, low4_32 = 0x0f0f0f0f, top2 = 0x03030303;
  const uint32_t sc0 = u[0] & low6, sc1 = (u[2] & low4_32) | (((u[0] >> 6) & top2) << 4);
  const uint32_t mn0 = u[1] & low6, mn1 = ((u[2] >> 4) & low4_32) | (((u[1] >> 6) & top2) << 4);
  const __m128i bytes =
      _mm_setr_epi32(static_cast<int>(sc0), static_cast<int>(sc1), static_cast<int>(mn0), static_cast<int>(mn1));
  const __m256 sc = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes));
  const __m256 mn = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(bytes, 8)));
  scale = _mm256_mul_ps(_mm256_set1_ps(f16(b.d)), sc);
  offset = _mm256_mul_ps(_mm256_set1_ps(f16(b.dmin)), mn);
}

// Scales and offsets of a pair; zeros for the second half when it has no second super-block
// (`b1` is then any readable block: GCC 12 misreads a null check here as an out-of-bounds read).
inline void q4_k_pair_scales(const BlockQ4_K& b0, const BlockQ4_K& b1, bool has_second, __m512& scale, __m512& offset) {
  __m256 s0, o0, s1, o1;
  q4_k_sub_scales(b0, s0, o0);
  q4_k_sub_scales(b1, s1, o1);
  if (!has_second) s1 = o1 = _mm256_setzero_ps();
  scale = join256_ps(s0, s1);
  offset = join256_ps(o0, o1);
}

// One super-block's quants into q[0..3].
inline void decode_q4_k_sub(const BlockQ4_K& b, __m512i* q) {
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  for (int c = 0; c < 4; ++c) {
    const __m256i packed = load256(b.qs + 32 * c);
    q[c] = _mm512_and_si512(join256(packed, _mm256_srli_epi16(packed, 4)), low4);
  }
}

inline K32Pair decode_q4_k_pair(const BlockQ4_K& b0, const BlockQ4_K* b1) {
  K32Pair s;
  decode_q4_k_sub(b0, s.q);
  if (b1 != nullptr) {
    decode_q4_k_sub(*b1, s.q + 4);
  } else {
    for (int c = 4; c < 8; ++c) s.q[c] = _mm512_setzero_si512();
  }
  q4_k_pair_scales(b0, b1 != nullptr ? *b1 : b0, b1 != nullptr, s.scale, s.offset);
  return s;
}

// The activation side of a pair: d of each lane's super-block, and d * (sum of the sub-block's 32 quants).
inline __m512 q8k_pair_d(const BlockQ8_K& a0, const BlockQ8_K* a1) {
  return join256_ps(_mm256_set1_ps(a0.d), a1 != nullptr ? _mm256_set1_ps(a1->d) : _mm256_setzero_ps());
}
inline __m256 q8k_sub_sums(const BlockQ8_K& a) {
  const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bsums));
  const __m256i pairs = _mm256_madd_epi16(bsums, _mm256_set1_epi16(1));  // groups 2j + 2j + 1, exact
  return _mm256_mul_ps(_mm256_set1_ps(a.d), _mm256_cvtepi32_ps(pairs));
}
inline __m512 q8k_pair_sums(const BlockQ8_K& a0, const BlockQ8_K* a1) {
  return join256_ps(q8k_sub_sums(a0), a1 != nullptr ? q8k_sub_sums(*a1) : _mm256_setzero_ps());
}

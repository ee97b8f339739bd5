// 256-bit helpers and Q8_0-family block decoders shared by the x86 kernel translation units
// (dot_avx2.cpp, dot_avx512.cpp, gemm_avx2.cpp, gemm_avx512.cpp). Included inside an anonymous
// namespace of each, so every TU compiles its own private copy under its own ISA flags; everything
// here is `inline` or a template, so a TU that uses only part of it gets no unused-function warnings.

inline float hsum_ps(__m256 v) {
  __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}

inline int hsum_epi32(__m256i v) {
  __m128i x = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  x = _mm_add_epi32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(1, 0, 3, 2)));
  x = _mm_add_epi32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(x);
}

inline float f16(uint16_t h) {
  return _cvtsh_ss(h);
}

inline __m256i load256(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

// 16 packed bytes → 32 nibbles: low nibbles in bytes 0..15, high nibbles in bytes 16..31
// (the element order of Q4_0-style blocks).
inline __m256i unpack_nibbles16(const uint8_t* qs) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

// 32 bits → 32 bytes, byte j = 0xff when bit j is set.
inline __m256i bits_to_bytes(uint32_t bits) {
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(bits)),
      _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
  const __m256i bit_of_byte = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
  return _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit_of_byte), bit_of_byte);
}

inline __m256i lut16(const int8_t* values) {
  return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(values)));
}

// Two i16 scales: a for the 16 elements in bytes 0..15, b for bytes 16..31.
inline __m256i scale_pair(int a, int b) {
  return _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(b)), _mm_set1_epi16(static_cast<int16_t>(a)));
}

// An integer in lane 0, zeros elsewhere: a per-block correction added exactly to the lane sums.
inline __m256i lane0(int v) {
  return _mm256_setr_epi32(v, 0, 0, 0, 0, 0, 0, 0);
}

// Byte-wise right shift by a run-time count (<= 7) of every byte, keeping bit 0 only.
inline __m256i bit_of_bytes(__m256i v, int shift) {
  return _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(shift)), _mm256_set1_epi8(1));
}

// Q3_K: the 16 signed 6-bit scales, unpacked four at a time with 32-bit operations (the same
// bit layout q3k_scale() reads one scale at a time).
inline __m128i q3k_scales16(const uint8_t* packed) {
  uint32_t a[3];
  std::memcpy(a, packed, sizeof a);
  const uint32_t low4 = 0x0f0f0f0f, top2 = 0x03030303;
  const uint32_t r0 = (a[0] & low4) | ((a[2] & top2) << 4);
  const uint32_t r1 = (a[1] & low4) | (((a[2] >> 2) & top2) << 4);
  const uint32_t r2 = ((a[0] >> 4) & low4) | (((a[2] >> 4) & top2) << 4);
  const uint32_t r3 = ((a[1] >> 4) & low4) | (((a[2] >> 6) & top2) << 4);
  return _mm_sub_epi8(
      _mm_setr_epi32(static_cast<int>(r0), static_cast<int>(r1), static_cast<int>(r2), static_cast<int>(r3)),
      _mm_set1_epi8(32));
}

// Q4_K / Q5_K: the 8 six-bit scales into `scales`, and sum_j min_j * (bsums[2j] + bsums[2j+1]),
// unpacking four scales or mins at a time with 32-bit operations (the layout q4k_scale_min() reads).
inline int q4k_scales_and_min_sum(const uint8_t* packed, const int16_t* bsums, uint8_t* scales) {
  uint32_t u[3];
  std::memcpy(u, packed, sizeof u);
  const uint32_t low6 = 0x3f3f3f3f, low4 = 0x0f0f0f0f, top2 = 0x03030303;
  const uint32_t sc[2] = {u[0] & low6, (u[2] & low4) | (((u[0] >> 6) & top2) << 4)};
  const uint32_t mn[2] = {u[1] & low6, ((u[2] >> 4) & low4) | (((u[1] >> 6) & top2) << 4)};
  std::memcpy(scales, sc, sizeof sc);
  // Pairwise sums of bsums (one per 32-element sub-block) times the 8 mins.
  const __m128i b = _mm_hadd_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bsums)),
                                   _mm_loadu_si128(reinterpret_cast<const __m128i*>(bsums + 8)));
  const __m128i m = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, static_cast<int>(mn[1]), static_cast<int>(mn[0])));
  __m128i p = _mm_madd_epi16(m, b);
  p = _mm_add_epi32(p, _mm_shuffle_epi32(p, _MM_SHUFFLE(1, 0, 3, 2)));
  p = _mm_add_epi32(p, _mm_shuffle_epi32(p, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(p);
}

// sum_g sc[g] * bsums[g] over the 16 groups of a Q8_K block (sc: 16 signed bytes).
inline int dot_scales_bsums(__m128i sc, const int16_t* bsums) {
  return hsum_epi32(_mm256_madd_epi16(_mm256_cvtepi8_epi16(sc), load256(bsums)));
}

// ---- GEMM driver shared by gemm_avx2.cpp and gemm_avx512.cpp ----
// Tokens go in chunks whose re-laid activations (`act_bytes_per_token` each) stay in L2; within a
// chunk, weight rows are decoded kTileRows at a time by decode_rows(r0, rows) and every token tile
// is run against them by tile(rows, tokens, t0, result). Rows are re-decoded once per chunk, which
// costs little next to the chunk's dot products.
template <int kTileRows, int kTileTokens, class DecodeRows, class Tile>
void gemm_loop(const MatmulArgs& args, int64_t row_begin, int64_t row_end, size_t act_bytes_per_token,
               DecodeRows decode_rows, Tile tile) {
  constexpr size_t kChunkBytes = size_t{256} << 10;
  int64_t chunk = static_cast<int64_t>(kChunkBytes / (act_bytes_per_token > 0 ? act_bytes_per_token : 1));
  chunk = chunk < kTileTokens ? kTileTokens : chunk / kTileTokens * kTileTokens;
  float result[kGemmRows][kGemmTokens];
  for (int64_t c0 = 0; c0 < args.n_tokens; c0 += chunk) {
    const int64_t c1 = args.n_tokens - c0 < chunk ? args.n_tokens : c0 + chunk;
    for (int64_t r0 = row_begin; r0 < row_end; r0 += kTileRows) {
      const int rows = static_cast<int>(row_end - r0 < kTileRows ? row_end - r0 : kTileRows);
      decode_rows(r0, rows);
      for (int64_t t0 = c0; t0 < c1; t0 += kTileTokens) {
        const int tokens = static_cast<int>(c1 - t0 < kTileTokens ? c1 - t0 : kTileTokens);
        tile(rows, tokens, t0, result);
        for (int t = 0; t < tokens; ++t) {
          for (int r = 0; r < rows; ++r) args.out[(t0 + t) * args.out_stride + r0 + r] = result[r][t];
        }
      }
    }
  }
}

// ---- Q8_0-family decoders: the 32 signed quants of one block, and its scale ----

inline __m256i decode_q4_0(const BlockQ4_0& b) {
  return _mm256_sub_epi8(unpack_nibbles16(b.qs), _mm256_set1_epi8(8));
}
inline __m256i decode_q8_0(const BlockQ8_0& b) {
  return load256(b.qs);
}
// Q5_0's quants as stored (0..31, the value + 16).
inline __m256i unsigned_q5_0(const BlockQ5_0& b) {
  const __m256i high = _mm256_and_si256(bits_to_bytes(load_qh32(b.qh)), _mm256_set1_epi8(0x10));
  return _mm256_or_si256(unpack_nibbles16(b.qs), high);
}
inline __m256i decode_q5_0(const BlockQ5_0& b) {
  return _mm256_sub_epi8(unsigned_q5_0(b), _mm256_set1_epi8(16));
}
inline __m256i decode_iq4_nl(const BlockIQ4_NL& b) {
  return _mm256_shuffle_epi8(lut16(kIq4nlValues), unpack_nibbles16(b.qs));
}
inline __m256i decode_mxfp4(const BlockMXFP4& b) {
  return _mm256_shuffle_epi8(lut16(kMxfp4Values), unpack_nibbles16(b.qs));
}
template <class Block>
inline float scale_d(const Block& b) {
  return f16(b.d);
}
inline float scale_mxfp4(const BlockMXFP4& b) {
  return e8m0_half_to_f32(b.e);
}

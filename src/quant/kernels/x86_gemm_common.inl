// ISA-independent parts of the k-quant GEMM path shared by gemm_avx2.cpp and gemm_avx512.cpp:
// super-block scale unpacking, the Q8_K activation re-layout and the per-row decode loop (the
// scratch layouts are in kernels.h). Included inside an anonymous namespace of each TU after
// x86_common.inl, like it, so each TU compiles its own private copy under its own ISA flags.
// The ISA-specific part of a k-quant decoder is only how it unpacks the quants. As in
// x86_common.inl, everything is `inline` or a template (no unused-function warnings).

// ---- super-block scales: scale[16] and offset[16] per 16-element group, value = scale * q - offset ----

// Q4_K / Q5_K: the 8 packed 6-bit scales and mins, one pair per 32 elements (two groups).
inline void kscales_q4_k(uint16_t d_bits, uint16_t dmin_bits, const uint8_t* packed, float* scale, float* offset) {
  const float d = f16(d_bits), dmin = f16(dmin_bits);
  for (int s = 0; s < 8; ++s) {
    int sc, m;
    q4k_scale_min(packed, s, sc, m);
    scale[2 * s] = scale[2 * s + 1] = d * static_cast<float>(sc);
    offset[2 * s] = offset[2 * s + 1] = dmin * static_cast<float>(m);
  }
}

inline void kscales_q6_k(const BlockQ6_K& b, float* scale, float* offset) {
  const float d = f16(b.d);
  for (int g = 0; g < 16; ++g) {
    scale[g] = d * static_cast<float>(b.scales[g]);
    offset[g] = 32.0f * scale[g];  // quants stored as value + 32
  }
}

inline void kscales_q3_k(const BlockQ3_K& b, float* scale, float* offset) {
  const float d = f16(b.d);
  for (int g = 0; g < 16; ++g) {
    scale[g] = d * static_cast<float>(q3k_scale(b.scales, g));
    offset[g] = 4.0f * scale[g];  // q3 = low + 4 * high, value = q3 - 4
  }
}

inline void kscales_q2_k(const BlockQ2_K& b, float* scale, float* offset) {
  const float d = f16(b.d), dmin = f16(b.dmin);
  for (int g = 0; g < 16; ++g) {
    scale[g] = d * static_cast<float>(b.scales[g] & 0xf);
    offset[g] = dmin * static_cast<float>(b.scales[g] >> 4);
  }
}

// ---- activations and weight rows into the KGemmScratch slots ----

// Q8_K activations: quants copied as they are, d per super-block, and each group's scaled sum
// pre-broadcast to the 4 lanes the group's products land in.
inline void kgemm_prepare_acts(const MatmulArgs& args, const KGemmScratch& L, uint8_t* scratch) {
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
        // Spread over the 4 lanes of the group: a quarter each (exact, a power of two).
        const float v = a[sb].d * static_cast<float>(a[sb].bsums[g]) * 0.25f;
        _mm_storeu_ps(sum4 + (16 * sb + g) * 4, _mm_set1_ps(v));
      }
    }
  }
}

// Decodes `rows` weight rows (rows <= kGemmRows) starting at `w` with decode(block, q, scale, offset).
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

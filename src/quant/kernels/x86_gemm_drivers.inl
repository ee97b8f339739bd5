// GEMM drivers shared by gemm_avx2.cpp and gemm_avx512.cpp: per weight family, re-lay the
// activations, then let gemm_loop() decode kRows weight rows at a time and run the register tile
// for each token tile. Included inside the anonymous namespace of each TU (so each compiles its
// own copy under its own ISA flags) after the TU has defined what differs per ISA:
//   kRows, kTokens                                      the largest register tile (rows × tokens)
//   gemm_prepare_acts, gemm_decode_rows, gemm_tile<R, T>  Q8_0 family (GemmScratch)
//   kdecode_q2_k … kdecode_q6_k, kgemm_tile<R, T>         k-quants (KGemmScratch)
//   widen_row<kType>, fgemm_tile<R, T>                    F32 / F16 / BF16 (FGemmScratch)

static_assert(kRows >= 1 && kRows <= kGemmRows && kTokens >= 1 && kTokens <= kGemmTokens,
              "scratch is sized for kGemmRows × kGemmTokens tiles");

// Runs Tile<R, T>::run(args...) for the run-time sizes rows <= kRows, tokens <= kTokens (tile
// sizes are template parameters so the accumulators stay in registers).
template <template <int, int> class Tile, class... Args>
void run_tile(int rows, int tokens, Args&&... args) {
  auto for_rows = [&]<int R>() {
    if constexpr (kTokens >= 4) {
      if (tokens == 4) return Tile<R, 4>::run(args...);
    }
    if constexpr (kTokens >= 3) {
      if (tokens == 3) return Tile<R, 3>::run(args...);
    }
    if constexpr (kTokens >= 2) {
      if (tokens == 2) return Tile<R, 2>::run(args...);
    }
    return Tile<R, 1>::run(args...);
  };
  if constexpr (kRows >= 4) {
    if (rows == 4) return for_rows.template operator()<4>();
  }
  if constexpr (kRows >= 3) {
    if (rows == 3) return for_rows.template operator()<3>();
  }
  if constexpr (kRows >= 2) {
    if (rows == 2) return for_rows.template operator()<2>();
  }
  for_rows.template operator()<1>();
}

template <int R, int T>
struct Q8Tile {
  static void run(const GemmScratch& L, const uint8_t* s, int64_t t0, float (&out)[kGemmRows][kGemmTokens]) {
    gemm_tile<R, T>(L, s, t0, out);
  }
};
template <int R, int T>
struct KTile {
  static void run(const KGemmScratch& L, int64_t k, const uint8_t* s, int64_t t0,
                  float (&out)[kGemmRows][kGemmTokens]) {
    kgemm_tile<R, T>(L, k, s, t0, out);
  }
};
template <int R, int T>
struct FTile {
  static void run(const FGemmScratch& L, const uint8_t* s, int64_t t0, float (&out)[kGemmRows][kGemmTokens]) {
    fgemm_tile<R, T>(L, s, t0, out);
  }
};

template <class Block, auto kDecode, auto kScale>
void gemm_q8_0_family(const MatmulArgs& args, int64_t row_begin, int64_t row_end, void* scratch_ptr) {
  auto* scratch = static_cast<uint8_t*>(scratch_ptr);
  const GemmScratch L = gemm_scratch_layout(args.k, args.n_tokens);
  gemm_prepare_acts(args, L, scratch);
  const auto* weights = static_cast<const Block*>(args.weights);
  gemm_loop<kRows, kTokens>(
      args, row_begin, row_end, static_cast<size_t>(L.nb_pad) * 64,  // 32 quant bytes + 32 scale bytes per block
      [&](int64_t r0, int rows) { gemm_decode_rows(weights + r0 * L.nb, rows, L, scratch, kDecode, kScale); },
      [&](int rows, int tokens, int64_t t0, float(&out)[kGemmRows][kGemmTokens]) {
        run_tile<Q8Tile>(rows, tokens, L, scratch, t0, out);
      });
}

template <class Block, auto kDecode>
void gemm_k_family(const MatmulArgs& args, int64_t row_begin, int64_t row_end, void* scratch_ptr) {
  auto* scratch = static_cast<uint8_t*>(scratch_ptr);
  const KGemmScratch L = kgemm_scratch_layout(args.k, args.n_tokens);
  kgemm_prepare_acts(args, L, scratch);
  const auto* weights = static_cast<const Block*>(args.weights);
  gemm_loop<kRows, kTokens>(
      args, row_begin, row_end, static_cast<size_t>(args.k) * 2,  // quants + per-group sums
      [&](int64_t r0, int rows) { kgemm_decode_rows(weights + r0 * L.n_super, rows, args.k, L, scratch, kDecode); },
      [&](int rows, int tokens, int64_t t0, float(&out)[kGemmRows][kGemmTokens]) {
        run_tile<KTile>(rows, tokens, L, args.k, scratch, t0, out);
      });
}

template <TensorType kType>
void gemm_float(const MatmulArgs& args, int64_t row_begin, int64_t row_end, void* scratch_ptr) {
  auto* scratch = static_cast<uint8_t*>(scratch_ptr);
  const FGemmScratch L = fgemm_scratch_layout(args.k, args.n_tokens);
  const size_t elem = kType == TensorType::kF32 ? 4 : 2;
  const auto* acts = static_cast<const uint8_t*>(args.acts);
  const auto* weights = static_cast<const uint8_t*>(args.weights);
  auto* act_f = reinterpret_cast<float*>(scratch + L.act);
  auto* w_f = reinterpret_cast<float*>(scratch + L.w);
  for (int64_t t = 0; t < args.n_tokens; ++t) {
    widen_row<kType>(acts + t * args.k * elem, args.k, L.k_pad, act_f + t * L.k_pad);
  }
  gemm_loop<kRows, kTokens>(
      args, row_begin, row_end, static_cast<size_t>(L.k_pad) * 4,
      [&](int64_t r0, int rows) {
        for (int r = 0; r < rows; ++r) {
          widen_row<kType>(weights + (r0 + r) * args.k * elem, args.k, L.k_pad, w_f + r * L.k_pad);
        }
      },
      [&](int rows, int tokens, int64_t t0, float(&out)[kGemmRows][kGemmTokens]) {
        run_tile<FTile>(rows, tokens, L, scratch, t0, out);
      });
}

// The kernels both ISAs provide (gemm_avx512.cpp adds IQ4_XS).
inline void set_shared_gemm_kernels(KernelTable& table) {
  auto set = [&](TensorType type, GemmFn fn) { table.gemm[static_cast<size_t>(type)] = fn; };
  set(TensorType::kQ4_0, gemm_q8_0_family<BlockQ4_0, decode_q4_0, scale_d<BlockQ4_0>>);
  set(TensorType::kQ5_0, gemm_q8_0_family<BlockQ5_0, decode_q5_0, scale_d<BlockQ5_0>>);
  set(TensorType::kQ8_0, gemm_q8_0_family<BlockQ8_0, decode_q8_0, scale_d<BlockQ8_0>>);
  set(TensorType::kIQ4_NL, gemm_q8_0_family<BlockIQ4_NL, decode_iq4_nl, scale_d<BlockIQ4_NL>>);
  set(TensorType::kMXFP4, gemm_q8_0_family<BlockMXFP4, decode_mxfp4, scale_mxfp4>);
  set(TensorType::kQ2_K, gemm_k_family<BlockQ2_K, kdecode_q2_k>);
  set(TensorType::kQ3_K, gemm_k_family<BlockQ3_K, kdecode_q3_k>);
  set(TensorType::kQ4_K, gemm_k_family<BlockQ4_K, kdecode_q4_k>);
  set(TensorType::kQ5_K, gemm_k_family<BlockQ5_K, kdecode_q5_k>);
  set(TensorType::kQ6_K, gemm_k_family<BlockQ6_K, kdecode_q6_k>);
  set(TensorType::kF32, gemm_float<TensorType::kF32>);
  set(TensorType::kF16, gemm_float<TensorType::kF16>);
  set(TensorType::kBF16, gemm_float<TensorType::kBF16>);
}

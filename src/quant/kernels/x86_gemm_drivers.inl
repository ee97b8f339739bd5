// GEMM drivers for F32 / F16 / BF16 weights, shared by gemm_avx2.cpp and gemm_avx512.cpp: widen
// the activations, then let gemm_loop() widen kRows weight rows at a time and run the register
// tile for each token tile. Included inside the anonymous namespace of each TU (so each compiles
// its own copy under its own ISA flags) after the TU has defined what differs per ISA:
//   kRows, kTokens                                      the largest register tile (rows × tokens)
//   widen_row<kType>, fgemm_tile<R, T>                    F32 / F16 / BF16 (FGemmScratch)
// x86_gemm_quant_drivers.inl adds the quantized families on the same pattern (AVX2 only).

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
struct FTile {
  static void run(const FGemmScratch& L, const uint8_t* s, int64_t t0, float (&out)[kGemmRows][kGemmTokens]) {
    fgemm_tile<R, T>(L, s, t0, out);
  }
};

template <TensorType kType>
void gemm_float(const MatmulArgs& args, int64_t row_begin, int64_t row_end, void* scratch_ptr) {
  auto* scratch = static_cast<uint8_t*>(scratch_ptr);
  const FGemmScratch L = fgemm_scratch_layout(args.k, args.n_tokens);
  const size_t elem = kType == TensorType::kF32 ? 4 : 2;
  const auto* acts = static_cast<const uint8_t*>(args.acts);
  const auto* weights = static_cast<const uint8_t*>(args.weights);
  auto* act_f = reinterpret_cast<float*>(scratch + L.act);
  auto* w_f = reinterpret_cast<float*>(scratch + L.w);
  for (int64_t t = 0; !args.acts_prepared && t < args.n_tokens; ++t) {
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

// The float kernels both ISAs provide.
inline void set_float_gemm_kernels(KernelTable& table) {
  auto set = [&](TensorType type, GemmFn fn) { table.gemm[static_cast<size_t>(type)] = fn; };
  set(TensorType::kF32, gemm_float<TensorType::kF32>);
  set(TensorType::kF16, gemm_float<TensorType::kF16>);
  set(TensorType::kBF16, gemm_float<TensorType::kBF16>);
}

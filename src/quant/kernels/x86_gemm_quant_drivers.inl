// GEMM drivers for the quantized families of gemm_avx2.cpp (gemm_avx512.cpp has its own "one lane
// per block" kernels): per family, re-lay the activations, then let gemm_loop() decode kRows weight
// rows at a time and run the register tile for each token tile. Included after
// x86_gemm_drivers.inl (run_tile) once the TU has defined:
//   gemm_prepare_acts, gemm_decode_rows, gemm_tile<R, T>  Q8_0 family (GemmScratch)
//   kdecode_q2_k … kdecode_q6_k, kgemm_tile<R, T>         k-quants (KGemmScratch)

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
template <class Block, auto kDecode, auto kScale>
void gemm_q8_0_family(const MatmulArgs& args, int64_t row_begin, int64_t row_end, void* scratch_ptr) {
  auto* scratch = static_cast<uint8_t*>(scratch_ptr);
  const GemmScratch L = gemm_scratch_layout(args.k, args.n_tokens);
  if (!args.acts_prepared) gemm_prepare_acts(args, L, scratch);
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
  if (!args.acts_prepared) kgemm_prepare_acts(args, L, scratch);
  const auto* weights = static_cast<const Block*>(args.weights);
  gemm_loop<kRows, kTokens>(
      args, row_begin, row_end, static_cast<size_t>(args.k) * 2,  // quants + per-group sums
      [&](int64_t r0, int rows) { kgemm_decode_rows(weights + r0 * L.n_super, rows, args.k, L, scratch, kDecode); },
      [&](int rows, int tokens, int64_t t0, float(&out)[kGemmRows][kGemmTokens]) {
        run_tile<KTile>(rows, tokens, L, args.k, scratch, t0, out);
      });
}

// The quantized kernels of gemm_avx2.cpp.
inline void set_quant_gemm_kernels(KernelTable& table) {
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
}

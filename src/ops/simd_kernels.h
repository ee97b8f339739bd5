// SIMD versions of the f32 ops the forward pass spends time in outside the quantized matmuls: the
// building blocks of blocked attention (attention_tile() in ops.h) and the gated activations.
// Chosen once from CPU detection like the quant dot kernels: the scalar reference (ops.h
// formulas) and an AVX-512 version (simd_kernels_avx512.cpp, the only file with AVX-512 flags).
//
// Tables are immutable after construction and safe to use from any number of threads.
#pragma once

#include <cstdint>
#include <span>

#include "quant/dispatch.h"

namespace tessera::ops {

// One key block's step of the online softmax in attention_tile(), for every query row of a tile.
// Row r belongs to query token tokens[r / group] at position q_pos[tokens[r / group]]; a key is
// visible to it as attention_visible() says. Per row, with m = max(row_max, visible scores):
//   s[j] = exp(softcap(s[j]) - m) for visible keys, 0 for the others;
//   o[, :dv] *= exp(row_max - m) and row_sum = row_sum * exp(row_max - m) + sum_j s[j] when m grows
//   (row_max = -inf: the factor is 0); row_max = m. A row that sees no key of the block keeps its
//   state and gets all-zero weights.
// Each row's result is the same sequence of float operations whatever the other rows and
// whichever of the whole-block shortcuts (block fully visible / invisible to the row) applies.
struct SoftmaxBlock {
  float* s = nullptr;  // [rows, lds] scaled scores q·k of the block's n keys in, weights out
  int64_t lds = 0;
  int64_t rows = 0;
  int64_t n = 0;                     // keys in the block
  std::span<const int32_t> tokens;   // [rows / group] the rows' query tokens
  const int32_t* q_pos = nullptr;    // q_pos[t]: position of token t
  int64_t group = 1;                 // query rows per token
  const int32_t* key_pos = nullptr;  // [n] the keys' positions
  int32_t key_min = 0, key_max = 0;  // min and max of key_pos
  int64_t n_swa = 0;                 // AttentionParams::n_swa
  float softcap = 0.0f;              // AttentionParams::softcap (0 = off)
  float* row_max = nullptr;          // [rows] running max, -inf before the first visible key
  float* row_sum = nullptr;          // [rows] running sum of weights
  float* o = nullptr;                // [rows, ldo] unnormalized outputs, dv columns used
  int64_t ldo = 0;
  int64_t dv = 0;
};

struct OpKernels {
  quant::Isa isa = quant::Isa::kScalar;
  // c[m, n] = (accumulate ? c : 0) + a[m, k] · b[k, n]; row-major with leading dimensions
  // lda, ldb, ldc (floats).
  void (*sgemm)(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                int64_t ldc, bool accumulate) = nullptr;
  // out[i] = f16 bits x[i] widened to f32, i in [0, n).
  void (*f16_to_f32)(const uint16_t* x, float* out, int64_t n) = nullptr;
  // out[j * ldo + d] = f16 bits rows[j][d] widened, j in [0, n_rows), d in [0, n_cols): rows
  // gathered from anywhere (cached values of one block).
  void (*f16_rows_to_f32)(const uint16_t* const* rows, int64_t n_rows, int64_t n_cols, float* out,
                          int64_t ldo) = nullptr;
  // out[d * ldo + j] = rows[j][d] (f16 bits widened / f32), j in [0, n_rows), d in [0, n_cols):
  // gathered rows written transposed (a block's keys as the [head_dim, keys] operand of Q·K^T).
  void (*f16_rows_to_f32_transposed)(const uint16_t* const* rows, int64_t n_rows, int64_t n_cols, float* out,
                                     int64_t ldo) = nullptr;
  void (*f32_rows_transposed)(const float* const* rows, int64_t n_rows, int64_t n_cols, float* out,
                              int64_t ldo) = nullptr;
  // x[i] = exp(x[i] - max) for i in [0, n) (-inf gives 0); returns the sum of the results.
  float (*exp_sub_sum)(float* x, int64_t n, float max) = nullptr;
  // The online softmax step of one key block (SoftmaxBlock above).
  void (*online_softmax)(const SoftmaxBlock& b) = nullptr;
  // out[i] = act(gate[i]) * up[i] as ops::swiglu / ops::geglu; out may alias gate or up.
  void (*swiglu)(const float* gate, const float* up, int64_t n, float* out) = nullptr;
  void (*geglu)(const float* gate, const float* up, int64_t n, float* out) = nullptr;
};

// The table for the best ISA of this CPU.
const OpKernels& op_kernels();
// The table for `isa`, or nullptr when this CPU cannot run it or no kernels exist for it.
const OpKernels* op_kernels_for(quant::Isa isa);

namespace detail {
void register_avx512_op_kernels(OpKernels& table);  // simd_kernels_avx512.cpp
}  // namespace detail

}  // namespace tessera::ops

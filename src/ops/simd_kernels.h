// SIMD versions of the f32 ops the forward pass spends time in outside the quantized matmuls: the
// building blocks of blocked attention (attention_tile() in ops.h) and the gated activations.
// Chosen once from CPU detection like the quant dot kernels: the scalar reference (ops.h
// formulas) and an AVX-512 version (simd_kernels_avx512.cpp, the only file with AVX-512 flags).
//
// Tables are immutable after construction and safe to use from any number of threads.
#pragma once

#include <cstdint>

#include "quant/dispatch.h"

namespace tessera::ops {

struct OpKernels {
  quant::Isa isa = quant::Isa::kScalar;
  // c[m, n] = (accumulate ? c : 0) + a[m, k] · b[k, n]; row-major with leading dimensions
  // lda, ldb, ldc (floats).
  void (*sgemm)(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                int64_t ldc, bool accumulate) = nullptr;
  // out[i] = f16 bits x[i] widened to f32, i in [0, n).
  void (*f16_to_f32)(const uint16_t* x, float* out, int64_t n) = nullptr;
  // x[i] = exp(x[i] - max) for i in [0, n) (-inf gives 0); returns the sum of the results.
  float (*exp_sub_sum)(float* x, int64_t n, float max) = nullptr;
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

// Dot-product kernels chosen once at start-up from CPU detection, and the matrix-vector /
// matrix-matrix entry the forward pass calls (DESIGN.md: "Each kernel has a scalar reference").
//
// A weight row of type W is dotted with an activation row already converted to
// type_traits(W).vec_dot_type (Q8_0, Q8_1, Q8_K, F32, F16 or BF16) by `quantize_activation`.
// Activation quantizers keep int8 quants in [-127, 127]; the SIMD kernels rely on it.
//
// Tables are immutable after construction and safe to use from any number of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "quant/cpu_features.h"
#include "quant/type_traits.h"

namespace tessera::quant {

enum class Isa : uint8_t {
  kScalar = 0,  // portable C++: the reference that defines every kernel's result
  kAvx2 = 1,    // AVX2 + FMA + F16C
  kAvx512 = 2,  // AVX-512 F/BW/VL + VNNI (plus everything kAvx2 needs)
  kCount = 3,
};
std::string_view isa_name(Isa isa);

constexpr size_t kTypeCount = static_cast<size_t>(TensorType::kCount);

// Dot product of `n` elements (a multiple of the weight type's block size).
using VecDotFn = float (*)(int64_t n, const void* weight_row, const void* act_row);
// Dot products of one weight row with `n_act` activation rows (n_act <= kMaxActRows) placed
// `act_stride` bytes apart; results in out[0..n_act). Decodes each weight block once.
using VecDotMultiFn = void (*)(int64_t n, const void* weight_row, const void* act_rows, size_t act_stride, int n_act,
                               float* out);
// Converts `n` f32 activations (a multiple of the activation type's block size) to that type.
using QuantizeActivationFn = void (*)(const float* x, void* out, int64_t n);

constexpr int kMaxActRows = 4;

struct MatmulArgs;
// A whole-matrix kernel for one weight type (tiles of several weight rows × several tokens),
// used for every n_tokens where an ISA has one (so a lone token gets the same bits as in a batch). `scratch` is 64-byte
// aligned and holds kernel-specific re-laid operands (size: isa_kernels::gemm_scratch_bytes in kernels/kernels.h).
using GemmFn = void (*)(const MatmulArgs& args, int64_t row_begin, int64_t row_end, void* scratch);

struct KernelTable {
  Isa isa = Isa::kScalar;
  // Plain arrays rather than std::array: the per-ISA translation units fill them, and must not
  // instantiate shared inline library code under their ISA flags.
  // Indexed by weight type; null where the type has no kernel.
  VecDotFn vec_dot[kTypeCount] = {};
  // The ISA each vec_dot entry was written for (lower than `isa` where a type has no kernel for
  // `isa` and falls back to the next best).
  Isa vec_dot_isa[kTypeCount] = {};
  // Indexed by weight type; null where only the one-row kernel exists (matmul then loops).
  VecDotMultiFn vec_dot_multi[kTypeCount] = {};
  // Indexed by weight type; null where matmul uses the dot kernels above.
  GemmFn gemm[kTypeCount] = {};
  // Indexed by weight type; null where a single token goes through `gemm` too. A matrix-vector
  // kernel for n_tokens == 1 (token generation) that streams the weights as they are stored and
  // gives bit for bit the result `gemm` gives the same token in any batch (same integer dots,
  // same float operations in the same order). Needs no scratch.
  GemmFn matvec[kTypeCount] = {};
  // Indexed by activation type (Q8_0, Q8_1, Q8_K, F32, F16, BF16).
  QuantizeActivationFn quantize_activation[kTypeCount] = {};
};

// True when this CPU can run kernels of `isa`.
bool isa_supported(Isa isa, const CpuFeatures& cpu);
// The fastest ISA `cpu` supports.
Isa best_isa(const CpuFeatures& cpu);

// The table for the best ISA of this CPU, built on first use.
const KernelTable& kernels();
// The table for `isa`, or nullptr when this CPU cannot run it (tests compare ISAs with this).
const KernelTable* kernels_for(Isa isa);

// Quantizes `n_tokens` rows of `k` f32 activations [n_tokens, k] into `out` (rows of
// row_bytes(vec_dot_type(weight_type), k) bytes, contiguous) for dotting with `weight_type`.
void quantize_activations(const KernelTable& table, TensorType weight_type, const float* x, int64_t k, int64_t n_tokens,
                          void* out);

struct MatmulArgs {
  TensorType weight_type;
  const void* weights;  // [rows, k] in weight_type, rows contiguous
  int64_t k;            // elements per row: a multiple of the weight block size
  const void* acts;     // [n_tokens, k] in vec_dot_type(weight_type), rows contiguous
  int64_t n_tokens;
  float* out;          // [n_tokens, out_stride]; element (t, r) at out[t * out_stride + r]
  int64_t out_stride;  // >= rows
  // The caller's scratch already holds these activations as the GEMM re-lays them: the previous
  // matmul() on this scratch had the same arguments apart from the row range. Kernels that re-lay
  // activations then skip it, so a matrix can be done in many row blocks for the cost of one.
  bool acts_prepared = false;
};

// Bytes of scratch matmul() wants for `args` (0 when its kernel needs none); the scratch holds
// re-laid activations and a few decoded weight rows.
size_t matmul_scratch_bytes(const KernelTable& table, const MatmulArgs& args);

// out[t, r] = dot(weights[r], acts[t]) for r in [row_begin, row_end) and every token t; other
// rows of `out` are untouched, so threads may split a matmul by disjoint row ranges.
// Single-threaded. `scratch`: optional caller memory (one buffer per thread) of at least
// matmul_scratch_bytes() bytes, any alignment; when it is smaller, matmul allocates its own for the
// call. Aborts (invariant) when the weight type has no kernel.
void matmul(const KernelTable& table, const MatmulArgs& args, int64_t row_begin, int64_t row_end,
            std::span<uint8_t> scratch = {});

}  // namespace tessera::quant

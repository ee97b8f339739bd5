// The one table that describes every ggml tensor type (DESIGN.md: "One type-traits table").
//
// Ids are ggml's and GGUF's on-disk type ids, so they must never be renumbered. Ids that ggml has
// retired (Q4_2, Q4_3, the Q4_0_x_y / IQ4_NL_x_y repacked layouts) stay in the table, marked
// `removed`, so a file using them gets a precise error rather than "unknown type".
// Later rows gain dequantize / quantize / dot kernels; adding a type is adding a row.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tessera::quant {

enum class TensorType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ4_2Removed = 4,
  kQ4_3Removed = 5,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ2_XXS = 16,
  kIQ2_XS = 17,
  kIQ3_XXS = 18,
  kIQ1_S = 19,
  kIQ4_NL = 20,
  kIQ3_S = 21,
  kIQ2_S = 22,
  kIQ4_XS = 23,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kIQ1_M = 29,
  kBF16 = 30,
  kQ4_0_4_4Removed = 31,
  kQ4_0_4_8Removed = 32,
  kQ4_0_8_8Removed = 33,
  kTQ1_0 = 34,
  kTQ2_0 = 35,
  kIQ4_NL_4_4Removed = 36,
  kIQ4_NL_4_8Removed = 37,
  kIQ4_NL_8_8Removed = 38,
  kMXFP4 = 39,
  kNVFP4 = 40,
  kQ1_0 = 41,
  kCount = 42,
};

// Converts `n` elements (a multiple of the block size) from `blocks` to f32 in `out`.
using DequantizeRowFn = void (*)(const void* blocks, float* out, int64_t n);
// Quantizes `n` f32 elements (a multiple of the block size). `importance` is null or holds [n]
// non-negative per-column weights (an imatrix row) that the error minimisation weighs by.
using QuantizeRowFn = void (*)(const float* in, void* blocks, int64_t n, const float* importance);

struct TypeTraits {
  TensorType type;
  std::string_view name;     // as ggml and llama.cpp print it, e.g. "q4_K"
  uint32_t block_size;       // elements per block (1 for plain scalar types)
  uint32_t bytes_per_block;  // bytes one block occupies on disk
  bool quantized;            // block-quantized (as opposed to plain scalars)
  bool removed;              // id retired by ggml: files using it cannot be loaded
  TensorType vec_dot_type;   // activation type the dot kernels pair this weight type with (as ggml)
  DequantizeRowFn dequantize = nullptr;  // null where not implemented
  QuantizeRowFn quantize = nullptr;      // null where the type has no quantizer
};

// The row for `type`. Every enumerator below kCount has a row.
const TypeTraits& type_traits(TensorType type);

// The row for an on-disk id, or nullopt when the id names no type ggml ever defined.
std::optional<TensorType> tensor_type_from_id(uint32_t id);

// Case-insensitive lookup by name ("Q4_K", "q4_k", "f16"); removed types are not found.
std::optional<TensorType> tensor_type_from_name(std::string_view name);

inline std::string_view type_name(TensorType type) {
  return type_traits(type).name;
}

// Bytes of a row of `n_elements` elements, or nullopt when n_elements is not a multiple of the
// block size. Caller guarantees n_elements fits in int64.
std::optional<uint64_t> row_bytes(TensorType type, uint64_t n_elements);

}  // namespace tessera::quant

#include "quant/type_traits.h"

#include <array>
#include <cctype>

#include "quant/blocks.h"
#include "quant/quant_impl.h"
#include "tessera/check.h"

namespace tessera::quant {
namespace {

using T = TensorType;

// The dequantize and quantize columns: QQ(x) = both (x's functions in quant_impl.h), DQ(x) = only
// dequantize (no quantizer for the type).
#define QQ(x) dequantize_##x, quantize_##x
#define DQ(x) dequantize_##x, nullptr

// Block byte counts follow the ggml block structs; the comments give their fields.
constexpr TypeTraits kTable[] = {
    {T::kF32, "f32", 1, 4, false, false, T::kF32, QQ(f32)},
    {T::kF16, "f16", 1, 2, false, false, T::kF16, QQ(f16)},
    {T::kQ4_0, "q4_0", 32, 2 + 16, true, false, T::kQ8_0, QQ(q4_0)},      // d, qs[16]
    {T::kQ4_1, "q4_1", 32, 2 + 2 + 16, true, false, T::kQ8_1, QQ(q4_1)},  // d, m, qs[16]
    {T::kQ4_2Removed, "q4_2", 16, 2 + 8, true, true, T::kF32},
    {T::kQ4_3Removed, "q4_3", 16, 2 + 2 + 8, true, true, T::kF32},
    {T::kQ5_0, "q5_0", 32, 2 + 4 + 16, true, false, T::kQ8_0, QQ(q5_0)},                 // d, qh[4], qs[16]
    {T::kQ5_1, "q5_1", 32, 2 + 2 + 4 + 16, true, false, T::kQ8_1, QQ(q5_1)},             // d, m, qh[4], qs[16]
    {T::kQ8_0, "q8_0", 32, 2 + 32, true, false, T::kQ8_0, QQ(q8_0)},                     // d, qs[32]
    {T::kQ8_1, "q8_1", 32, 2 + 2 + 32, true, false, T::kQ8_1, QQ(q8_1)},                 // d, s, qs[32]
    {T::kQ2_K, "q2_K", kQK_K, 16 + 64 + 2 + 2, true, false, T::kQ8_K, QQ(q2_k)},         // scales, qs, d, dmin
    {T::kQ3_K, "q3_K", kQK_K, 32 + 64 + 12 + 2, true, false, T::kQ8_K, QQ(q3_k)},        // hmask, qs, scales, d
    {T::kQ4_K, "q4_K", kQK_K, 2 + 2 + 12 + 128, true, false, T::kQ8_K, QQ(q4_k)},        // d, dmin, scales, qs
    {T::kQ5_K, "q5_K", kQK_K, 2 + 2 + 12 + 32 + 128, true, false, T::kQ8_K, QQ(q5_k)},   // d, dmin, scales, qh, qs
    {T::kQ6_K, "q6_K", kQK_K, 128 + 64 + 16 + 2, true, false, T::kQ8_K, QQ(q6_k)},       // ql, qh, scales, d
    {T::kQ8_K, "q8_K", kQK_K, 4 + 256 + 32, true, false, T::kQ8_K, QQ(q8_k)},            // d (f32), qs, bsums[16]
    {T::kIQ2_XXS, "iq2_xxs", kQK_K, 2 + 64, true, false, T::kQ8_K, DQ(iq2_xxs)},         // d, qs[32] (u16)
    {T::kIQ2_XS, "iq2_xs", kQK_K, 2 + 64 + 8, true, false, T::kQ8_K, DQ(iq2_xs)},        // d, qs[32] (u16), scales
    {T::kIQ3_XXS, "iq3_xxs", kQK_K, 2 + 96, true, false, T::kQ8_K, DQ(iq3_xxs)},         // d, qs[96]
    {T::kIQ1_S, "iq1_s", kQK_K, 2 + 32 + 16, true, false, T::kQ8_K, DQ(iq1_s)},          // d, qs, qh[8] (u16)
    {T::kIQ4_NL, "iq4_nl", 32, 2 + 16, true, false, T::kQ8_0, QQ(iq4_nl)},               // d, qs[16]
    {T::kIQ3_S, "iq3_s", kQK_K, 2 + 64 + 8 + 32 + 4, true, false, T::kQ8_K, DQ(iq3_s)},  // d, qs, qh, signs, scales
    {T::kIQ2_S, "iq2_s", kQK_K, 2 + 64 + 8 + 8, true, false, T::kQ8_K, DQ(iq2_s)},       // d, qs, qh, scales
    {T::kIQ4_XS, "iq4_xs", kQK_K, 2 + 2 + 4 + 128, true, false, T::kQ8_K, QQ(iq4_xs)},   // d, scales_h, scales_l, qs
    {T::kI8, "i8", 1, 1, false, false, T::kI8},
    {T::kI16, "i16", 1, 2, false, false, T::kI16},
    {T::kI32, "i32", 1, 4, false, false, T::kI32},
    {T::kI64, "i64", 1, 8, false, false, T::kI64},
    {T::kF64, "f64", 1, 8, false, false, T::kF64},
    {T::kIQ1_M, "iq1_m", kQK_K, 32 + 16 + 8, true, false, T::kQ8_K, DQ(iq1_m)},  // qs, qh, scales (holds d)
    {T::kBF16, "bf16", 1, 2, false, false, T::kBF16, QQ(bf16)},
    {T::kQ4_0_4_4Removed, "q4_0_4_4", 32, 18, true, true, T::kF32},
    {T::kQ4_0_4_8Removed, "q4_0_4_8", 32, 18, true, true, T::kF32},
    {T::kQ4_0_8_8Removed, "q4_0_8_8", 32, 18, true, true, T::kF32},
    {T::kTQ1_0, "tq1_0", kQK_K, 48 + 4 + 2, true, false, T::kQ8_K, QQ(tq1_0)},  // qs (base-3 packed), qh, d
    {T::kTQ2_0, "tq2_0", kQK_K, 64 + 2, true, false, T::kQ8_K, QQ(tq2_0)},      // qs (2-bit), d
    {T::kIQ4_NL_4_4Removed, "iq4_nl_4_4", 32, 18, true, true, T::kF32},
    {T::kIQ4_NL_4_8Removed, "iq4_nl_4_8", 32, 18, true, true, T::kF32},
    {T::kIQ4_NL_8_8Removed, "iq4_nl_8_8", 32, 18, true, true, T::kF32},
    {T::kMXFP4, "mxfp4", 32, 1 + 16, true, false, T::kQ8_0, QQ(mxfp4)},  // e (E8M0 scale), qs[16]
    {T::kNVFP4, "nvfp4", 64, 4 + 32, true, false, T::kQ8_0},             // 4 x E4M3 scales, qs[32]
    {T::kQ1_0, "q1_0", 128, 2 + 16, true, false, T::kQ8_0},              // d, qs[16] (sign bits)
};
#undef QQ
#undef DQ
constexpr size_t kTableSize = sizeof(kTable) / sizeof(kTable[0]);
static_assert(kTableSize == static_cast<size_t>(T::kCount), "one row per type id");

constexpr bool table_is_indexed_by_id() {
  for (size_t i = 0; i < kTableSize; ++i) {
    if (static_cast<size_t>(kTable[i].type) != i) return false;
  }
  return true;
}
static_assert(table_is_indexed_by_id(), "kTable rows must be in type-id order");

// Every block struct in quant/blocks.h has exactly the size the table (and ggml) gives its type.
template <class Block>
constexpr bool block_size_matches(T type) {
  const TypeTraits& row = kTable[static_cast<size_t>(type)];
  return sizeof(Block) == row.bytes_per_block;
}
static_assert(block_size_matches<BlockQ4_0>(T::kQ4_0));
static_assert(block_size_matches<BlockQ4_1>(T::kQ4_1));
static_assert(block_size_matches<BlockQ5_0>(T::kQ5_0));
static_assert(block_size_matches<BlockQ5_1>(T::kQ5_1));
static_assert(block_size_matches<BlockQ8_0>(T::kQ8_0));
static_assert(block_size_matches<BlockQ8_1>(T::kQ8_1));
static_assert(block_size_matches<BlockQ2_K>(T::kQ2_K));
static_assert(block_size_matches<BlockQ3_K>(T::kQ3_K));
static_assert(block_size_matches<BlockQ4_K>(T::kQ4_K));
static_assert(block_size_matches<BlockQ5_K>(T::kQ5_K));
static_assert(block_size_matches<BlockQ6_K>(T::kQ6_K));
static_assert(block_size_matches<BlockQ8_K>(T::kQ8_K));
static_assert(block_size_matches<BlockIQ2_XXS>(T::kIQ2_XXS));
static_assert(block_size_matches<BlockIQ2_XS>(T::kIQ2_XS));
static_assert(block_size_matches<BlockIQ2_S>(T::kIQ2_S));
static_assert(block_size_matches<BlockIQ3_XXS>(T::kIQ3_XXS));
static_assert(block_size_matches<BlockIQ3_S>(T::kIQ3_S));
static_assert(block_size_matches<BlockIQ1_S>(T::kIQ1_S));
static_assert(block_size_matches<BlockIQ1_M>(T::kIQ1_M));
static_assert(block_size_matches<BlockIQ4_NL>(T::kIQ4_NL));
static_assert(block_size_matches<BlockIQ4_XS>(T::kIQ4_XS));
static_assert(block_size_matches<BlockTQ1_0>(T::kTQ1_0));
static_assert(block_size_matches<BlockTQ2_0>(T::kTQ2_0));
static_assert(block_size_matches<BlockMXFP4>(T::kMXFP4));

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

const TypeTraits& type_traits(TensorType type) {
  const auto index = static_cast<size_t>(type);
  TESSERA_CHECK(index < kTableSize, "tensor type out of range");
  return kTable[index];
}

std::optional<TensorType> tensor_type_from_id(uint32_t id) {
  if (id >= kTableSize) return std::nullopt;
  return static_cast<TensorType>(id);
}

std::optional<TensorType> tensor_type_from_name(std::string_view name) {
  for (const TypeTraits& row : kTable) {
    if (!row.removed && equal_ignoring_case(row.name, name)) return row.type;
  }
  return std::nullopt;
}

std::optional<uint64_t> row_bytes(TensorType type, uint64_t n_elements) {
  const TypeTraits& row = type_traits(type);
  if (n_elements % row.block_size != 0) return std::nullopt;
  return n_elements / row.block_size * row.bytes_per_block;
}

}  // namespace tessera::quant

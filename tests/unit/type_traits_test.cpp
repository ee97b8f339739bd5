// Properties of the type table. The byte sizes themselves are checked against gguf-py's
// GGML_QUANT_SIZES by tests/e2e/test_gguf_roundtrip.py.
#include <gtest/gtest.h>

#include <set>

#include "quant/type_traits.h"

namespace tessera::quant {
namespace {

TEST(TypeTraits, EveryIdHasAUniqueNamedRow) {
  std::set<std::string_view> names;
  for (uint32_t id = 0; id < static_cast<uint32_t>(TensorType::kCount); ++id) {
    const std::optional<TensorType> type = tensor_type_from_id(id);
    ASSERT_TRUE(type.has_value()) << id;
    const TypeTraits& row = type_traits(*type);
    EXPECT_EQ(static_cast<uint32_t>(row.type), id);
    EXPECT_TRUE(names.insert(row.name).second) << row.name;
    EXPECT_GT(row.block_size, 0u);
    EXPECT_GT(row.bytes_per_block, 0u);
    EXPECT_EQ(row.quantized, row.block_size > 1) << row.name;
  }
  EXPECT_FALSE(tensor_type_from_id(static_cast<uint32_t>(TensorType::kCount)).has_value());
}

TEST(TypeTraits, NameLookupIsCaseInsensitiveAndSkipsRemovedTypes) {
  EXPECT_EQ(tensor_type_from_name("Q4_K"), TensorType::kQ4_K);
  EXPECT_EQ(tensor_type_from_name("q4_k"), TensorType::kQ4_K);
  EXPECT_EQ(tensor_type_from_name("BF16"), TensorType::kBF16);
  EXPECT_FALSE(tensor_type_from_name("q4_2").has_value());
  EXPECT_FALSE(tensor_type_from_name("nope").has_value());
}

TEST(TypeTraits, RowBytes) {
  EXPECT_EQ(row_bytes(TensorType::kQ4_K, 4096), 16u * 144u);
  EXPECT_EQ(row_bytes(TensorType::kF16, 3), 6u);
  EXPECT_FALSE(row_bytes(TensorType::kQ4_0, 33).has_value());
}

}  // namespace
}  // namespace tessera::quant

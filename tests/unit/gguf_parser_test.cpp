// Reader tests against fixtures written by gguf-py (tests/fixtures/make_fixtures.py): the values
// asserted here are the inputs that script gave gguf-py, so gguf-py is the oracle.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "gguf/gguf_file.h"
#include "gguf/parser.h"
#include "gguf_test_util.h"

namespace tessera::gguf {
namespace {

using testing::fixture_path;
using testing::read_bytes;

TEST(GgufParser, ReadsEveryValueTypeWrittenByGgufPy) {
  Result<GgufFile> file = GgufFile::open(fixture_path("all_types.gguf"));
  ASSERT_TRUE(file.ok()) << file.error();
  EXPECT_EQ(file->version(), 3u);
  EXPECT_EQ(file->alignment(), 32u);
  EXPECT_EQ(*file->find("general.architecture")->get_string(), "llama");
  EXPECT_EQ(*file->find("test.u8")->get<uint8_t>(), 200);
  EXPECT_EQ(*file->find("test.i8")->get<int8_t>(), -100);
  EXPECT_EQ(*file->find("test.u16")->get<uint16_t>(), 60000);
  EXPECT_EQ(*file->find("test.i16")->get<int16_t>(), -30000);
  EXPECT_EQ(*file->find("test.u32")->get<uint32_t>(), 4000000000u);
  EXPECT_EQ(*file->find("test.i32")->get<int32_t>(), -2000000000);
  EXPECT_EQ(*file->find("test.f32")->get<float>(), 1.5f);
  EXPECT_EQ(*file->find("test.bool")->get<bool>(), true);
  EXPECT_EQ(*file->find("test.string")->get_string(), "héllo wörld ✓");
  EXPECT_EQ(*file->find("test.u64")->get<uint64_t>(), (uint64_t{1} << 63) + 5);
  EXPECT_EQ(*file->find("test.i64")->get<int64_t>(), -(int64_t{1} << 62));
  EXPECT_EQ(*file->find("test.f64")->get<double>(), -2.25);

  const Value* ints = file->find("test.array_i32");
  ASSERT_EQ(ints->size(), 3u);
  EXPECT_EQ(ints->at<int32_t>(1), -2);
  const Value* strings = file->find("test.array_str");
  ASSERT_EQ(strings->size(), 3u);
  EXPECT_EQ(strings->string_at(0), "a");
  EXPECT_EQ(strings->string_at(1), "");
  EXPECT_EQ(strings->string_at(2), "ccc");
  EXPECT_EQ(file->find("test.array_u8")->at<uint8_t>(2), 255);
  EXPECT_EQ(file->find("test.missing"), nullptr);
}

TEST(GgufParser, TypedAccessorsDoNotConvert) {
  Result<GgufFile> file = GgufFile::open(fixture_path("all_types.gguf"));
  ASSERT_TRUE(file.ok()) << file.error();
  const Value* u32 = file->find("test.u32");
  EXPECT_FALSE(u32->get<int32_t>().has_value());
  EXPECT_EQ(u32->get_unsigned(), 4000000000u);
  EXPECT_FALSE(file->find("test.i8")->get_unsigned().has_value());
  EXPECT_FALSE(file->find("test.u64")->get_signed().has_value());  // 2^63 + 5 does not fit
}

TEST(GgufParser, TensorInfosAndData) {
  Result<GgufFile> file = GgufFile::open(fixture_path("all_types.gguf"));
  ASSERT_TRUE(file.ok()) << file.error();
  ASSERT_EQ(file->tensors().size(), 3u);
  const TensorInfo* m = file->find_tensor("f32_matrix");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->type, quant::TensorType::kF32);
  EXPECT_EQ(m->n_dims, 2u);
  EXPECT_EQ(m->shape[0], 4u);  // numpy (3, 4) is ggml [4, 3]
  EXPECT_EQ(m->shape[1], 3u);
  EXPECT_EQ(m->n_bytes, 48u);
  const TensorInfo* q = file->find_tensor("q8_0_row");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->type, quant::TensorType::kQ8_0);
  EXPECT_EQ(q->shape[0], 64u);
  EXPECT_EQ(q->n_bytes, 68u);
  // The data pointer is inside the file image at the reported offset.
  const std::vector<uint8_t> bytes = read_bytes(fixture_path("all_types.gguf"));
  ASSERT_LE(q->file_offset + q->n_bytes, bytes.size());
  EXPECT_EQ(std::memcmp(q->data, bytes.data() + q->file_offset, q->n_bytes), 0);
}

TEST(GgufParser, CustomAlignment) {
  Result<GgufFile> file = GgufFile::open(fixture_path("align64.gguf"));
  ASSERT_TRUE(file.ok()) << file.error();
  EXPECT_EQ(file->alignment(), 64u);
  EXPECT_EQ(file->part(0).data_section_offset % 64, 0u);
  const TensorInfo* b = file->find_tensor("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->data_offset, 64u);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(b->data[i], i);
}

// Every prefix that cuts into the header, metadata, tensor infos or tensor data is rejected with
// an error that names an offset. (Only the padding after the last tensor may be cut.)
TEST(GgufParser, EveryTruncationIsRejected) {
  const std::vector<uint8_t> bytes = read_bytes(fixture_path("all_types.gguf"));
  const size_t data_end = 832 + 68;  // the q8_0 tensor's file offset + size, as the file lays them out
  ASSERT_EQ(bytes.size(), 928u);
  for (size_t n = 0; n < data_end; ++n) {
    Result<ParsedGguf> parsed = parse_gguf(std::span(bytes.data(), n), "truncated");
    ASSERT_FALSE(parsed.ok()) << "prefix of " << n << " bytes was accepted";
    EXPECT_NE(parsed.error().find("offset"), std::string::npos) << parsed.error();
  }
  EXPECT_TRUE(parse_gguf(bytes, "whole").ok());
}

// Random byte corruption anywhere in the metadata and tensor infos never crashes the parser
// (the sanitizer fuzz build runs the same code with far more inputs).
TEST(GgufParser, CorruptedBytesNeverCrash) {
  const std::vector<uint8_t> original = read_bytes(fixture_path("all_types.gguf"));
  std::mt19937 rng(7);
  size_t rejected = 0;
  for (int round = 0; round < 20000; ++round) {
    std::vector<uint8_t> bytes = original;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bytes[rng() % 600] = static_cast<uint8_t>(rng());
    Result<ParsedGguf> parsed = parse_gguf(bytes, "corrupt");
    if (!parsed.ok()) {
      ++rejected;
      EXPECT_FALSE(parsed.error().empty());
    }
  }
  EXPECT_GT(rejected, 1000u);
}

TEST(GgufParser, ErrorsNameFieldAndOffset) {
  std::vector<uint8_t> bytes = read_bytes(fixture_path("all_types.gguf"));
  bytes[4] = 1;  // version 1
  Result<ParsedGguf> parsed = parse_gguf(bytes, "v1.gguf");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error(),
            "v1.gguf: offset 4: GGUF version 1 (files from before August 2023) is not supported; "
            "convert the model again");
}

TEST(GgufFile, MissingFileIsAnError) {
  Result<GgufFile> file = GgufFile::open("/nonexistent/model.gguf");
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.error().find("No such file"), std::string::npos) << file.error();
}

TEST(GgufFile, SplitFileNames) {
  EXPECT_EQ(split_file_path("/m/model", 2, 5), "/m/model-00002-of-00005.gguf");
}

}  // namespace
}  // namespace tessera::gguf

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "gguf/gguf_file.h"
#include "gguf/writer.h"
#include "gguf_test_util.h"

namespace tessera::gguf {
namespace {

using testing::fixture_path;
using testing::read_bytes;

class GgufWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("tessera_writer_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::filesystem::path dir_;
};

TEST_F(GgufWriterTest, EveryValueTypeRoundTrips) {
  GgufWriter w;
  w.set<uint8_t>("u8", 7);
  w.set<int8_t>("i8", -7);
  w.set<uint16_t>("u16", 65535);
  w.set<int16_t>("i16", -32768);
  w.set<uint32_t>("u32", 123456789);
  w.set<int32_t>("i32", -123456789);
  w.set<float>("f32", 0.1f);
  w.set<bool>("bool", false);
  w.set<uint64_t>("u64", UINT64_MAX);
  w.set<int64_t>("i64", INT64_MIN);
  w.set<double>("f64", 1e300);
  w.set_string("string", "text\nwith\0nul");
  const std::vector<float> floats = {1.0f, -2.5f};
  w.set_array<float>("array_f32", floats);
  const std::vector<std::string> strings = {"x", "yy", ""};
  w.set_string_array("array_str", strings);
  w.set<uint32_t>("u32", 42);  // replaces, keeps position
  const std::vector<uint8_t> data(2 * 34, 0xab);
  const std::vector<uint64_t> shape = {64};
  ASSERT_TRUE(w.add_tensor("q", quant::TensorType::kQ8_0, shape, data).ok());
  ASSERT_TRUE(w.write(path("rt.gguf")).ok());

  Result<GgufFile> file = GgufFile::open(path("rt.gguf"));
  ASSERT_TRUE(file.ok()) << file.error();
  EXPECT_EQ(file->metadata().size(), 14u);
  EXPECT_EQ(file->metadata()[4].key, "u32");
  EXPECT_EQ(*file->find("u32")->get<uint32_t>(), 42u);
  EXPECT_EQ(*file->find("i16")->get<int16_t>(), -32768);
  EXPECT_EQ(*file->find("f32")->get<float>(), 0.1f);
  EXPECT_EQ(*file->find("bool")->get<bool>(), false);
  EXPECT_EQ(*file->find("u64")->get<uint64_t>(), UINT64_MAX);
  EXPECT_EQ(*file->find("i64")->get<int64_t>(), INT64_MIN);
  EXPECT_EQ(*file->find("f64")->get<double>(), 1e300);
  EXPECT_EQ(*file->find("string")->get_string(), "text\nwith");  // the C literal stops at \0
  EXPECT_EQ(file->find("array_f32")->at<float>(1), -2.5f);
  EXPECT_EQ(file->find("array_str")->string_at(1), "yy");
  const TensorInfo* q = file->find_tensor("q");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->n_bytes, data.size());
  EXPECT_EQ(q->data[67], 0xab);
}

// Rewriting a gguf-py file through our reader and writer reproduces it byte for byte.
TEST_F(GgufWriterTest, RewriteOfGgufPyFileIsByteIdentical) {
  for (const char* name : {"all_types.gguf", "align64.gguf"}) {
    Result<GgufFile> in = GgufFile::open(fixture_path(name));
    ASSERT_TRUE(in.ok()) << in.error();
    GgufWriter w;
    for (const KeyValue& kv : in->metadata()) w.set_value(kv.key, kv.value);
    for (const TensorInfo& t : in->tensors()) {
      ASSERT_TRUE(w.add_tensor(t.name, t.type, std::span(t.shape.data(), t.n_dims), std::span(t.data, t.n_bytes)).ok());
    }
    ASSERT_TRUE(w.write(path(name)).ok());
    EXPECT_EQ(read_bytes(path(name)), read_bytes(fixture_path(name))) << name;
  }
}

TEST_F(GgufWriterTest, RejectsBadTensorsAndAlignment) {
  GgufWriter w;
  const std::vector<uint8_t> data(33);
  const std::vector<uint64_t> shape = {33};
  EXPECT_FALSE(w.add_tensor("bad", quant::TensorType::kQ8_0, shape, data).ok());  // 33 % 32 != 0
  EXPECT_FALSE(w.add_tensor("bad", quant::TensorType::kF32, shape, data).ok());   // 33 * 4 bytes expected
  ASSERT_TRUE(w.add_tensor("ok", quant::TensorType::kI8, shape, data).ok());
  EXPECT_FALSE(w.add_tensor("ok", quant::TensorType::kI8, shape, data).ok());  // duplicate
  EXPECT_FALSE(w.set_alignment(48).ok());
  EXPECT_FALSE(w.write("/nonexistent-dir/x.gguf").ok());
}

}  // namespace
}  // namespace tessera::gguf

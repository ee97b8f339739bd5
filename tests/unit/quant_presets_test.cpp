// The mixing rules against a real llama-quantize output: the default model is Gemma 3 270M
// quantized by llama-quantize as Q4_K_M, so choosing types for its tensor shapes with our
// Q4_K_M rules must reproduce the type of every tensor in the file.
#include <gtest/gtest.h>

#include "gguf/gguf_file.h"
#include "model/quant_presets.h"

namespace tessera::model {
namespace {

TensorDesc describe(const gguf::TensorInfo& t) {
  return {t.name, t.n_dims, {t.shape[0], t.shape[1], t.shape[2], t.shape[3]}};
}

TEST(QuantPresets, ReproducesLlamaQuantizeQ4KMOnTheDefaultModel) {
  Result<gguf::GgufFile> file = gguf::GgufFile::open(TESSERA_DEFAULT_MODEL);
  ASSERT_TRUE(file.ok()) << file.error() << " (run ./setup.sh to install the default model)";
  ASSERT_EQ(*file->find("general.file_type")->get<uint32_t>(), static_cast<uint32_t>(FileType::kQ4_K_M));

  ModelFacts facts;
  facts.architecture = "gemma3";
  facts.n_layer = static_cast<int>(*file->find("gemma3.block_count")->get_unsigned());
  facts.n_gqa = static_cast<int>(*file->find("gemma3.attention.head_count")->get_unsigned() /
                                 *file->find("gemma3.attention.head_count_kv")->get_unsigned());
  facts.has_output = file->find_tensor("output.weight") != nullptr;
  std::vector<std::string_view> names;
  for (const gguf::TensorInfo& t : file->tensors()) {
    names.push_back(t.name);
    if (t.name.find("attn_v.weight") != std::string_view::npos) ++facts.n_attention_wv;
  }
  // llama-quantize writes tensors in its loader's order; the file must already be in it.
  const std::vector<size_t> order = tensor_write_order(names);
  for (size_t i = 0; i < order.size(); ++i) ASSERT_EQ(order[i], i) << names[order[i]];

  TypeSelector selector(*find_preset("q4_k_m"), facts);
  int quantized = 0;
  for (const gguf::TensorInfo& t : file->tensors()) {
    const TensorDesc desc = describe(t);
    if (!should_quantize(desc, true)) {
      EXPECT_EQ(t.type, quant::TensorType::kF32) << t.name;
      continue;
    }
    ++quantized;
    EXPECT_EQ(quant::type_name(selector.choose(desc).type), quant::type_name(t.type)) << t.name;
  }
  EXPECT_EQ(quantized, 127);
}

TEST(QuantPresets, FallbackForRowsTheBlockDoesNotDivide) {
  ModelFacts facts;
  facts.n_layer = 1;
  TypeSelector selector(*find_preset("Q4_K_S"), facts);
  const TensorDesc odd = {"blk.0.ffn_up.weight", 2, {640, 128, 1, 1}};
  const TypeSelector::Choice choice = selector.choose(odd);
  EXPECT_EQ(choice.type, quant::TensorType::kQ5_0);
  EXPECT_TRUE(choice.fell_back);
  const TensorDesc tiny = {"blk.0.ffn_gate.weight", 2, {48, 128, 1, 1}};  // not even a multiple of 32
  EXPECT_EQ(selector.choose(tiny).type, quant::TensorType::kF16);
}

TEST(QuantPresets, WhatIsQuantized) {
  EXPECT_TRUE(should_quantize({"blk.0.attn_q.weight", 2, {64, 64, 1, 1}}, true));
  EXPECT_FALSE(should_quantize({"blk.0.attn_norm.weight", 1, {64, 1, 1, 1}}, true));
  EXPECT_FALSE(should_quantize({"blk.0.ffn_gate_inp.weight", 2, {64, 8, 1, 1}}, true));
  EXPECT_FALSE(should_quantize({"output.weight", 2, {64, 64, 1, 1}}, false));
  EXPECT_FALSE(should_quantize({"blk.0.attn_q.bias", 2, {64, 64, 1, 1}}, true));
}

TEST(QuantPresets, LookupByName) {
  EXPECT_EQ(find_preset("Q4_K_M")->file_type, FileType::kQ4_K_M);
  EXPECT_EQ(find_preset("q8_0")->default_type, quant::TensorType::kQ8_0);
  EXPECT_FALSE(find_preset("Q4_K_X").has_value());
}

}  // namespace
}  // namespace tessera::model

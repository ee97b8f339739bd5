// Architecture table, hyper-parameters and tensor binding: the real default model (Gemma 3 270M),
// the tiny gguf-py fixtures, and broken copies of them made with our writer.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "gguf/gguf_file.h"
#include "gguf/writer.h"
#include "model/arch.h"
#include "model/hparams.h"
#include "model/weights.h"

namespace tessera::model {
namespace {

std::string forward_fixture(const std::string& name) {
  return std::string(TESSERA_FIXTURES_DIR) + "/forward/" + name;
}

TEST(ArchTest, TableNamesEveryArchitecture) {
  for (std::string_view name : {"llama", "qwen2", "qwen3", "gemma2", "gemma3", "phi3", "mistral3"}) {
    Result<const ArchInfo*> a = find_arch(name);
    ASSERT_TRUE(a.ok()) << name;
    EXPECT_EQ((*a)->name, name);
    EXPECT_EQ(&arch_info((*a)->arch), *a);
  }
  Result<const ArchInfo*> bad = find_arch("gpt2");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("unsupported architecture 'gpt2'"), std::string::npos) << bad.error();
  EXPECT_NE(bad.error().find("gemma3"), std::string::npos) << bad.error();
}

TEST(ArchTest, TensorNames) {
  EXPECT_EQ(tensor_name(TensorRole::kTokenEmbd, -1), "token_embd.weight");
  EXPECT_EQ(tensor_name(TensorRole::kAttnQ, 3), "blk.3.attn_q.weight");
  EXPECT_EQ(tensor_name(TensorRole::kAttnKB, 0), "blk.0.attn_k.bias");
  EXPECT_EQ(tensor_name(TensorRole::kFfnPostNorm, 17), "blk.17.post_ffw_norm.weight");
  EXPECT_EQ(tensor_name(TensorRole::kAttnPostNorm, 2), "blk.2.post_attention_norm.weight");
}

TEST(HparamsTest, DefaultModelGemma3) {
  const std::string path = TESSERA_DEFAULT_MODEL;
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "default model not installed: " << path;
  Result<gguf::GgufFile> file = gguf::GgufFile::open(path);
  ASSERT_TRUE(file.ok()) << file.error();
  Result<Hparams> hp = load_hparams(*file);
  ASSERT_TRUE(hp.ok()) << hp.error();
  EXPECT_EQ(hp->arch->arch, Arch::kGemma3);
  EXPECT_EQ(hp->n_embd, 640);
  EXPECT_EQ(hp->n_layer, 18);
  EXPECT_EQ(hp->n_ff, 2048);
  EXPECT_EQ(hp->n_head, 4);
  EXPECT_EQ(hp->n_head_kv, 1);
  EXPECT_EQ(hp->head_dim_k, 256);
  EXPECT_EQ(hp->n_vocab, 262144);
  EXPECT_EQ(hp->n_ctx_train, 32768);
  EXPECT_EQ(hp->n_swa, 512);
  EXPECT_FLOAT_EQ(hp->rope.freq_base, 1e6f);
  EXPECT_FLOAT_EQ(hp->rope_swa.freq_base, 10000.0f);  // gemma3's local layers
  EXPECT_FLOAT_EQ(hp->embed_scale, std::sqrt(640.0f));
  EXPECT_FLOAT_EQ(hp->attn_scale, 1.0f / 16.0f);
  EXPECT_FLOAT_EQ(hp->norm_eps, 1e-6f);
  // Five sliding-window layers, then one global, repeating.
  for (int il = 0; il < 18; ++il) EXPECT_EQ(hp->is_swa(il), il % 6 != 5) << il;

  Result<std::shared_ptr<const Model>> model = Model::load(path);
  ASSERT_TRUE(model.ok()) << model.error();
  const ModelWeights& w = (*model)->weights();
  EXPECT_EQ(w.layers.size(), 18u);
  EXPECT_EQ(w.output, w.global.get(TensorRole::kTokenEmbd));  // tied embeddings
  EXPECT_TRUE(w.layers[0].has(TensorRole::kAttnQNorm));
  EXPECT_TRUE(w.layers[17].has(TensorRole::kFfnPostNorm));
  EXPECT_FALSE(w.layers[0].has(TensorRole::kAttnQB));
  EXPECT_EQ(w.layers[5].get(TensorRole::kAttnQ)->name, "blk.5.attn_q.weight");
}

TEST(HparamsTest, FixturesCarryTheirVariations) {
  struct Want {
    const char* file;
    Arch arch;
    RopeScaling scaling;
    float softcap;
    int64_t n_swa;
    int swa_layers;
  };
  for (const Want& want : {Want{"llama-f32.gguf", Arch::kLlama, RopeScaling::kLinear, 0.0f, 0, 0},
                           Want{"qwen2-f32.gguf", Arch::kQwen2, RopeScaling::kYarn, 0.0f, 0, 0},
                           Want{"gemma2-f32.gguf", Arch::kGemma2, RopeScaling::kNone, 3.0f, 4, 1},
                           Want{"gemma3-f32.gguf", Arch::kGemma3, RopeScaling::kLinear, 0.0f, 4, 5},
                           Want{"phi3-f32.gguf", Arch::kPhi3, RopeScaling::kNone, 0.0f, 5, 2}}) {
    Result<gguf::GgufFile> file = gguf::GgufFile::open(forward_fixture(want.file));
    ASSERT_TRUE(file.ok()) << file.error();
    Result<Hparams> hp = load_hparams(*file);
    ASSERT_TRUE(hp.ok()) << want.file << ": " << hp.error();
    EXPECT_EQ(hp->arch->arch, want.arch) << want.file;
    EXPECT_EQ(hp->rope.scaling, want.scaling) << want.file;
    EXPECT_EQ(hp->attn_softcap, want.softcap) << want.file;
    EXPECT_EQ(hp->n_swa, want.n_swa) << want.file;
    EXPECT_EQ(std::count(hp->swa_layers.begin(), hp->swa_layers.end(), true), want.swa_layers) << want.file;
    if (want.arch == Arch::kGemma3) {
      EXPECT_EQ(hp->rope_swa.scaling, RopeScaling::kNone);  // linear scaling only on global layers
      EXPECT_FLOAT_EQ(hp->rope.freq_scale, 1.0f / 8);
    }
    if (want.arch == Arch::kQwen2) {
      EXPECT_EQ(hp->rope.n_ctx_orig, 32);
    }
  }
}

// Copies a fixture through our writer with edits: drop a tensor, change a key, reshape a tensor.
struct Edit {
  std::string drop_tensor;
  std::string arch;
  std::string reshape_tensor;  // given the shape [cols / 2, rows * 2]
  std::string drop_key;
  std::string add_tensor;                           // a copy of token_embd under this name
  std::function<void(gguf::GgufWriter&)> set_keys;  // writes keys after the copied ones (replacing them)
};

Edit edit(std::string Edit::*field, const char* value) {
  Edit e;
  e.*field = value;
  return e;
}

std::string rewrite(const std::string& src, const Edit& edit, const std::string& name) {
  Result<gguf::GgufFile> in = gguf::GgufFile::open(forward_fixture(src));
  EXPECT_TRUE(in.ok());
  gguf::GgufWriter w;
  for (const gguf::KeyValue& kv : in->metadata()) {
    if (kv.key == edit.drop_key) continue;
    if (kv.key == "general.architecture" && !edit.arch.empty()) {
      w.set_string(kv.key, edit.arch);
    } else {
      w.set_value(kv.key, kv.value);
    }
  }
  if (edit.set_keys) edit.set_keys(w);
  for (const gguf::TensorInfo& t : in->tensors()) {
    if (t.name == edit.drop_tensor) continue;
    std::vector<uint64_t> shape(t.shape.begin(), t.shape.begin() + t.n_dims);
    if (t.name == edit.reshape_tensor) shape = {shape[0] / 2, shape[1] * 2};
    EXPECT_TRUE(w.add_tensor(t.name, t.type, shape, std::span<const uint8_t>(t.data, t.n_bytes)).ok());
    if (!edit.add_tensor.empty() && t.name == "token_embd.weight") {
      EXPECT_TRUE(w.add_tensor(edit.add_tensor, t.type, shape, std::span<const uint8_t>(t.data, t.n_bytes)).ok());
    }
  }
  const std::string out = (std::filesystem::temp_directory_path() / name).string();
  EXPECT_TRUE(w.write(out).ok());
  return out;
}

std::string load_error(const std::string& path) {
  Result<std::shared_ptr<const Model>> m = Model::load(path);
  return m.ok() ? std::string("(loaded)") : m.error();
}

Edit set_array(const char* key, std::vector<uint32_t> values) {
  Edit e;
  e.set_keys = [key, values](gguf::GgufWriter& w) { w.set_array<uint32_t>(key, values); };
  return e;
}

TEST(WeightsTest, BadPerLayerAndLongRopeMetadataNamesTheKey) {
  const std::string short_array = load_error(
      rewrite("llama-layers-f32.gguf", set_array("llama.attention.head_count_kv", {2, 1}), "tessera_rt_kv2.gguf"));
  EXPECT_NE(short_array.find("key 'llama.attention.head_count_kv': array has 2 elements, expected one per layer (3)"),
            std::string::npos)
      << short_array;

  const std::string no_kv = load_error(
      rewrite("llama-layers-f32.gguf", set_array("llama.attention.head_count_kv", {2, 0, 3}), "tessera_rt_kv0.gguf"));
  EXPECT_NE(no_kv.find("key 'llama.attention.head_count_kv': layer 1 has 0 KV heads"), std::string::npos) << no_kv;

  // Layer 1's FFN is 96 wide in the fixture.
  const std::string ff_shape = load_error(
      rewrite("llama-layers-f32.gguf", set_array("llama.feed_forward_length", {64, 64, 64}), "tessera_rt_ff.gguf"));
  EXPECT_NE(ff_shape.find("tensor 'blk.1.ffn_gate.weight' has shape [32, 96], expected [32, 64]"), std::string::npos)
      << ff_shape;

  const std::string half_longrope = load_error(
      rewrite("phi3-long-f32.gguf", edit(&Edit::drop_tensor, "rope_factors_short.weight"), "tessera_rt_long.gguf"));
  EXPECT_NE(half_longrope.find("LongRoPE needs both 'rope_factors_long.weight' and 'rope_factors_short.weight'"),
            std::string::npos)
      << half_longrope;

  const std::string no_length = load_error(
      rewrite("mistral3-temp-f32.gguf", edit(&Edit::drop_key, "mistral3.rope.scaling.original_context_length"),
              "tessera_rt_temp.gguf"));
  EXPECT_NE(
      no_length.find("key 'mistral3.attention.temperature_scale' needs a positive "
                     "'mistral3.attention.temperature_length' or 'mistral3.rope.scaling.original_context_length'"),
      std::string::npos)
      << no_length;
}

TEST(WeightsTest, AllFixturesBind) {
  for (const char* arch : {"llama", "qwen2", "qwen3", "gemma2", "gemma3", "phi3", "mistral3"}) {
    for (const char* type : {"f32", "f16", "q8_0"}) {
      const std::string file = fmt::format("{}-{}.gguf", arch, type);
      Result<std::shared_ptr<const Model>> m = Model::load(forward_fixture(file));
      ASSERT_TRUE(m.ok()) << m.error();
    }
  }
}

TEST(WeightsTest, ErrorsNameWhatIsWrong) {
  const std::string missing =
      load_error(rewrite("llama-f32.gguf", edit(&Edit::drop_tensor, "blk.1.ffn_up.weight"), "tessera_missing.gguf"));
  EXPECT_NE(missing.find("missing tensor 'blk.1.ffn_up.weight'"), std::string::npos) << missing;

  const std::string shape =
      load_error(rewrite("qwen3-f32.gguf", edit(&Edit::reshape_tensor, "blk.0.attn_k.weight"), "tessera_shape.gguf"));
  EXPECT_NE(shape.find("tensor 'blk.0.attn_k.weight' has shape [16, 64], expected [32, 32]"), std::string::npos)
      << shape;

  const std::string arch = load_error(rewrite("llama-f32.gguf", edit(&Edit::arch, "mamba"), "tessera_arch.gguf"));
  EXPECT_NE(arch.find("unsupported architecture 'mamba'"), std::string::npos) << arch;

  const std::string key =
      load_error(rewrite("gemma3-f32.gguf", edit(&Edit::drop_key, "gemma3.block_count"), "tessera_key.gguf"));
  EXPECT_NE(key.find("missing required key 'gemma3.block_count'"), std::string::npos) << key;

  // A qwen2 file without its q bias is a broken qwen2 (biases are required there)...
  const std::string bias =
      load_error(rewrite("qwen2-f32.gguf", edit(&Edit::drop_tensor, "blk.0.attn_q.bias"), "tessera_bias.gguf"));
  EXPECT_NE(bias.find("missing tensor 'blk.0.attn_q.bias'"), std::string::npos) << bias;
  // ...while llama's biases are optional.
  EXPECT_EQ(load_error(rewrite("llama-f32.gguf", edit(&Edit::drop_tensor, "blk.0.attn_q.bias"), "tessera_nobias.gguf")),
            "(loaded)");
  // A tensor the architecture does not use is reported, not ignored.
  const std::string extra =
      load_error(rewrite("qwen3-f32.gguf", edit(&Edit::add_tensor, "blk.0.mystery.weight"), "tessera_extra.gguf"));
  EXPECT_NE(extra.find("unexpected tensor 'blk.0.mystery.weight'"), std::string::npos) << extra;
}

}  // namespace
}  // namespace tessera::model

// ForwardPass::decode_hidden: the final hidden states (after the output norm) that embeddings
// pool. Oracle: those rows times the output matrix (read straight from the F32 fixture file) must
// give transformers' logits for the fixture prompt (tests/fixtures/forward/, make_forward_fixtures.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "model/forward.h"
#include "quant/type_traits.h"

namespace tessera::model {
namespace {

using runtime::Batch;

std::string fixture(const std::string& name) {
  return std::string(TESSERA_FIXTURES_DIR) + "/forward/" + name;
}

struct Expected {
  std::vector<int32_t> tokens;  // [n_tokens]
  std::vector<float> logits;    // [n_tokens, n_vocab], transformers in float64
};

Expected load_expected(const std::string& arch) {
  Expected e;
  Result<gguf::GgufFile> f = gguf::GgufFile::open(fixture(arch + ".expected.gguf"));
  EXPECT_TRUE(f.ok()) << f.error();
  if (!f.ok()) return e;
  const gguf::TensorInfo* t = f->find_tensor("tokens");
  const gguf::TensorInfo* l = f->find_tensor("logits");
  const auto* tok = reinterpret_cast<const int32_t*>(t->data);
  e.tokens.assign(tok, tok + t->n_elements);
  const auto* lg = reinterpret_cast<const float*>(l->data);
  e.logits.assign(lg, lg + l->n_elements);
  return e;
}

std::unique_ptr<ForwardPass> make_pass(std::shared_ptr<const Model> model, int64_t n_ubatch = 512) {
  Result<std::unique_ptr<ForwardPass>> fp = ForwardPass::create(model, {64, ops::KvType::kF32, 1, n_ubatch});
  EXPECT_TRUE(fp.ok()) << fp.error();
  return fp.ok() ? std::move(fp.value()) : nullptr;
}

Batch prompt_batch(const std::vector<int32_t>& tokens) {
  Batch b;
  for (size_t i = 0; i < tokens.size(); ++i) b.add(tokens[i], static_cast<int32_t>(i), 0, true);
  return b;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) d = std::max(d, std::abs(double(a[i]) - b[i]));
  return d;
}

// llama (untied output.weight) and qwen2, gemma3 (tied to token_embd); none has a final softcap.
class HiddenTest : public ::testing::TestWithParam<const char*> {};

TEST_P(HiddenTest, HiddenTimesOutputMatrixGivesTransformersLogits) {
  const std::string arch = GetParam();
  const Expected want = load_expected(arch);
  Result<std::shared_ptr<const Model>> m = Model::load(fixture(arch + "-f32.gguf"));
  ASSERT_TRUE(m.ok()) << m.error();
  const Hparams& hp = (*m)->hparams();
  ASSERT_EQ(hp.final_softcap, 0.0f);
  const gguf::TensorInfo& w = *(*m)->weights().output;  // [n_embd, n_vocab], row v = token v
  ASSERT_EQ(w.type, quant::TensorType::kF32);
  const auto* wd = reinterpret_cast<const float*>(w.data);
  auto fp = make_pass(*m);
  ASSERT_NE(fp, nullptr);

  std::vector<float> hidden;
  ASSERT_TRUE(fp->decode_hidden(prompt_batch(want.tokens), hidden, nullptr).ok());
  const size_t n = want.tokens.size();
  const auto e = static_cast<size_t>(hp.n_embd), V = static_cast<size_t>(hp.n_vocab);
  ASSERT_EQ(hidden.size(), n * e);
  std::vector<float> logits(n * V);
  for (size_t t = 0; t < n; ++t) {
    for (size_t v = 0; v < V; ++v) {
      double s = 0;
      for (size_t i = 0; i < e; ++i) s += double(hidden[t * e + i]) * wd[v * e + i];
      logits[t * V + v] = static_cast<float>(s);
    }
  }
  EXPECT_LE(max_abs_diff(logits, want.logits), 1e-3);
}

INSTANTIATE_TEST_SUITE_P(Archs, HiddenTest, ::testing::Values("llama", "qwen2", "gemma3"));

TEST(ForwardHiddenTest, LogitsAlongsideHiddenEqualPlainDecode) {
  const Expected want = load_expected("gemma2");  // with a final softcap
  Result<std::shared_ptr<const Model>> m = Model::load(fixture("gemma2-f32.gguf"));
  ASSERT_TRUE(m.ok()) << m.error();
  auto plain = make_pass(*m);
  auto both = make_pass(*m);
  std::vector<float> ref, logits, hidden;
  ASSERT_TRUE(plain->decode(prompt_batch(want.tokens), ref).ok());
  ASSERT_TRUE(both->decode_hidden(prompt_batch(want.tokens), hidden, &logits).ok());
  EXPECT_EQ(logits, ref);  // bitwise: the same code path
  EXPECT_EQ(hidden.size(), want.tokens.size() * static_cast<size_t>((*m)->hparams().n_embd));
}

TEST(ForwardHiddenTest, MicroBatchesAndOutputSelectionKeepRows) {
  const Expected want = load_expected("llama");
  Result<std::shared_ptr<const Model>> m = Model::load(fixture("llama-f32.gguf"));
  ASSERT_TRUE(m.ok()) << m.error();
  auto whole = make_pass(*m);
  auto split = make_pass(*m, 3);
  std::vector<float> a, b;
  ASSERT_TRUE(whole->decode_hidden(prompt_batch(want.tokens), a, nullptr).ok());
  ASSERT_TRUE(split->decode_hidden(prompt_batch(want.tokens), b, nullptr).ok());
  EXPECT_LE(max_abs_diff(a, b), 1e-5);
  // Only the last entry output: its row alone, equal to the last row of the full run.
  auto last = make_pass(*m);
  Batch one = prompt_batch(want.tokens);
  std::fill(one.output.begin(), one.output.end() - 1, 0);
  std::vector<float> c;
  ASSERT_TRUE(last->decode_hidden(one, c, nullptr).ok());
  const auto e = static_cast<size_t>((*m)->hparams().n_embd);
  ASSERT_EQ(c.size(), e);
  EXPECT_LE(max_abs_diff(c, std::vector<float>(a.end() - static_cast<std::ptrdiff_t>(e), a.end())), 1e-5);
}

TEST(ForwardHiddenTest, BadBatchFailsWithCacheUnchanged) {
  Result<std::shared_ptr<const Model>> m = Model::load(fixture("llama-f32.gguf"));
  ASSERT_TRUE(m.ok()) << m.error();
  auto fp = make_pass(*m);
  Batch b;
  b.add(static_cast<int32_t>((*m)->hparams().n_vocab), 0, 0, true);  // out of range
  std::vector<float> hidden;
  const Status s = fp->decode_hidden(b, hidden, nullptr);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("outside the vocabulary"), std::string::npos) << s.message();
  EXPECT_EQ(fp->kv_cache().used_cells(), 0);
}

}  // namespace
}  // namespace tessera::model

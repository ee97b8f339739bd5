// The sampler chain: order (default, --samplers, --sampler-seq), seeds, greedy, the grammar
// constraint path, logprobs, -l parsing and the model's general.sampling.* defaults (fixtures
// written by gguf-py, whose key constants are the reference spelling).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "gguf_test_util.h"
#include "sampling/candidates.h"
#include "sampling/chain.h"
#include "sampling/logprobs.h"
#include "sampling/params.h"
#include "sampling/stages.h"

namespace tessera::sampling {
namespace {

const std::vector<float> kFour = {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};

Chain make(const SamplerParams& p, int32_t n_vocab = 4) {
  ChainContext ctx;
  ctx.n_vocab = n_vocab;
  ctx.end_of_generation = {3};
  Result<Chain> c = Chain::create(p, ctx);
  EXPECT_TRUE(c.ok()) << c.error();
  return std::move(*c);
}

SamplerParams all_off() {
  SamplerParams p;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.temperature = 1.0f;
  p.seed = 1;
  return p;
}

TEST(SamplerChain, DefaultOrderAndLettersAreLlamaCpps) {
  EXPECT_EQ(*parse_stage_letters("edskypmxt"), default_order());
  EXPECT_EQ(*parse_stage_names("penalties;dry;top_n_sigma;top_k;typ_p;top_p;min_p;xtc;temperature"), default_order());
  EXPECT_EQ(
      *parse_stage_names("top-k;nucleus;typical;temp"),
      (std::vector<StageType>{StageType::kTopK, StageType::kTopP, StageType::kTypicalP, StageType::kTemperature}));
  Result<std::vector<StageType>> bad = parse_stage_names("top_k;warp");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("'warp'"), std::string::npos);
  EXPECT_FALSE(parse_stage_letters("kq").ok());
  SamplerParams p;
  EXPECT_EQ(make(p, 100).describe(), "top-k -> top-p -> min-p -> temperature -> dist");
  p.repeat_penalty = 1.1f;
  p.logit_bias = {{1, 2.0f}};
  EXPECT_EQ(make(p, 100).describe(), "logit-bias -> penalties -> top-k -> top-p -> min-p -> temperature -> dist");
  p.mirostat = 2;
  EXPECT_EQ(make(p, 100).describe(), "logit-bias -> temperature -> mirostat-v2");
}

// Temperature 100 flattens {0.5, 0.3, 0.15, 0.05} to almost 0.25 each. Top-p 0.75 first keeps 2
// tokens; temperature first leaves 3 for top-p to keep.
TEST(SamplerChain, OrderChangesTheResult) {
  SamplerParams p = all_off();
  p.top_p = 0.75f;
  p.temperature = 100.0f;
  p.order = {StageType::kTopP, StageType::kTemperature};
  Chain a = make(p);
  ASSERT_TRUE(a.sample(kFour).ok());
  EXPECT_EQ(a.candidates().size(), 2u);
  p.order = {StageType::kTemperature, StageType::kTopP};
  Chain b = make(p);
  ASSERT_TRUE(b.sample(kFour).ok());
  EXPECT_EQ(b.candidates().size(), 3u);
}

TEST(SamplerChain, FixedSeedReproducesAndSeedsDiffer) {
  SamplerParams p = all_off();
  const std::vector<float> flat = {0.3f, 0.2f, 0.1f, 0.25f, 0.15f, 0.0f};
  const auto run = [&](uint32_t seed) {
    p.seed = seed;
    Chain c = make(p, 6);
    std::vector<int32_t> out;
    for (int i = 0; i < 200; ++i) {
      out.push_back(*c.sample(flat));
      c.accept(out.back());
    }
    return out;
  };
  EXPECT_EQ(run(42), run(42));
  EXPECT_NE(run(42), run(43));
  // clone() copies the RNG state: both continue identically.
  p.seed = 5;
  Chain c = make(p, 6);
  (void)*c.sample(flat);
  Chain d = c.clone();
  for (int i = 0; i < 50; ++i) EXPECT_EQ(*c.sample(flat), *d.sample(flat));
  // reset() rewinds to the seed.
  Chain e = make(p, 6);
  const int32_t first = *e.sample(flat);
  e.reset();
  EXPECT_EQ(*e.sample(flat), first);
}

TEST(SamplerChain, RandomSeedIsResolved) {
  SamplerParams p = all_off();
  p.seed = kRandomSeed;
  EXPECT_NE(make(p).seed(), kRandomSeed);
}

TEST(SamplerChain, GreedyIsTheArgmaxAfterPenaltiesAndBias) {
  SamplerParams p;
  p.temperature = 0.0f;
  Chain c = make(p);
  EXPECT_EQ(*c.sample(std::vector<float>{0.1f, 3.0f, -1.0f, 2.9f}), 1);
  EXPECT_EQ(*c.sample(std::vector<float>{0.1f, 3.0f, 3.0f, 2.9f}), 1);  // tie: the lower id
  p.logit_bias = {{1, -INFINITY}};
  EXPECT_EQ(*make(p).sample(std::vector<float>{0.1f, 3.0f, -1.0f, 2.9f}), 3);
  p.logit_bias.clear();
  p.repeat_penalty = 2.0f;  // 3.0 / 2 < 2.9 once token 1 was seen
  Chain pen = make(p);
  pen.accept_prompt(std::vector<int32_t>{1});
  EXPECT_EQ(*pen.sample(std::vector<float>{0.1f, 3.0f, -1.0f, 2.9f}), 3);
}

TEST(SamplerChain, IgnoreEosBansEndOfGeneration) {
  SamplerParams p;
  p.temperature = 0.0f;
  p.ignore_eos = true;
  EXPECT_EQ(*make(p).sample(std::vector<float>{0.0f, 1.0f, 2.0f, 9.0f}), 2);  // 3 is end of generation here
}

TEST(SamplerChain, DrawsFollowTheTemperedSoftmaxAfterTopK) {
  SamplerParams p = all_off();
  p.top_k = 3;
  p.temperature = 0.7f;
  p.seed = 11;
  const std::vector<float> logits = {1.0f, 2.0f, 0.0f, 1.5f};
  Chain c = make(p);
  std::map<int32_t, int> counts;
  const int n = 100000;
  for (int i = 0; i < n; ++i) ++counts[*c.sample(logits)];
  double z = 0;
  for (int id : {0, 1, 3}) z += std::exp(logits[static_cast<size_t>(id)] / 0.7);
  EXPECT_EQ(counts.count(2), 0u);  // outside the top 3
  for (int id : {0, 1, 3}) {
    EXPECT_NEAR(counts[id] / double(n), std::exp(logits[static_cast<size_t>(id)] / 0.7) / z, 0.006) << id;
  }
}

// A grammar stand-in allowing even ids only, counting how it is used.
class EvenOnly final : public Constraint {
 public:
  mutable int checks = 0;
  mutable int masks = 0;
  std::vector<int32_t> accepted;
  bool allows(int32_t token) const override {
    ++checks;
    return token % 2 == 0;
  }
  void apply(CandidateArray& c) const override {
    ++masks;
    for (Candidate& x : c.data) {
      if (x.id % 2 != 0) x.logit = -INFINITY;
    }
  }
  void accept(int32_t token) override { accepted.push_back(token); }
  bool is_complete() const override { return false; }
  void reset() override { accepted.clear(); }
  std::unique_ptr<Constraint> clone() const override { return std::make_unique<EvenOnly>(*this); }
};

TEST(SamplerChain, ConstraintIsCheckedFirstAndMasksOnlyWhenItRejects) {
  SamplerParams p;
  p.temperature = 0.0f;
  Chain c = make(p, 5);
  auto owned = std::make_unique<EvenOnly>();
  EvenOnly* grammar = owned.get();
  c.set_constraint(std::move(owned));
  EXPECT_EQ(*c.sample(std::vector<float>{0.0f, 1.0f, 5.0f, 2.0f, 3.0f}), 2);  // the argmax is allowed
  EXPECT_EQ(grammar->checks, 1);
  EXPECT_EQ(grammar->masks, 0);
  EXPECT_EQ(*c.sample(std::vector<float>{0.0f, 1.0f, 2.0f, 5.0f, 3.0f}), 4);  // 3 is rejected: best even is 4
  EXPECT_EQ(grammar->masks, 1);
  c.accept(4);
  EXPECT_EQ(grammar->accepted, (std::vector<int32_t>{4}));
  c.accept_prompt(std::vector<int32_t>{1, 3});  // the prompt does not reach the grammar
  EXPECT_EQ(grammar->accepted.size(), 1u);
  // Sampled draws are always allowed too.
  SamplerParams r = all_off();
  Chain d = make(r, 5);
  d.set_constraint(std::make_unique<EvenOnly>());
  for (int i = 0; i < 200; ++i) EXPECT_EQ(*d.sample(std::vector<float>{1.0f, 1.0f, 1.0f, 1.0f, 1.0f}) % 2, 0);
}

TEST(SamplerChain, InvalidParamsAreErrors) {
  SamplerParams p;
  p.mirostat = 3;
  ChainContext ctx;
  ctx.n_vocab = 4;
  EXPECT_FALSE(Chain::create(p, ctx).ok());
  p.mirostat = 0;
  p.logit_bias = {{4, 1.0f}};
  Result<Chain> c = Chain::create(p, ctx);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().find("token 4"), std::string::npos);
}

TEST(SamplerChain, LogitBiasParsing) {
  EXPECT_EQ(parse_logit_bias("15043+1.5")->token, 15043);
  EXPECT_FLOAT_EQ(parse_logit_bias("15043+1.5")->bias, 1.5f);
  EXPECT_FLOAT_EQ(parse_logit_bias("7-0.25")->bias, -0.25f);
  EXPECT_EQ(parse_logit_bias("2-inf")->bias, -INFINITY);
  for (const char* bad : {"", "15043", "15043+", "x+1", "-1+2", "5*2", "5+1x", "5+nan"}) {
    EXPECT_FALSE(parse_logit_bias(bad).ok()) << bad;
  }
}

// log-softmax of {1, 2, 3}: log Z = log(e + e^2 + e^3) = 3.40761.
TEST(SamplerChain, LogprobsOfTheFullDistribution) {
  const std::vector<float> logits = {1.0f, 2.0f, 3.0f};
  const TokenLogprobs lp = token_logprobs(logits, 1, 2);
  EXPECT_NEAR(lp.logprob, 2.0 - 3.40761, 1e-4);
  ASSERT_EQ(lp.top.size(), 2u);
  EXPECT_EQ(lp.top[0].first, 2);
  EXPECT_NEAR(lp.top[0].second, 3.0 - 3.40761, 1e-4);
  EXPECT_EQ(lp.top[1].first, 1);
  // After a chain that kept the top 2: renormalized over {2, 3}: log(e^2 + e^3) = 3.31326.
  SamplerParams p = all_off();
  p.top_k = 2;
  Chain c = make(p, 3);
  const int32_t id = *c.sample(logits);
  const TokenLogprobs post = candidate_logprobs(c.candidates(), 0, 5);
  EXPECT_EQ(post.logprob, -INFINITY);  // dropped by top-k
  ASSERT_EQ(post.top.size(), 2u);
  EXPECT_NEAR(post.top[1].second, 2.0 - 3.31326, 1e-4);
  EXPECT_TRUE(id == 1 || id == 2);
}

TEST(SamplerChain, ModelDefaultsFillOnlyWhatTheUserDidNotSet) {
  Result<gguf::GgufFile> file = gguf::GgufFile::open(testing::fixture_path("sampling/defaults_all.gguf"));
  ASSERT_TRUE(file.ok()) << file.error();
  SamplerParams p;
  UserSet user;
  user.top_k = true;
  p.top_k = 5;
  Result<std::vector<std::string>> applied = apply_model_defaults(*file, user, p);
  ASSERT_TRUE(applied.ok()) << applied.error();
  EXPECT_EQ(p.top_k, 5);  // the user's
  EXPECT_FLOAT_EQ(p.top_p, 0.9f);
  EXPECT_FLOAT_EQ(p.min_p, 0.0f);
  EXPECT_FLOAT_EQ(p.temperature, 1.0f);
  EXPECT_FLOAT_EQ(p.xtc_probability, 0.5f);
  EXPECT_FLOAT_EQ(p.xtc_threshold, 0.2f);
  EXPECT_EQ(p.repeat_last_n, 128);
  EXPECT_FLOAT_EQ(p.repeat_penalty, 1.1f);
  EXPECT_EQ(p.mirostat, 2);
  EXPECT_FLOAT_EQ(p.mirostat_tau, 4.0f);
  EXPECT_FLOAT_EQ(p.mirostat_eta, 0.2f);
  EXPECT_EQ(p.order, (std::vector<StageType>{StageType::kPenalties, StageType::kTopK, StageType::kTemperature}));
  EXPECT_EQ(applied->size(), 11u);

  SamplerParams q;
  UserSet all_set{true, true, true, true, true, true, true, true, true, true, true, true};
  ASSERT_TRUE(apply_model_defaults(*file, all_set, q).ok());
  EXPECT_EQ(q.top_k, 40);
  EXPECT_EQ(q.order, default_order());
  EXPECT_EQ(q.mirostat, 0);
}

TEST(SamplerChain, BadModelDefaultsNameTheKey) {
  SamplerParams p;
  Result<gguf::GgufFile> seq = gguf::GgufFile::open(testing::fixture_path("sampling/defaults_bad_sequence.gguf"));
  ASSERT_TRUE(seq.ok());
  Result<std::vector<std::string>> a = apply_model_defaults(*seq, {}, p);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.error().find("general.sampling.sequence"), std::string::npos);
  EXPECT_NE(a.error().find("warp_drive"), std::string::npos);
  Result<gguf::GgufFile> type = gguf::GgufFile::open(testing::fixture_path("sampling/defaults_wrong_type.gguf"));
  ASSERT_TRUE(type.ok());
  Result<std::vector<std::string>> b = apply_model_defaults(*type, {}, p);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().find("general.sampling.top_k"), std::string::npos);
}

}  // namespace
}  // namespace tessera::sampling

namespace tessera::sampling {
namespace {

// The chain takes the top k straight from the logits when only logit bias, penalties and DRY
// come before top-k; the result must be what the stages give on the whole array.
TEST(SamplerChain, DirectTopKMatchesTheStagesOnTheWholeArray) {
  std::mt19937 rng(4);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> logits(5000);
  for (float& l : logits) l = std::round(normal(rng) * 4) / 4;  // ties
  std::vector<int32_t> history;
  for (int i = 0; i < 300; ++i) history.push_back(static_cast<int32_t>(rng() % 5000));
  // The 30 most likely tokens are in the history too, so the penalties reorder the top.
  for (int32_t id = 0; id < 5000; ++id) {
    if (logits[static_cast<size_t>(id)] > 5.0f) history.push_back(id);
  }
  SamplerParams p = all_off();
  p.top_k = 40;
  p.repeat_penalty = 1.5f;
  p.presence_penalty = 0.5f;
  p.repeat_last_n = 256;
  p.dry_multiplier = 0.8f;
  p.logit_bias = {{7, 9.0f}, {11, -INFINITY}};
  p.order = {StageType::kPenalties, StageType::kDry, StageType::kTopK, StageType::kTemperature};
  Chain chain = make(p, 5000);
  chain.accept_prompt(history);
  ASSERT_TRUE(chain.sample(logits).ok());

  CandidateArray expected;
  fill_from_logits(expected, logits);
  LogitBiasStage bias(p.logit_bias);
  PenaltiesStage penalties(256, 1.5f, 0.0f, 0.5f);
  DryStage dry(0.8f, 1.75f, 2, -1, 4096, nullptr);
  for (int32_t t : history) penalties.accept(t), dry.accept(t);
  bias.apply(expected);
  penalties.apply(expected);
  dry.apply(expected);
  TopKStage(40).apply(expected);
  TemperatureStage(1.0f, 0.0f, 1.0f).apply(expected);
  ASSERT_EQ(chain.candidates().size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(chain.candidates().data[i].id, expected.data[i].id) << i;
    EXPECT_FLOAT_EQ(chain.candidates().data[i].logit, expected.data[i].logit) << i;
  }
  EXPECT_EQ(chain.candidates().data[0].id, 7);  // the +9 bias
}

}  // namespace
}  // namespace tessera::sampling

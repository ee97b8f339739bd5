// Each sampler stage against expectations worked out by hand (in the comments) on small
// candidate lists: what survives, the logits and probabilities after the step, ties, min_keep
// and edge parameters.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "sampling/candidates.h"
#include "sampling/dry.h"
#include "sampling/mirostat.h"
#include "sampling/stages.h"

namespace tessera::sampling {
namespace {

CandidateArray from_logits(const std::vector<float>& logits) {
  CandidateArray c;
  fill_from_logits(c, logits);
  return c;
}

// Probabilities 0.5, 0.3, 0.15, 0.05 for ids 0..3.
CandidateArray four() {
  return from_logits({std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)});
}

std::vector<int32_t> ids(const CandidateArray& c) {
  std::vector<int32_t> out;
  for (const Candidate& x : c.data) out.push_back(x.id);
  return out;
}

TEST(SamplerStages, SoftmaxKeepsOrderAndNormalizes) {
  CandidateArray c = from_logits({1.0f, 2.0f, 0.0f, -INFINITY});
  softmax(c);
  const double z = std::exp(1.0) + std::exp(2.0) + 1.0;
  EXPECT_NEAR(c.data[0].p, std::exp(1.0) / z, 1e-6);
  EXPECT_NEAR(c.data[1].p, std::exp(2.0) / z, 1e-6);
  EXPECT_NEAR(c.data[2].p, 1.0 / z, 1e-6);
  EXPECT_EQ(c.data[3].p, 0.0f);
  EXPECT_EQ(ids(c), (std::vector<int32_t>{0, 1, 2, 3}));
}

TEST(SamplerStages, TopKKeepsTheBestSortedAndBreaksTiesByLowerId) {
  CandidateArray c = from_logits({1.0f, 3.0f, 2.0f, 3.0f, 0.5f});
  TopKStage(3).apply(c);
  EXPECT_EQ(ids(c), (std::vector<int32_t>{1, 3, 2}));  // 3.0 (id 1), 3.0 (id 3), 2.0
  EXPECT_TRUE(c.sorted);
  CandidateArray all = from_logits({1.0f, 3.0f});
  TopKStage(10).apply(all);  // k beyond the size keeps everything
  EXPECT_EQ(ids(all), (std::vector<int32_t>{1, 0}));
  CandidateArray off = from_logits({1.0f, 3.0f});
  TopKStage(0).apply(off);  // 0: off, order untouched
  EXPECT_EQ(ids(off), (std::vector<int32_t>{0, 1}));
  EXPECT_FALSE(off.sorted);
}

TEST(SamplerStages, TopKHeapPathMatchesAFullSort) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> level(0, 50);  // many ties
  std::vector<float> logits(5000);
  for (float& l : logits) l = static_cast<float>(level(rng));
  CandidateArray c = from_logits(logits);
  TopKStage(40).apply(c);
  std::vector<std::pair<float, int32_t>> expected;
  for (size_t i = 0; i < logits.size(); ++i) expected.emplace_back(-logits[i], static_cast<int32_t>(i));
  std::sort(expected.begin(), expected.end());
  ASSERT_EQ(c.size(), 40u);
  for (size_t i = 0; i < 40; ++i) EXPECT_EQ(c.data[i].id, expected[i].second) << i;
}

TEST(SamplerStages, TopPKeepsTheSmallestSetReachingP) {
  CandidateArray c = four();
  TopPStage(0.75f, 0).apply(c);  // 0.5 < 0.75 <= 0.5 + 0.3
  EXPECT_EQ(ids(c), (std::vector<int32_t>{0, 1}));
  CandidateArray d = four();
  TopPStage(0.81f, 0).apply(d);  // 0.8 < 0.81 <= 0.95
  EXPECT_EQ(ids(d), (std::vector<int32_t>{0, 1, 2}));
  CandidateArray e = four();
  TopPStage(0.1f, 3).apply(e);  // min_keep 3 wins over p
  EXPECT_EQ(ids(e), (std::vector<int32_t>{0, 1, 2}));
  CandidateArray off = four();
  TopPStage(1.0f, 0).apply(off);
  EXPECT_EQ(off.size(), 4u);
}

TEST(SamplerStages, TopPOnAWholeVocabularyMatchesBruteForce) {
  // Growing sorted prefixes (256, 1024, ...) must give what a full sort gives.
  std::mt19937 rng(9);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> logits(3000);
  for (float& l : logits) l = normal(rng);
  CandidateArray c = from_logits(logits);
  TopPStage(0.9f, 0).apply(c);
  std::vector<std::pair<float, int32_t>> sorted;
  double z = 0;
  for (float l : logits) z += std::exp(static_cast<double>(l));
  for (size_t i = 0; i < logits.size(); ++i) sorted.emplace_back(-logits[i], static_cast<int32_t>(i));
  std::sort(sorted.begin(), sorted.end());
  double cumulative = 0;
  size_t keep = 0;
  while (cumulative < 0.9) cumulative += std::exp(static_cast<double>(-sorted[keep++].first)) / z;
  ASSERT_GT(keep, 256u);  // the test must exercise more than the first prefix
  ASSERT_EQ(c.size(), keep);
  for (size_t i = 0; i < keep; ++i) EXPECT_EQ(c.data[i].id, sorted[i].second);
}

TEST(SamplerStages, MinPDropsTokensBelowAFractionOfTheBest) {
  CandidateArray c = four();
  MinPStage(0.35f, 0).apply(c);  // threshold 0.35 * 0.5 = 0.175: 0.15 and 0.05 go
  EXPECT_EQ(ids(c), (std::vector<int32_t>{0, 1}));
  CandidateArray d = four();
  MinPStage(0.3f, 0).apply(d);  // threshold 0.15: 0.15 stays (>=)
  EXPECT_EQ(ids(d), (std::vector<int32_t>{0, 1, 2}));
  CandidateArray e = four();
  MinPStage(0.9f, 3).apply(e);  // only 0.5 passes, min_keep 3 keeps the best three
  EXPECT_EQ(ids(e), (std::vector<int32_t>{0, 1, 2}));
}

// Entropy of {0.5, 0.3, 0.15, 0.05}: H = 0.34657 + 0.36119 + 0.28457 + 0.14979 = 1.14212 nats.
// |-ln p - H|: 0.4490, 0.0619, 0.7550, 1.8536, so the most typical order is ids 1, 0, 2, 3.
TEST(SamplerStages, TypicalKeepsTheMostTypicalUntilTheMassExceedsP) {
  CandidateArray c = four();
  TypicalStage(0.5f, 0).apply(c);  // 0.3 <= 0.5 < 0.3 + 0.5
  EXPECT_EQ(ids(c), (std::vector<int32_t>{1, 0}));
  CandidateArray d = four();
  TypicalStage(0.85f, 0).apply(d);  // 0.8 <= 0.85 < 0.95
  EXPECT_EQ(ids(d), (std::vector<int32_t>{1, 0, 2}));
  CandidateArray e = four();
  TypicalStage(0.1f, 3).apply(e);
  EXPECT_EQ(ids(e), (std::vector<int32_t>{1, 0, 2}));
}

// Logits {10, 9, 5, 0}: mean 6, variance (16 + 9 + 1 + 36) / 4 = 15.5, sigma 3.937.
TEST(SamplerStages, TopNSigmaCutsBelowMaxMinusNSigma) {
  CandidateArray c = from_logits({10.0f, 9.0f, 5.0f, 0.0f});
  TopNSigmaStage(1.0f).apply(c);  // cut at 6.063
  EXPECT_EQ(ids(c), (std::vector<int32_t>{0, 1}));
  CandidateArray d = from_logits({10.0f, 9.0f, 5.0f, 0.0f});
  TopNSigmaStage(2.0f).apply(d);  // cut at 2.126
  EXPECT_EQ(ids(d), (std::vector<int32_t>{0, 1, 2}));
  CandidateArray e = from_logits({10.0f, -INFINITY, 9.0f});  // -inf is left out of the statistics
  TopNSigmaStage(1.0f).apply(e);                             // mean 9.5, sigma 0.5: cut at 9.5
  EXPECT_EQ(ids(e), (std::vector<int32_t>{0}));
}

TEST(SamplerStages, XtcRemovesTopChoicesButTheLeastLikelyAboveThreshold) {
  CandidateArray c = four();
  XtcStage(1.0f, 0.1f, 0, 1).apply(c);  // 0.5, 0.3, 0.15 are >= 0.1: 0.5 and 0.3 go
  EXPECT_EQ(ids(c), (std::vector<int32_t>{2, 3}));
  CandidateArray d = four();
  XtcStage(1.0f, 0.1f, 3, 1).apply(d);  // would leave 2 < min_keep 3: unchanged
  EXPECT_EQ(d.size(), 4u);
  CandidateArray e = four();
  XtcStage(1.0f, 0.6f, 0, 1).apply(e);  // nothing above the threshold
  EXPECT_EQ(e.size(), 4u);
  CandidateArray f = four();
  XtcStage(0.0f, 0.1f, 0, 1).apply(f);  // probability 0: off
  EXPECT_EQ(f.size(), 4u);
  // With probability 0.5 it fires on about half of the calls.
  XtcStage half(0.5f, 0.1f, 0, 7);
  int fired = 0;
  for (int i = 0; i < 2000; ++i) {
    CandidateArray g = four();
    half.apply(g);
    fired += g.size() == 2;
  }
  EXPECT_NEAR(fired / 2000.0, 0.5, 0.05);
}

TEST(SamplerStages, TemperatureScalesLogitsAndZeroIsGreedy) {
  CandidateArray c = from_logits({1.0f, 2.0f, 3.0f});
  TemperatureStage(2.0f, 0.0f, 1.0f).apply(c);
  EXPECT_FLOAT_EQ(c.data[0].logit, 0.5f);
  EXPECT_FLOAT_EQ(c.data[2].logit, 1.5f);
  CandidateArray g = from_logits({1.0f, 3.0f, 3.0f, 2.0f});
  TemperatureStage(0.0f, 0.0f, 1.0f).apply(g);  // tie: the lower id stays
  EXPECT_EQ(g.data[1].logit, 3.0f);
  EXPECT_EQ(g.data[0].logit, -INFINITY);
  EXPECT_EQ(g.data[2].logit, -INFINITY);
  EXPECT_EQ(g.data[3].logit, -INFINITY);
}

// Dynamic temperature on {0.5, 0.3, 0.15, 0.05} with temp 1, range 0.5, exponent 1:
// H / ln 4 = 1.14212 / 1.38629 = 0.82387, so T = 0.5 + (1.5 - 0.5) * 0.82387 = 1.32387.
TEST(SamplerStages, DynamicTemperatureFollowsTheNormalizedEntropy) {
  CandidateArray c = four();
  TemperatureStage(1.0f, 0.5f, 1.0f).apply(c);
  const float t = 1.32387f;
  EXPECT_NEAR(c.data[0].logit, std::log(0.5f) / t, 1e-4);
  EXPECT_NEAR(c.data[3].logit, std::log(0.05f) / t, 1e-4);
  // Exponent 2: T = 0.5 + 0.82387^2 = 1.17876.
  CandidateArray d = four();
  TemperatureStage(1.0f, 0.5f, 2.0f).apply(d);
  EXPECT_NEAR(d.data[1].logit, std::log(0.3f) / 1.17876f, 1e-4);
}

// Logits {2, -2, 1, 0.5}; accepted 0, 1, 0. Repeat 2, frequency 0.5, presence 0.25:
// id 0 (count 2): 2 / 2 - 2 * 0.5 - 0.25 = -0.25; id 1 (count 1): -2 * 2 - 0.5 - 0.25 = -4.75.
TEST(SamplerStages, PenaltiesFollowLlamaCppFormula) {
  PenaltiesStage p(64, 2.0f, 0.5f, 0.25f);
  for (int32_t t : {0, 1, 0}) p.accept(t);
  CandidateArray c = from_logits({2.0f, -2.0f, 1.0f, 0.5f});
  p.apply(c);
  EXPECT_FLOAT_EQ(c.data[0].logit, -0.25f);
  EXPECT_FLOAT_EQ(c.data[1].logit, -4.75f);
  EXPECT_FLOAT_EQ(c.data[2].logit, 1.0f);
  EXPECT_FLOAT_EQ(c.data[3].logit, 0.5f);
  // A window of 2 sees only the last two tokens (1, 0): count 1 each.
  PenaltiesStage w(2, 2.0f, 0.5f, 0.25f);
  for (int32_t t : {0, 1, 0}) w.accept(t);
  CandidateArray d = from_logits({2.0f, -2.0f, 1.0f, 0.5f});
  w.apply(d);
  EXPECT_FLOAT_EQ(d.data[0].logit, 2.0f / 2 - 0.5f - 0.25f);
  // Also on a shuffled (non-indexed) array, as after top-k.
  CandidateArray e = from_logits({2.0f, -2.0f, 1.0f, 0.5f});
  TopKStage(4).apply(e);  // order 0, 2, 3, 1
  p.apply(e);
  EXPECT_FLOAT_EQ(e.data[0].logit, -0.25f);
  EXPECT_FLOAT_EQ(e.data[3].logit, -4.75f);
  p.reset();
  CandidateArray f = from_logits({2.0f, -2.0f});
  p.apply(f);
  EXPECT_FLOAT_EQ(f.data[0].logit, 2.0f);
}

TEST(SamplerStages, LogitBiasAddsAndBans) {
  CandidateArray c = from_logits({1.0f, 2.0f, 3.0f});
  LogitBiasStage({{0, 1.5f}, {2, -INFINITY}, {0, 0.5f}}).apply(c);
  EXPECT_FLOAT_EQ(c.data[0].logit, 3.0f);
  EXPECT_EQ(c.data[2].logit, -INFINITY);
}

// Context a b c c b c y a b c (ids a=0 b=1 c=2 y=3), allowed length 2, multiplier 1, base 2.
// The suffix "a b c" also occurs at the start, followed by c: emitting c would extend a repeat
// of 3, penalty 1 * 2^(3 - 2) = 2. The suffix "b c" also occurs before y: penalty 2^0 = 1.
TEST(SamplerStages, DryPenalizesTokensThatExtendRepeats) {
  DryStage dry(1.0f, 2.0f, 2, -1, 100, nullptr);
  for (int32_t t : {0, 1, 2, 2, 1, 2, 3, 0, 1, 2}) dry.accept(t);
  CandidateArray c = from_logits({0.0f, 0.0f, 0.0f, 0.0f, 0.0f});
  dry.apply(c);
  EXPECT_FLOAT_EQ(c.data[0].logit, 0.0f);
  EXPECT_FLOAT_EQ(c.data[1].logit, 0.0f);
  EXPECT_FLOAT_EQ(c.data[2].logit, -2.0f);
  EXPECT_FLOAT_EQ(c.data[3].logit, -1.0f);
  EXPECT_FLOAT_EQ(c.data[4].logit, 0.0f);
  // Allowed length 3: only c's repeat of 3 counts, 2^0.
  DryStage longer(1.0f, 2.0f, 3, -1, 100, nullptr);
  for (int32_t t : {0, 1, 2, 2, 1, 2, 3, 0, 1, 2}) longer.accept(t);
  CandidateArray d = from_logits({0.0f, 0.0f, 0.0f, 0.0f});
  longer.apply(d);
  EXPECT_FLOAT_EQ(d.data[2].logit, -1.0f);
  EXPECT_FLOAT_EQ(d.data[3].logit, 0.0f);
}

TEST(SamplerStages, DrySequenceBreakersLimitRepeats) {
  const std::vector<int32_t> context = {0, 1, 2, 2, 1, 2, 3, 0, 1, 2};
  // b (1) breaks sequences: looking back from the end it is 1 token away, so repeats are capped
  // at 1 < allowed length 2 and nothing is penalized.
  auto b_breaks = std::make_shared<DryBreakers>();
  b_breaks->emplace(1, std::vector<int32_t>());
  DryStage dry(1.0f, 2.0f, 2, -1, 100, b_breaks);
  for (int32_t t : context) dry.accept(t);
  CandidateArray c = from_logits({0.0f, 0.0f, 0.0f, 0.0f});
  dry.apply(c);
  for (const Candidate& x : c.data) EXPECT_EQ(x.logit, 0.0f) << x.id;
  // y (3) is 3 tokens back: repeats capped at 3 (c keeps 2); y itself is a single-token
  // breaker and never penalized.
  auto y_breaks = std::make_shared<DryBreakers>();
  y_breaks->emplace(3, std::vector<int32_t>());
  DryStage dry_y(1.0f, 2.0f, 2, -1, 100, y_breaks);
  for (int32_t t : context) dry_y.accept(t);
  CandidateArray d = from_logits({0.0f, 0.0f, 0.0f, 0.0f});
  dry_y.apply(d);
  EXPECT_FLOAT_EQ(d.data[2].logit, -2.0f);
  EXPECT_FLOAT_EQ(d.data[3].logit, 0.0f);
  // A two-token breaker "a b" (head a, tail b): the last "a b" starts 2 tokens back and ends 1
  // back, capping repeats at 2 - 1 = 1 < 2: nothing is penalized.
  auto ab = std::make_shared<DryBreakers>();
  ab->emplace(0, std::vector<int32_t>{1});
  DryStage dry_ab(1.0f, 2.0f, 2, -1, 100, ab);
  for (int32_t t : context) dry_ab.accept(t);
  CandidateArray e = from_logits({0.0f, 0.0f, 0.0f, 0.0f});
  dry_ab.apply(e);
  for (const Candidate& x : e.data) EXPECT_EQ(x.logit, 0.0f) << x.id;
}

TEST(SamplerStages, DryBreakersFromAVocabulary) {
  // Token texts; "x" + "yz" spell the breaker "xyz" across two tokens.
  const std::vector<std::string> pieces = {"hello", "a:", ":", "foo\n", "wx", "yz", "z", "::b"};
  const auto piece = [&](int32_t id) { return pieces[static_cast<size_t>(id)]; };
  const auto tokenize = [](const std::string& text) {
    if (text == "yz") return std::vector<int32_t>{5};
    return std::vector<int32_t>{99};
  };
  const DryBreakers b = build_dry_breakers({":", "xyz"}, static_cast<int32_t>(pieces.size()), piece, tokenize);
  const auto tails = [&](int32_t id) {
    std::vector<std::vector<int32_t>> out;
    for (auto [it, end] = b.equal_range(id); it != end; ++it) out.push_back(it->second);
    return out;
  };
  EXPECT_EQ(tails(1), (std::vector<std::vector<int32_t>>{{}}));  // contains ":"
  EXPECT_EQ(tails(2), (std::vector<std::vector<int32_t>>{{}}));
  EXPECT_EQ(tails(7), (std::vector<std::vector<int32_t>>{{}}));
  EXPECT_EQ(tails(4), (std::vector<std::vector<int32_t>>{{5}}));  // "wx" ends with "x", then "yz"
  EXPECT_TRUE(tails(0).empty());
  EXPECT_TRUE(tails(3).empty());
  EXPECT_TRUE(tails(6).empty());  // "z" does not start "xyz"
}

// Mirostat 2 with tau 1 (mu = 2 bits) on {0.5, 0.3, 0.15, 0.05}: surprises 1, 1.74, 2.74, 4.32
// bits, so only ids 0 and 1 stay, drawn 0.5 / 0.8 and 0.3 / 0.8 of the time (eta 0 keeps mu).
TEST(SamplerStages, MirostatV2TruncatesAtMu) {
  MirostatV2Stage m(5, 1.0f, 0.0f);
  std::map<int32_t, int> counts;
  for (int i = 0; i < 4000; ++i) {
    CandidateArray c = four();
    m.apply(c);
    ++counts[c.data[static_cast<size_t>(c.selected)].id];
  }
  EXPECT_EQ(counts.size(), 2u);
  EXPECT_NEAR(counts[0] / 4000.0, 0.625, 0.03);
  // eta > 0 moves mu by eta * (surprise - tau) after each draw.
  MirostatV2Stage learning(5, 1.0f, 0.5f);
  CandidateArray c = four();
  learning.apply(c);
  const float surprise = -std::log2(c.data[static_cast<size_t>(c.selected)].p);
  EXPECT_NEAR(learning.mu(), 2.0f - 0.5f * (surprise - 1.0f), 1e-5);
}

// Mirostat 1 on an exact Zipf distribution p_i ~ (i + 1)^-1.5 over 1000 tokens: the fit gives
// s = 1.5, and with tau 3 (mu 6): k = (0.5 * 2^6 / (1 - 1000^-0.5))^(1 / 1.5) = 10.30, so draws
// come from the top 10 only; id 9 has (1/10^1.5) / sum_{i<=10} i^-1.5 = 0.0159 of the mass.
TEST(SamplerStages, MirostatV1KeepsTheTopKImpliedByMu) {
  std::vector<float> logits(1000);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = -1.5f * std::log(static_cast<float>(i + 1));
  MirostatStage m(1000, 3, 3.0f, 0.0f);
  std::map<int32_t, int> counts;
  for (int i = 0; i < 4000; ++i) {
    CandidateArray c = from_logits(logits);
    m.apply(c);
    ASSERT_EQ(c.size(), 10u);
    ++counts[c.data[static_cast<size_t>(c.selected)].id];
  }
  EXPECT_LT(counts.rbegin()->first, 10);
  EXPECT_NEAR(counts[9] / 4000.0, 0.0159, 0.008);
}

TEST(SamplerStages, DistDrawsFromTheProbabilities) {
  DistStage d(11);
  std::map<int32_t, int> counts;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    CandidateArray c = four();
    d.apply(c);
    ++counts[c.data[static_cast<size_t>(c.selected)].id];
  }
  EXPECT_NEAR(counts[0] / double(n), 0.5, 0.01);
  EXPECT_NEAR(counts[1] / double(n), 0.3, 0.01);
  EXPECT_NEAR(counts[2] / double(n), 0.15, 0.01);
  EXPECT_NEAR(counts[3] / double(n), 0.05, 0.005);
}

}  // namespace
}  // namespace tessera::sampling

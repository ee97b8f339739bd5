// The sampler against distributions computed independently in the test.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "sampling/sampler.h"

namespace tessera::sampling {
namespace {

TEST(Sampler, GreedyPicksTheArgmax) {
  Sampler s({.temperature = 0.0f});
  const std::vector<float> logits = {0.1f, 3.0f, -1.0f, 2.9f};
  EXPECT_EQ(s.sample(logits), 1);
}

TEST(Sampler, TopKOneIsGreedyAtAnyTemperature) {
  Sampler s({.temperature = 5.0f, .top_k = 1, .top_p = 1.0f, .min_p = 0.0f, .seed = 3});
  const std::vector<float> logits = {0.1f, 3.0f, -1.0f, 2.9f};
  for (int i = 0; i < 50; ++i) EXPECT_EQ(s.sample(logits), 1);
}

// With every filter off, draws follow softmax(logits / T): compare frequencies with exp().
TEST(Sampler, DrawsFollowTheTemperedSoftmax) {
  const std::vector<float> logits = {1.0f, 2.0f, 0.0f, 1.5f};
  const float temperature = 0.7f;
  Sampler s({.temperature = temperature, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = 11});
  std::map<int, int> counts;
  const int n = 200000;
  for (int i = 0; i < n; ++i) ++counts[s.sample(logits)];
  double z = 0;
  for (float l : logits) z += std::exp(l / temperature);
  for (int id = 0; id < 4; ++id) {
    const double expected = std::exp(logits[id] / temperature) / z;
    EXPECT_NEAR(counts[id] / static_cast<double>(n), expected, 0.005) << id;
  }
}

// Top-p keeps the smallest set of most likely tokens whose probability reaches p; min-p drops
// tokens below min_p times the best one. Probabilities here: exp(l) / sum.
TEST(Sampler, TopPAndMinPFilterBeforeTemperature) {
  const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
  Sampler top_p({.temperature = 1.0f, .top_k = 0, .top_p = 0.75f, .min_p = 0.0f, .seed = 5});
  Sampler min_p({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.35f, .seed = 5});
  for (int i = 0; i < 2000; ++i) {
    EXPECT_LT(top_p.sample(logits), 2);  // 0.5 + 0.3 >= 0.75: tokens 0 and 1 only
    EXPECT_LT(min_p.sample(logits), 2);  // 0.15 < 0.35 * 0.5
  }
}

TEST(Sampler, SameSeedSameTokens) {
  const std::vector<float> logits = {0.3f, 0.2f, 0.1f, 0.25f, 0.15f};
  SamplerParams params{.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = 42};
  Sampler a(params), b(params);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.sample(logits), b.sample(logits));
}

}  // namespace
}  // namespace tessera::sampling

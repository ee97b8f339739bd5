#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>

namespace tessera::sampling {

void softmax(std::span<float> x, float temperature) {
  const float max_logit = *std::max_element(x.begin(), x.end());
  double sum = 0;
  for (float& v : x) {
    v = std::exp((v - max_logit) / temperature);
    sum += v;
  }
  for (float& v : x) v = static_cast<float>(v / sum);
}

void Sampler::keep_top_k(std::vector<Candidate>& c) const {
  // Sorting only the k best keeps this O(n_vocab) for the usual small k.
  const size_t k = params_.top_k > 0 ? std::min<size_t>(static_cast<size_t>(params_.top_k), c.size()) : c.size();
  std::partial_sort(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(k), c.end(),
                    [](const Candidate& a, const Candidate& b) { return a.logit > b.logit; });
  c.resize(k);
}

void Sampler::keep_top_p_and_min_p(std::vector<Candidate>& c) const {
  std::vector<float> p(c.size());
  for (size_t i = 0; i < c.size(); ++i) p[i] = c[i].logit;
  softmax(p, 1.0f);
  // c is sorted by logit (descending) after keep_top_k, so p is descending too.
  size_t keep = c.size();
  if (params_.top_p < 1.0f) {
    double cumulative = 0;
    for (size_t i = 0; i < c.size(); ++i) {
      cumulative += p[i];
      if (cumulative >= params_.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  if (params_.min_p > 0.0f) {
    const float threshold = params_.min_p * p[0];
    size_t above = 1;
    while (above < keep && p[above] >= threshold) ++above;
    keep = above;
  }
  c.resize(keep);
}

int32_t Sampler::sample(std::span<const float> logits) {
  if (params_.temperature <= 0.0f) {
    return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  }
  candidates_.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) candidates_[i] = {static_cast<int32_t>(i), logits[i]};
  keep_top_k(candidates_);
  keep_top_p_and_min_p(candidates_);
  std::vector<float> p(candidates_.size());
  for (size_t i = 0; i < p.size(); ++i) p[i] = candidates_[i].logit;
  softmax(p, params_.temperature);
  std::discrete_distribution<size_t> draw(p.begin(), p.end());
  return candidates_[draw(rng_)].id;
}

}  // namespace tessera::sampling

#include "sampling/mirostat.h"

#include <algorithm>
#include <cmath>

#include "sampling/candidates.h"
#include "sampling/stages.h"

namespace tessera::sampling {

void MirostatStage::apply(CandidateArray& c) {
  if (c.data.empty()) return;
  // Probabilities over the whole array, then only the m most likely need to be in order.
  softmax(c);
  const size_t m = std::min<size_t>(static_cast<size_t>(std::max(m_, 1)), c.size());
  if (!c.sorted) {
    std::partial_sort(c.data.begin(), c.data.begin() + static_cast<std::ptrdiff_t>(m), c.data.end(), ranks_before);
  }
  // Least-squares fit of log(p_i / p_{i+1}) = s * log((i + 2) / (i + 1)) over the top m.
  float sum_ti_bi = 0.0f, sum_ti_sq = 0.0f;
  for (size_t i = 0; i + 1 < m; ++i) {
    const float t_i = std::log(static_cast<float>(i + 2) / static_cast<float>(i + 1));
    const float b_i = std::log(c.data[i].p / c.data[i + 1].p);
    sum_ti_bi += t_i * b_i;
    sum_ti_sq += t_i * t_i;
  }
  const float s_hat = sum_ti_bi / sum_ti_sq;
  const float epsilon_hat = s_hat - 1;
  const float k = std::pow(
      (epsilon_hat * std::pow(2.0f, mu_)) / (1 - std::pow(static_cast<float>(n_vocab_), -epsilon_hat)), 1 / s_hat);
  // k may be NaN or huge when the fit degenerates: int(k) as llama.cpp, at least one token.
  const float k_clamped = std::isfinite(k) ? std::min(k, static_cast<float>(c.size())) : 1.0f;
  keep_top(c, static_cast<size_t>(std::max(static_cast<int64_t>(k_clamped), int64_t{1})));
  softmax(c);
  c.selected = draw_index(c, rng_);
  const float surprise = -std::log2(c.data[static_cast<size_t>(c.selected)].p);
  mu_ -= eta_ * (surprise - tau_);
}

void MirostatStage::reset() {
  mu_ = 2 * tau_;
  rng_.seed(seed_);
}

void MirostatV2Stage::apply(CandidateArray& c) {
  if (c.data.empty()) return;
  softmax(c);
  // Keep the tokens with surprise -log2(p) <= mu (at least the most likely one), in order.
  const int64_t best = argmax(c);
  const Candidate top = c.data[static_cast<size_t>(best)];
  std::erase_if(c.data, [this](const Candidate& x) { return -std::log2(x.p) > mu_; });
  if (c.data.empty()) c.data.push_back(top);
  if (!c.sorted) {
    std::sort(c.data.begin(), c.data.end(), ranks_before);
    c.sorted = true;
  }
  softmax(c);
  c.selected = draw_index(c, rng_);
  const float surprise = -std::log2(c.data[static_cast<size_t>(c.selected)].p);
  mu_ -= eta_ * (surprise - tau_);
}

void MirostatV2Stage::reset() {
  mu_ = 2 * tau_;
  rng_.seed(seed_);
}

}  // namespace tessera::sampling

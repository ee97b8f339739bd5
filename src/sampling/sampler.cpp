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

int32_t Sampler::sample(std::span<const float> logits) {
  if (!chain_) {
    ChainContext context;
    context.n_vocab = static_cast<int32_t>(logits.size());
    Result<Chain> chain = Chain::create(params_, context);
    if (!chain) {
      SamplerParams greedy;
      greedy.temperature = 0.0f;
      chain = Chain::create(greedy, context);
    }
    chain_.emplace(std::move(*chain));
  }
  Result<int32_t> token = chain_->sample(logits);
  if (!token) return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  chain_->accept(*token);
  return *token;
}

}  // namespace tessera::sampling

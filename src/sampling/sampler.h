// A simple front to the sampler chain for callers that only have logits: the chain is built on
// the first call from the logits' size (no DRY sequence breakers, no end-of-generation list for
// ignore_eos; use Chain with a ChainContext for those). temperature <= 0 is greedy.
//
// A Sampler owns its chain and RNG state: one per generation stream, not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "sampling/chain.h"
#include "sampling/params.h"

namespace tessera::sampling {

class Sampler {
 public:
  explicit Sampler(const SamplerParams& params) : params_(params) {}

  // Picks a token id from `logits` ([n_vocab]) and accepts it (penalties see it next time).
  // Invalid params make it greedy rather than fail (Chain::create reports them properly).
  int32_t sample(std::span<const float> logits);

 private:
  SamplerParams params_;
  std::optional<Chain> chain_;
};

// In place: logits -> softmax(logits / temperature).
void softmax(std::span<float> logits_in_probs_out, float temperature);

}  // namespace tessera::sampling

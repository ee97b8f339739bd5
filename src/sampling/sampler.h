// Token sampling: the first part of the sampler chain (issue 6 extends it with penalties, DRY,
// typical-p, XTC, Mirostat, logit bias and a configurable order).
//
// Order as llama.cpp's default chain: top-k, top-p, min-p, then temperature and a seeded draw.
// Top-p and min-p look at the distribution before temperature, as there. temp <= 0 is greedy.
// A Sampler owns its RNG state: one per generation stream, not thread-safe.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace tessera::sampling {

struct SamplerParams {
  float temperature = 0.8f;  // --temp; <= 0: greedy (argmax)
  int32_t top_k = 40;        // --top-k; <= 0: off
  float top_p = 0.95f;       // --top-p; >= 1: off
  float min_p = 0.05f;       // --min-p; <= 0: off
  uint32_t seed = 0;         // -s
};

class Sampler {
 public:
  explicit Sampler(const SamplerParams& params) : params_(params), rng_(params.seed) {}

  // Picks a token id from `logits` ([n_vocab]).
  int32_t sample(std::span<const float> logits);

 private:
  struct Candidate {
    int32_t id;
    float logit;
  };
  void keep_top_k(std::vector<Candidate>& c) const;
  void keep_top_p_and_min_p(std::vector<Candidate>& c) const;

  SamplerParams params_;
  std::mt19937 rng_;
  std::vector<Candidate> candidates_;  // [n_vocab] scratch
};

// In place: logits -> softmax(logits / temperature).
void softmax(std::span<float> logits_in_probs_out, float temperature);

}  // namespace tessera::sampling

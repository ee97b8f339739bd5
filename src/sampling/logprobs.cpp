#include "sampling/logprobs.h"

#include <algorithm>
#include <cmath>

#include "sampling/candidates.h"

namespace tessera::sampling {
namespace {

// log(sum(exp(logit))) with the max factored out.
template <class Get>
float log_normalizer(size_t n, Get logit) {
  float max_logit = -INFINITY;
  for (size_t i = 0; i < n; ++i) max_logit = std::max(max_logit, logit(i));
  if (max_logit == -INFINITY) return -INFINITY;
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(logit(i) - max_logit));
  return static_cast<float>(max_logit + std::log(sum));
}

}  // namespace

TokenLogprobs token_logprobs(std::span<const float> logits, int32_t chosen, int32_t n_top) {
  TokenLogprobs out;
  out.token = chosen;
  const float log_z = log_normalizer(logits.size(), [&](size_t i) { return logits[i]; });
  const bool valid = chosen >= 0 && static_cast<size_t>(chosen) < logits.size();
  out.logprob = valid ? logits[static_cast<size_t>(chosen)] - log_z : -INFINITY;
  if (n_top <= 0) return out;
  CandidateArray c;
  fill_from_logits(c, logits);
  keep_top(c, static_cast<size_t>(n_top));
  for (const Candidate& x : c.data) out.top.emplace_back(x.id, x.logit - log_z);
  return out;
}

TokenLogprobs candidate_logprobs(const CandidateArray& candidates, int32_t chosen, int32_t n_top) {
  TokenLogprobs out;
  out.token = chosen;
  const float log_z = log_normalizer(candidates.size(), [&](size_t i) { return candidates.data[i].logit; });
  const int64_t at = find_token(candidates, chosen);
  out.logprob = at >= 0 ? candidates.data[static_cast<size_t>(at)].logit - log_z : -INFINITY;
  if (n_top <= 0) return out;
  CandidateArray c = candidates;
  keep_top(c, static_cast<size_t>(n_top));
  for (const Candidate& x : c.data) out.top.emplace_back(x.id, x.logit - log_z);
  return out;
}

}  // namespace tessera::sampling

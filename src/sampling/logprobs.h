// Per-token log-probabilities for callers that report them (the server's `logprobs` /
// `top_logprobs`, llama.cpp's `n_probs`).
//
//   TokenLogprobs lp = token_logprobs(logits, chosen, 5);          // the model's distribution
//   TokenLogprobs pp = candidate_logprobs(chain.candidates(), chosen, 5);  // after the chain
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "sampling/stage.h"

namespace tessera::sampling {

struct TokenLogprobs {
  int32_t token = -1;
  float logprob = 0.0f;                        // natural log; -inf when the token is impossible
  std::vector<std::pair<int32_t, float>> top;  // [<= n_top] (token, logprob), most likely first (ties: lower id)
};

// log-softmax of the full vocabulary `logits` ([n_vocab]) at `chosen`, and its `n_top` most likely
// tokens. One pass for the normalizer, one for the top n (no sort of the vocabulary).
TokenLogprobs token_logprobs(std::span<const float> logits, int32_t chosen, int32_t n_top);

// The same over the candidates left after a chain ran (their logits as the stages left them,
// temperature included; llama.cpp's post-sampling probabilities). A chosen token that is not a
// candidate gets -inf.
TokenLogprobs candidate_logprobs(const CandidateArray& candidates, int32_t chosen, int32_t n_top);

}  // namespace tessera::sampling

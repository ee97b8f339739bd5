// DRY ("don't repeat yourself", llama.cpp's llama_sampler_dry): penalizes the tokens that would
// extend a sequence of the recent context that already occurred earlier in it.
//
// For each candidate that would continue a repeat of length L >= allowed_length, the logit loses
// multiplier * base^(L - allowed_length). Repeats are found with a reverse Z-algorithm over the
// last `penalty_last_n` tokens; a sequence breaker (e.g. "\n") in the context caps how far back a
// repeat may reach, and a candidate that is itself a single-token breaker is never penalized.
//
// Breakers are strings; which token sequences spell them depends on the vocabulary, so they are
// processed once per model (DryBreakers::build) and shared read-only between chain clones.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "sampling/stage.h"
#include "sampling/stages.h"

namespace tessera::sampling {

// head token -> the tokens that must follow it to complete a breaker (empty: the head alone is one).
using DryBreakers = std::unordered_multimap<int32_t, std::vector<int32_t>>;

// llama.cpp's get_overlapping_token_sequences over every token of the vocabulary: a token whose
// text contains a breaker is a breaker by itself; a token whose text ends with the start of a
// breaker is a head, followed by the tokenization of the breaker's rest (at most 20 tokens).
// Breakers are cut to 40 bytes. `piece(id)` is the token's text (special tokens included),
// `tokenize(text)` its token ids without BOS/EOS.
DryBreakers build_dry_breakers(const std::vector<std::string>& breakers, int32_t n_vocab,
                               const std::function<std::string(int32_t)>& piece,
                               const std::function<std::vector<int32_t>(const std::string&)>& tokenize);

class DryStage final : public SamplerStage, public SparseModifier {
 public:
  // penalty_last_n: tokens scanned (-1: context_size); context_size caps it.
  DryStage(float multiplier, float base, int32_t allowed_length, int32_t penalty_last_n, int32_t context_size,
           std::shared_ptr<const DryBreakers> breakers);
  std::string_view name() const override { return "dry"; }
  void apply(CandidateArray& c) override;
  void accept(int32_t token) override;
  void reset() override { last_tokens_.clear(); }
  std::unique_ptr<SamplerStage> clone() const override { return std::make_unique<DryStage>(*this); }
  // Only tokens of the context can extend a repeat.
  void listed_tokens(std::vector<int32_t>& out) const override {
    out.insert(out.end(), last_tokens_.begin(), last_tokens_.end());
  }

 private:
  bool enabled() const { return multiplier_ != 0.0f && base_ >= 1.0f && penalty_last_n_ != 0; }
  // Token i places from the end of the context (0: the most recent).
  int32_t from_end(int i) const { return last_tokens_[last_tokens_.size() - 1 - static_cast<size_t>(i)]; }
  // Step 1: the longest repeat a breaker allows, looking back from the end.
  int repeat_limit(int n) const;

  float multiplier_, base_;
  int32_t allowed_length_, penalty_last_n_;
  std::shared_ptr<const DryBreakers> breakers_;
  std::deque<int32_t> last_tokens_;  // the last penalty_last_n_ tokens, oldest first
};

}  // namespace tessera::sampling

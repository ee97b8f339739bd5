// A sampler chain built from SamplerParams, as llama.cpp's common_sampler builds it:
//
//   logit bias (-l, --ignore-eos) -> the configurable stages in params.order -> seeded draw
//   with Mirostat: logit bias -> temperature -> Mirostat (v1 or v2)
//
// An optional Constraint (a grammar) is consulted the cheap way: the chain samples as usual and
// asks allows() about the drawn token; only when it is rejected are all candidates masked by the
// constraint and the chain run again (llama.cpp's grammar rejection sampling).
//
//   Result<Chain> chain = Chain::create(params, ChainContext::from_tokenizer(tok, n_ctx));
//   chain->accept_prompt(prompt_ids);              // penalties and DRY see the prompt
//   Result<int32_t> id = chain->sample(logits);    // does not advance any state but the RNGs
//   chain->accept(*id);                            // stages and constraint advance
//
// Ownership and thread-safety: a Chain owns its stages and constraint; clone() gives an
// independent copy (the server keeps one configured chain and clones it per request). One chain
// per generation stream; not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sampling/dry.h"
#include "sampling/params.h"
#include "sampling/stage.h"
#include "tessera/status.h"

namespace tessera::tokenizer {
class Tokenizer;
}

namespace tessera::sampling {

// What a chain needs to know about the model.
struct ChainContext {
  int32_t n_vocab = 0;
  int32_t n_ctx = 4096;                    // resolves repeat_last_n / dry_penalty_last_n = -1
  std::vector<int32_t> end_of_generation;  // tokens --ignore-eos bans
  // DRY's processed sequence breakers for params.dry_sequence_breakers; null: DRY has none.
  std::shared_ptr<const DryBreakers> dry_breakers;

  // From a tokenizer: n_vocab, the end-of-generation tokens and (when DRY is on in `params`)
  // its breakers, processed over the vocabulary (one pass over every token's text).
  static ChainContext from_tokenizer(const tokenizer::Tokenizer& tokenizer, int32_t n_ctx, const SamplerParams& params);
};

class Chain {
 public:
  // Fails on invalid params (see SamplerParams::validate) or a logit bias token outside the vocabulary.
  static Result<Chain> create(const SamplerParams& params, const ChainContext& context);

  Chain(Chain&&) noexcept = default;
  Chain& operator=(Chain&&) noexcept = default;
  Chain clone() const;

  // Draws the next token from `logits` ([n_vocab]). Fails only when the constraint allows no
  // candidate at all. The candidates after the chain stay readable in candidates().
  Result<int32_t> sample(std::span<const float> logits);
  // Advances the stages (penalty window, DRY context) and the constraint past `token`.
  void accept(int32_t token);
  // Feeds prompt tokens to the stages only (the constraint starts after the prompt), as llama.cpp.
  void accept_prompt(std::span<const int32_t> tokens);
  // Forgets every token accepted and rewinds the RNGs to the seed; resets the constraint.
  void reset();

  // The grammar: checked on every draw, advanced by accept(). Null: none.
  void set_constraint(std::unique_ptr<Constraint> constraint) { constraint_ = std::move(constraint); }
  Constraint* constraint() { return constraint_.get(); }

  // The candidates the last sample() drew from (after every stage), `selected` set.
  const CandidateArray& candidates() const { return candidates_; }
  // "logit-bias -> penalties -> ... -> dist": the stages that do something with these params.
  std::string describe() const;
  const SamplerParams& params() const { return params_; }
  uint32_t seed() const { return params_.seed; }

 private:
  Chain() = default;
  void run_stages(CandidateArray& c, size_t first = 0);
  // Finds the fast path: sparse modifiers, then top-k (or greedy).
  void plan_fast_path();
  // The fast path: the modifiers on their listed tokens only, the top k from the logits directly.
  void sample_top_k_directly(std::span<const float> logits);

  SamplerParams params_;                               // seed resolved (never kRandomSeed)
  std::vector<std::unique_ptr<SamplerStage>> stages_;  // the last one sets `selected`
  std::unique_ptr<Constraint> constraint_;
  CandidateArray candidates_;  // [n_vocab] at first, shrinking through the stages
  // stages_[0, fast_prefix_) are SparseModifiers and stages_[fast_prefix_] keeps the top fast_k_
  // (top-k, or greedy with k = 1); fast_k_ = 0: no fast path.
  size_t fast_prefix_ = 0;
  size_t fast_k_ = 0;
  bool fast_greedy_ = false;     // the stage after the prefix is the greedy pick
  std::vector<int32_t> listed_;  // scratch: the modifiers' tokens
};

}  // namespace tessera::sampling

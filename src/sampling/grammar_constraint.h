// The grammar as a sampling Constraint: allows() checks one drawn token (the fast path, a few
// memoised transitions), apply() masks a whole candidate array (a trie walk, cached per grammar
// state), accept() advances, is_complete() says when nothing can follow.
//
//   auto grammar = std::make_shared<const grammar::Grammar>(*grammar::parse_gbnf(text));
//   auto vocab = grammar::GrammarVocabulary::from_tokenizer(tokenizer);   // once per model
//   Result<std::unique_ptr<GrammarConstraint>> c = GrammarConstraint::create(grammar, vocab);
//
// Thread-safety: one constraint per generation stream; clone() gives an independent copy at the
// same position (the grammar and vocabulary are shared read-only, the caches are not).
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "grammar/grammar.h"
#include "grammar/matcher.h"
#include "grammar/token_mask.h"
#include "sampling/stage.h"
#include "tessera/status.h"

namespace tessera::sampling {

class GrammarConstraint : public Constraint {
 public:
  // Fails when a token reference (`<text>`, `<[id]>`) is not in the vocabulary.
  static Result<std::unique_ptr<GrammarConstraint>> create(std::shared_ptr<const grammar::Grammar> grammar,
                                                           std::shared_ptr<const grammar::GrammarVocabulary> vocab);

  bool allows(int32_t token) const override;
  void apply(CandidateArray& candidates) const override;
  void accept(int32_t token) override;
  bool is_complete() const override;
  void reset() override;
  std::unique_ptr<Constraint> clone() const override;

  // The allowed-token bitmask of the current position ([ceil(n_vocab / 64)] words; bit id set =
  // allowed), e.g. for logprobs. Valid until the next call on this constraint.
  const std::vector<uint64_t>& mask() const;
  // True when the output so far is a complete sentence (an end-of-generation token is allowed).
  bool can_end() const;

 private:
  GrammarConstraint(std::shared_ptr<const grammar::Grammar> grammar,
                    std::shared_ptr<const grammar::GrammarVocabulary> vocab, std::vector<int32_t> ref_ids);
  bool matches_token_ref(int32_t token) const;

  static constexpr size_t kMaxCachedMasks = 256;  // x n_vocab / 8 bytes each (32 KiB at 262k)

  struct ByteStateHash {
    size_t operator()(const grammar::ByteState& b) const {
      return (static_cast<size_t>(b.state) * 0x9E3779B97F4A7C15ull) ^ (static_cast<size_t>(b.partial) << 8) ^ b.need;
    }
  };

  std::shared_ptr<const grammar::Grammar> grammar_;
  std::shared_ptr<const grammar::GrammarVocabulary> vocab_;
  std::vector<int32_t> ref_ids_;  // [grammar.tokens.size()] resolved token ids
  // Caches, mutated by the const queries (the chain's interface is const there).
  mutable std::unique_ptr<grammar::Matcher> matcher_;
  mutable std::unordered_map<grammar::ByteState, std::vector<uint64_t>, ByteStateHash> masks_;
  grammar::ByteState state_;
  bool finished_ = false;         // an end-of-generation token was accepted
  std::vector<int32_t> history_;  // accepted tokens, replayed by clone()
};

}  // namespace tessera::sampling

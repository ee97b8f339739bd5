// Which tokens of a vocabulary a grammar state allows: the token byte trie and the mask walk.
//
// GrammarVocabulary holds every token's bytes (token_to_piece) in a trie laid out in depth-first
// order, so a subtree is a contiguous index range and a dead prefix skips its whole subtree in one
// step. compute_token_mask() walks that trie from a matcher state, advancing the matcher byte by
// byte (memoised transitions make most steps one array load) and pruning every prefix the
// grammar rejects: the cost is proportional to the number of allowed prefixes, not to the vocabulary.
//
// Ownership: a GrammarVocabulary is immutable once built; build it once per model and share it
// (read-only, thread-safe) among all constraints.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "grammar/matcher.h"
#include "tessera/status.h"

namespace tessera::tokenizer {
class Tokenizer;
}

namespace tessera::grammar {

class GrammarVocabulary {
 public:
  // `pieces[id]`: the bytes token id stands for ("" for control tokens, which the grammar never
  // allows); `texts[id]`: the token's text, for `<token-text>` references; `eog`: end-of-generation ids.
  static std::shared_ptr<const GrammarVocabulary> build(std::vector<std::string> pieces, std::vector<std::string> texts,
                                                        const std::vector<int32_t>& eog);
  static std::shared_ptr<const GrammarVocabulary> from_tokenizer(const tokenizer::Tokenizer& tokenizer);

  size_t size() const { return pieces_.size(); }
  const std::string& piece(int32_t id) const { return pieces_[static_cast<size_t>(id)]; }
  bool is_eog(int32_t id) const { return eog_[static_cast<size_t>(id)] != 0; }
  const std::vector<int32_t>& eog_ids() const { return eog_ids_; }
  // Id of the token whose text (or piece) is exactly `text`, -1 if none.
  int32_t find_text(std::string_view text) const;
  // Resolves a grammar's token references; an error names a `<text>` or `<[id]>` not in the vocabulary.
  Result<std::vector<int32_t>> resolve(const Grammar& grammar) const;

  size_t trie_nodes() const { return byte_.size(); }

 private:
  friend void compute_token_mask(Matcher&, ByteState, const GrammarVocabulary&, std::span<const int32_t>,
                                 std::vector<uint64_t>&);
  std::vector<std::string> pieces_;  // [n_vocab]
  std::vector<std::string> texts_;   // [n_vocab]
  std::vector<uint8_t> eog_;         // [n_vocab]
  std::vector<int32_t> eog_ids_;
  // The trie, nodes in depth-first order; node 0 is the root (the empty prefix).
  std::vector<uint8_t> byte_;          // [n_nodes] the byte on the edge into the node
  std::vector<uint16_t> depth_;        // [n_nodes] prefix length (tokens longer than 65535 bytes are left out)
  std::vector<uint32_t> subtree_end_;  // [n_nodes] one past the last node of the subtree
  std::vector<uint32_t> first_token_;  // [n_nodes + 1] range into token_ids_ of tokens ending at the node
  std::vector<int32_t> token_ids_;     // in depth-first order: a subtree's tokens are contiguous
  // What the bytes below a node hold, read from a character boundary at the node: the ASCII
  // characters (128-bit set), whether any byte is >= 0x80, and whether some token's rest is not
  // valid (possibly truncated) UTF-8. Lets the walk accept a whole subtree at once.
  std::vector<std::array<uint64_t, 2>> below_ascii_;  // [n_nodes]
  std::vector<uint8_t> below_flags_;                  // [n_nodes] kBelowNonAscii | kBelowInvalid
  std::vector<uint8_t> below_chars_;                  // [n_nodes] most characters below (255: or more)
  static constexpr uint8_t kBelowNonAscii = 1, kBelowInvalid = 2;
};

// Sets bit id of `mask` ([ceil(n_vocab / 64)] words) for every token the grammar allows from
// `from`: tokens whose bytes keep the output valid (possibly ending inside a character),
// end-of-generation tokens when the output is complete, and tokens named by token references.
void compute_token_mask(Matcher& matcher, ByteState from, const GrammarVocabulary& vocab,
                        std::span<const int32_t> ref_ids, std::vector<uint64_t>& mask);

}  // namespace tessera::grammar

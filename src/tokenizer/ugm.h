// Unigram (T5 / SentencePiece "unigram"): the precompiled-charsmap normaliser, then Viterbi
// over all tokenizations, maximising the sum of token scores (log probabilities).
//
// Ownership: borrows the Vocab, which must outlive it. Immutable after create(); thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "tessera/status.h"
#include "tokenizer/vocab.h"

namespace tessera::tokenizer {

class UgmModel {
 public:
  // Fails when the precompiled charsmap is malformed (sizes that do not add up).
  static Result<UgmModel> create(const Vocab& vocab);

  // Normalises one fragment of text: charsmap replacements, the U+2581 space mark, the dummy
  // prefix and (if the vocabulary asks) collapsed whitespace. Malformed UTF-8 bytes become U+FFFD.
  std::string normalize(std::string_view text) const;
  // Appends the best-scoring tokenization of `text` (normalised here).
  void tokenize(std::string_view text, std::vector<TokenId>& out) const;

 private:
  explicit UgmModel(const Vocab& vocab) : vocab_(&vocab) {}
  // Longest charsmap rule matching text[offset...]: sets `consumed` and returns the replacement,
  // or returns false.
  bool charsmap_match(std::string_view text, size_t offset, size_t& consumed, std::string_view& replacement) const;
  size_t user_defined_prefix(std::string_view text, size_t offset) const;

  const Vocab* vocab_;
  std::vector<uint32_t> xcda_;     // [n_nodes] packed double-array trie nodes
  std::string_view replacements_;  // NUL-terminated replacement strings, views into the vocab
  double unknown_score_ = 0.0;     // lowest normal score minus a penalty of 10
  std::unordered_set<std::string_view> user_defined_;
  size_t max_user_defined_length_ = 0;
};

}  // namespace tessera::tokenizer

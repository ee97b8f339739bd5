// PLaMo-2's tokenizer (`tokenizer.ggml.model = plamo2`): a Viterbi search over every token that
// starts at each character, minimising the sum of -round(score * 1e4); a character no token
// covers costs 1e7 and becomes its UTF-8 bytes as <0xNN> tokens. Ties go to the longer token.
// These are llama.cpp's rules (its suffix-table implementation finds the same candidates).
//
// Ownership: borrows the Vocab, which must outlive it. Immutable after create(); thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "tessera/status.h"
#include "tokenizer/vocab.h"

namespace tessera::tokenizer {

class Plamo2Model {
 public:
  // Fails, naming the byte, when one of the 256 <0xNN> byte tokens is missing.
  static Result<Plamo2Model> create(const Vocab& vocab);

  // Appends the tokens of one fragment of text (a leading U+FEFF is skipped; malformed UTF-8
  // bytes are U+FFFD).
  void tokenize(std::string_view text, std::vector<TokenId>& out) const;

 private:
  explicit Plamo2Model(const Vocab& vocab) : vocab_(&vocab) {}
  // The scaled score of the token spelled text, or false when no non-byte token is.
  bool candidate(std::string_view text, TokenId& id, int64_t& score) const;

  const Vocab* vocab_;
  size_t max_chars_ = 1;  // the longest non-byte token, in characters
};

}  // namespace tessera::tokenizer

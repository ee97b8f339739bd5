// RWKV "world" tokenizer: token texts are stored escaped (\t \n \r \xNN \\); tokenization is
// greedy longest match over raw bytes.
//
// Ownership: borrows the Vocab, which must outlive it. Immutable after creation; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/vocab.h"

namespace tessera::tokenizer {

// The bytes an escaped RWKV token text stands for.
std::string unescape_rwkv_token(std::string_view escaped);

class RwkvTrie {
 public:
  explicit RwkvTrie(const Vocab& vocab);
  // Appends the greedy longest-match tokenization of `text`; a byte no token starts with
  // becomes unk.
  void tokenize(std::string_view text, std::vector<TokenId>& out) const;
  // The unescaped bytes of token `id`.
  const std::string& bytes(TokenId id) const { return bytes_[static_cast<size_t>(id)]; }

 private:
  const Vocab* vocab_;
  std::vector<std::string> bytes_;                          // [n_vocab] unescaped token texts
  std::unordered_map<std::string_view, TokenId> by_bytes_;  // views into bytes_
  size_t max_length_ = 0;
};

}  // namespace tessera::tokenizer

// Incremental detokenization for streaming output. Pieces of consecutive tokens are buffered
// until they form whole UTF-8 characters, so what push() returns is always valid UTF-8 even when
// one character spans several byte tokens. Malformed bytes come out as U+FFFD.
//
// Ownership: borrows the Tokenizer, which must outlive it. One decoder per output stream; not
// thread-safe (it holds the stream's pending bytes).
#pragma once

#include <string>

#include "tokenizer/tokenizer.h"

namespace tessera::tokenizer {

class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool unparse_special = false)
      : tokenizer_(tokenizer), unparse_special_(unparse_special) {}

  // Text that became complete with `id` (possibly empty).
  std::string push(TokenId id);
  // Whatever is still pending at the end of the stream: an incomplete sequence becomes U+FFFD
  // per byte. The decoder is then ready for a new stream.
  std::string finish();

 private:
  const Tokenizer& tokenizer_;
  bool unparse_special_;
  bool at_start_ = true;  // SentencePiece's leading space is not part of the text
  std::string pending_;   // bytes of an unfinished UTF-8 character
};

}  // namespace tessera::tokenizer

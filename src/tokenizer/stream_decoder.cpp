#include "tokenizer/stream_decoder.h"

#include "tokenizer/unicode.h"

namespace tessera::tokenizer {

std::string StreamDecoder::push(TokenId id) {
  std::string piece = tokenizer_.token_to_piece(id, unparse_special_);
  if (at_start_ && !piece.empty()) {
    if (tokenizer_.vocab().flags().add_space_prefix && piece[0] == ' ') piece.erase(0, 1);
    at_start_ = false;
  }
  pending_ += piece;
  const size_t complete = complete_utf8_prefix(pending_);
  std::string out = sanitize_utf8(std::string_view(pending_).substr(0, complete));
  pending_.erase(0, complete);
  return out;
}

std::string StreamDecoder::finish() {
  std::string out = sanitize_utf8(pending_);
  pending_.clear();
  at_start_ = true;
  return out;
}

}  // namespace tessera::tokenizer

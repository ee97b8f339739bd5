// UTF-8 helpers for the grammar module, on top of the tokenizer's Unicode layer: strict decoding
// (no overlong forms, no surrogates, nothing past U+10FFFF) that reports malformed input as 0.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tokenizer/unicode.h"

namespace tessera::grammar {

// Decodes the code point at the start of `s` into `cp`; returns the bytes used, 0 if invalid.
inline size_t decode_utf8(std::string_view s, uint32_t& cp) {
  if (s.empty()) return 0;
  size_t length = 0;
  cp = tokenizer::decode_utf8(s, 0, length);
  // The tokenizer maps malformed input to U+FFFD with length 1; a real U+FFFD is 3 bytes long.
  return cp == tokenizer::kReplacementChar && length == 1 ? 0 : length;
}

inline void append_utf8(std::string& out, uint32_t cp) {
  tokenizer::append_utf8(cp, out);
}

}  // namespace tessera::grammar

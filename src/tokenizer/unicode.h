// UTF-8 and Unicode helpers shared by the tokenizers: decoding with explicit handling of invalid
// bytes, GPT-2's byte <-> printable-character map, and character classes backed by utf8proc.
//
// All functions are pure and thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::tokenizer {

constexpr uint32_t kReplacementChar = 0xFFFD;

// Length of the UTF-8 sequence a lead byte announces, from its high nibble: 1 for ASCII and for
// stray continuation bytes (so a scan always advances), 2, 3 or 4 otherwise.
inline size_t utf8_sequence_length(uint8_t lead) {
  static constexpr uint8_t kLengths[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLengths[lead >> 4];
}

// Decodes the code point at text[offset]. On a well-formed sequence returns it and sets `length`;
// on a malformed one (stray continuation, truncated, overlong, surrogate, > U+10FFFF) returns
// kReplacementChar with length 1, so the caller skips exactly one byte.
uint32_t decode_utf8(std::string_view text, size_t offset, size_t& length);

// Appends the UTF-8 encoding of `cp` (which must be a valid scalar value).
void append_utf8(uint32_t cp, std::string& out);
std::string encode_utf8(uint32_t cp);

// Code points of `text`; each malformed byte becomes U+FFFD (llama.cpp's handling).
std::vector<uint32_t> decode_utf8_all(std::string_view text);

// `text` with each malformed byte replaced by U+FFFD; returns `text` unchanged when it is valid.
std::string sanitize_utf8(std::string_view text);
bool is_valid_utf8(std::string_view text);

// Length of the longest prefix of `text` that does not end inside a UTF-8 sequence that is still
// incomplete (i.e. that more bytes could complete). Malformed bytes count as complete.
size_t complete_utf8_prefix(std::string_view text);

// GPT-2 byte-level encoding: every byte maps to one printable code point (bytes 0x21-0x7E,
// 0xA1-0xAC and 0xAE-0xFF map to themselves, the other 68 to U+0100 upward).
const std::array<std::string, 256>& byte_to_unicode_table();
// Inverse of the above: -1 for code points that are not the image of a byte.
int unicode_to_byte(uint32_t cp);
// Applies byte_to_unicode to every byte of `bytes`.
std::string byte_level_encode(std::string_view bytes);
// Inverse of byte_level_encode; characters outside the map are copied through as UTF-8.
std::string byte_level_decode(std::string_view text);

// Character classes (Unicode general categories via utf8proc).
bool is_whitespace(uint32_t cp);  // the Unicode White_Space property
bool is_letter(uint32_t cp);
bool is_number(uint32_t cp);
bool is_punctuation(uint32_t cp);
bool is_symbol(uint32_t cp);
bool is_control(uint32_t cp);          // general category Cc/Cf/Cs/Co/Cn
bool is_accent_mark(uint32_t cp);      // general category M*
bool is_nonspacing_mark(uint32_t cp);  // general category Mn (what BERT's accent stripping drops)
uint32_t to_lower(uint32_t cp);

// Canonical decomposition (NFD) of a sequence of code points.
std::vector<uint32_t> normalize_nfd(const std::vector<uint32_t>& cps);

}  // namespace tessera::tokenizer

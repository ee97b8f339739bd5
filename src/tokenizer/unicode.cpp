#include "tokenizer/unicode.h"

#include <utf8proc.h>

#include "tessera/check.h"

namespace tessera::tokenizer {

uint32_t decode_utf8(std::string_view text, size_t offset, size_t& length) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[offset + i]); };
  const uint8_t b0 = byte(0);
  length = 1;
  if (b0 < 0x80) return b0;
  size_t n = 0;
  uint32_t cp = 0;
  uint32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return kReplacementChar;  // stray continuation byte or 0xF8..0xFF
  }
  if (offset + n > text.size()) return kReplacementChar;
  for (size_t i = 1; i < n; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return kReplacementChar;
    cp = (cp << 6) | (byte(i) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return kReplacementChar;
  length = n;
  return cp;
}

void append_utf8(uint32_t cp, std::string& out) {
  TESSERA_CHECK(cp <= 0x10FFFF, "code point out of range");
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string encode_utf8(uint32_t cp) {
  std::string out;
  append_utf8(cp, out);
  return out;
}

std::vector<uint32_t> decode_utf8_all(std::string_view text) {
  std::vector<uint32_t> cps;
  cps.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t n = 0;
    cps.push_back(decode_utf8(text, i, n));
    i += n;
  }
  return cps;
}

bool is_valid_utf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    if (static_cast<uint8_t>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t n = 0;
    if (decode_utf8(text, i, n) == kReplacementChar && n == 1) return false;
    i += n;
  }
  return true;
}

std::string sanitize_utf8(std::string_view text) {
  if (is_valid_utf8(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 8);
  for (size_t i = 0; i < text.size();) {
    size_t n = 0;
    const uint32_t cp = decode_utf8(text, i, n);
    if (cp == kReplacementChar && n == 1) {
      append_utf8(kReplacementChar, out);
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
  return out;
}

size_t complete_utf8_prefix(std::string_view text) {
  // Only the last 3 bytes can belong to an unfinished sequence.
  const size_t n = text.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const uint8_t b = static_cast<uint8_t>(text[n - back]);
    if ((b & 0xC0) == 0x80) continue;  // continuation: keep looking for the lead byte
    if (b < 0x80) return n;
    const size_t want = (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 1;
    return want > back ? n - back : n;
  }
  return n;
}

namespace {

struct ByteMaps {
  std::array<std::string, 256> to_unicode;
  std::array<int, 0x144> to_byte;  // code points up to U+0143 are images of bytes
};

ByteMaps build_byte_maps() {
  ByteMaps maps;
  maps.to_byte.fill(-1);
  uint32_t next = 256;
  for (uint32_t b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    const uint32_t cp = printable ? b : next++;
    maps.to_unicode[b] = encode_utf8(cp);
    maps.to_byte[cp] = static_cast<int>(b);
  }
  return maps;
}

const ByteMaps& byte_maps() {
  static const ByteMaps maps = build_byte_maps();  // immutable after first use
  return maps;
}

}  // namespace

const std::array<std::string, 256>& byte_to_unicode_table() {
  return byte_maps().to_unicode;
}

int unicode_to_byte(uint32_t cp) {
  return cp < byte_maps().to_byte.size() ? byte_maps().to_byte[cp] : -1;
}

std::string byte_level_encode(std::string_view bytes) {
  const auto& table = byte_maps().to_unicode;
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += table[static_cast<uint8_t>(c)];
  return out;
}

std::string byte_level_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t n = 0;
    const uint32_t cp = decode_utf8(text, i, n);
    const int b = unicode_to_byte(cp);
    if (b >= 0) {
      out += static_cast<char>(b);
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
  return out;
}

namespace {

utf8proc_category_t category(uint32_t cp) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(cp));
}

}  // namespace

bool is_whitespace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

bool is_letter(uint32_t cp) {
  const auto c = category(cp);
  return c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO;
}

bool is_number(uint32_t cp) {
  const auto c = category(cp);
  return c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO;
}

bool is_punctuation(uint32_t cp) {
  const auto c = category(cp);
  return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}

bool is_symbol(uint32_t cp) {
  const auto c = category(cp);
  return c >= UTF8PROC_CATEGORY_SM && c <= UTF8PROC_CATEGORY_SO;
}

bool is_control(uint32_t cp) {
  const auto c = category(cp);
  return c == UTF8PROC_CATEGORY_CN || (c >= UTF8PROC_CATEGORY_CC && c <= UTF8PROC_CATEGORY_CO);
}

bool is_accent_mark(uint32_t cp) {
  const auto c = category(cp);
  return c >= UTF8PROC_CATEGORY_MN && c <= UTF8PROC_CATEGORY_ME;
}

bool is_nonspacing_mark(uint32_t cp) {
  return category(cp) == UTF8PROC_CATEGORY_MN;
}

uint32_t to_lower(uint32_t cp) {
  return static_cast<uint32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp)));
}

std::vector<uint32_t> normalize_nfd(const std::vector<uint32_t>& cps) {
  std::vector<uint32_t> out;
  out.reserve(cps.size());
  utf8proc_int32_t buffer[32];
  int last_boundclass = 0;
  for (uint32_t cp : cps) {
    const utf8proc_ssize_t n =
        utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), buffer, 32, UTF8PROC_DECOMPOSE, &last_boundclass);
    if (n < 0 || n > 32) {
      out.push_back(cp);
      continue;
    }
    for (utf8proc_ssize_t i = 0; i < n; ++i) out.push_back(static_cast<uint32_t>(buffer[i]));
  }
  // Canonical ordering: stable sort runs of combining marks by combining class.
  for (size_t i = 1; i < out.size(); ++i) {
    const auto ccc = [](uint32_t c) {
      return utf8proc_get_property(static_cast<utf8proc_int32_t>(c))->combining_class;
    };
    for (size_t j = i; j > 0 && ccc(out[j]) != 0 && ccc(out[j - 1]) > ccc(out[j]); --j) std::swap(out[j], out[j - 1]);
  }
  return out;
}

}  // namespace tessera::tokenizer

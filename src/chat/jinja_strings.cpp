#include "chat/jinja_strings.h"

#include <utf8proc.h>

#include <algorithm>

#include "chat/jinja_value.h"
#include "tokenizer/unicode.h"

namespace tessera::chat::jinja::pystr {
namespace {

bool is_cased_letter(uint32_t cp) {
  const auto c = utf8proc_category(utf8proc_int32_t(cp));
  return c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT;
}

std::string map_code_points(std::string_view s, utf8proc_int32_t (*f)(utf8proc_int32_t)) {
  std::string out;
  out.reserve(s.size());
  for (uint32_t cp : code_points(s)) tokenizer::append_utf8(uint32_t(f(utf8proc_int32_t(cp))), out);
  return out;
}

}  // namespace

bool is_whitespace(uint32_t cp) {
  if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F) || cp == 0x85) return true;
  if (cp < 0x80) return false;
  const auto c = utf8proc_category(utf8proc_int32_t(cp));
  return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL || c == UTF8PROC_CATEGORY_ZP;
}

std::string upper(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (uint32_t cp : code_points(s)) {
    if (cp == 0xDF) {  // Python applies SpecialCasing: 'ß'.upper() == 'SS'
      out += "SS";
    } else {
      tokenizer::append_utf8(uint32_t(utf8proc_toupper(utf8proc_int32_t(cp))), out);
    }
  }
  return out;
}
std::string lower(std::string_view s) {
  return map_code_points(s, utf8proc_tolower);
}

std::string title(std::string_view s) {
  std::string out;
  bool previous_cased = false;
  for (uint32_t cp : code_points(s)) {
    const bool cased = is_cased_letter(cp);
    if (cp == 0xDF && !previous_cased) {
      out += "Ss";  // SpecialCasing titlecase of 'ß'
    } else {
      const auto c = utf8proc_int32_t(cp);
      tokenizer::append_utf8(uint32_t(previous_cased ? utf8proc_tolower(c) : utf8proc_totitle(c)), out);
    }
    previous_cased = cased;
  }
  return out;
}

std::string capitalize(std::string_view s) {
  std::vector<uint32_t> cps = code_points(s);
  std::string out;
  for (size_t i = 0; i < cps.size(); ++i) {
    const auto c = utf8proc_int32_t(cps[i]);
    tokenizer::append_utf8(uint32_t(i == 0 ? utf8proc_totitle(c) : utf8proc_tolower(c)), out);
  }
  return out;
}

std::string strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right) {
  const std::vector<uint32_t> cps = code_points(s);
  std::vector<uint32_t> set;
  if (chars) set = code_points(*chars);
  auto strippable = [&](uint32_t cp) {
    return chars ? std::find(set.begin(), set.end(), cp) != set.end() : is_whitespace(cp);
  };
  size_t begin = 0, end = cps.size();
  if (left) {
    while (begin < end && strippable(cps[begin])) ++begin;
  }
  if (right) {
    while (end > begin && strippable(cps[end - 1])) --end;
  }
  return from_code_points(cps, begin, end);
}

std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit,
                               bool from_right) {
  std::vector<std::string> parts;
  if (sep) {
    if (!from_right) {
      size_t start = 0;
      while (maxsplit < 0 || int64_t(parts.size()) < maxsplit) {
        const size_t at = s.find(*sep, start);
        if (at == std::string_view::npos) break;
        parts.emplace_back(s.substr(start, at - start));
        start = at + sep->size();
      }
      parts.emplace_back(s.substr(start));
      return parts;
    }
    size_t end = s.size();
    while (maxsplit < 0 || int64_t(parts.size()) < maxsplit) {
      if (end < sep->size()) break;
      const size_t at = s.rfind(*sep, end - sep->size());
      if (at == std::string_view::npos) break;
      parts.emplace_back(s.substr(at + sep->size(), end - at - sep->size()));
      end = at;
    }
    parts.emplace_back(s.substr(0, end));
    std::reverse(parts.begin(), parts.end());
    return parts;
  }
  // Whitespace split: runs of whitespace separate, no empty strings.
  const std::vector<uint32_t> cps = code_points(s);
  std::vector<std::pair<size_t, size_t>> words;
  for (size_t i = 0; i < cps.size();) {
    while (i < cps.size() && is_whitespace(cps[i])) ++i;
    if (i >= cps.size()) break;
    size_t j = i;
    while (j < cps.size() && !is_whitespace(cps[j])) ++j;
    words.emplace_back(i, j);
    i = j;
  }
  if (maxsplit < 0 || int64_t(words.size()) <= maxsplit + 1) {
    for (auto [b, e] : words) parts.push_back(from_code_points(cps, b, e));
    return parts;
  }
  if (!from_right) {
    for (int64_t k = 0; k < maxsplit; ++k)
      parts.push_back(from_code_points(cps, words[size_t(k)].first, words[size_t(k)].second));
    size_t rest = words[size_t(maxsplit)].first;
    size_t end = cps.size();
    while (end > rest && is_whitespace(cps[end - 1])) --end;
    parts.push_back(from_code_points(cps, rest, end));
    return parts;
  }
  const size_t first_kept = words.size() - size_t(maxsplit);
  size_t begin = 0;
  while (begin < cps.size() && is_whitespace(cps[begin])) ++begin;
  parts.push_back(from_code_points(cps, begin, words[first_kept - 1].second));
  for (size_t k = first_kept; k < words.size(); ++k)
    parts.push_back(from_code_points(cps, words[k].first, words[k].second));
  return parts;
}

std::vector<std::string> splitlines(std::string_view s, bool keepends) {
  const std::vector<uint32_t> cps = code_points(s);
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t i = 0; i < cps.size(); ++i) {
    const uint32_t c = cps[i];
    const bool is_break = c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D || c == 0x1E ||
                          c == 0x85 || c == 0x2028 || c == 0x2029;
    if (!is_break) continue;
    size_t end = i + 1;
    if (c == '\r' && i + 1 < cps.size() && cps[i + 1] == '\n') end = i + 2;
    lines.push_back(from_code_points(cps, start, keepends ? end : i));
    start = end;
    i = end - 1;
  }
  if (start < cps.size()) lines.push_back(from_code_points(cps, start, cps.size()));
  return lines;
}

std::string replace(std::string_view s, std::string_view old, std::string_view repl, int64_t count) {
  std::string out;
  if (old.empty()) {
    // Python inserts `repl` before every character and at the end.
    const std::vector<uint32_t> cps = code_points(s);
    int64_t done = 0;
    for (size_t i = 0; i <= cps.size(); ++i) {
      if (count < 0 || done < count) {
        out += repl;
        ++done;
      }
      if (i < cps.size()) tokenizer::append_utf8(cps[i], out);
    }
    return out;
  }
  size_t start = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    const size_t at = s.find(old, start);
    if (at == std::string_view::npos) break;
    out.append(s.substr(start, at - start));
    out.append(repl);
    start = at + old.size();
    ++done;
  }
  out.append(s.substr(start));
  return out;
}

int64_t find(std::string_view s, std::string_view sub, bool from_right) {
  const size_t at = from_right ? s.rfind(sub) : s.find(sub);
  if (at == std::string_view::npos) return -1;
  return int64_t(code_point_length(s.substr(0, at)));
}

int64_t count(std::string_view s, std::string_view sub) {
  if (sub.empty()) return int64_t(code_point_length(s)) + 1;
  int64_t n = 0;
  for (size_t at = s.find(sub); at != std::string_view::npos; at = s.find(sub, at + sub.size())) ++n;
  return n;
}

std::string center(std::string_view s, int64_t width, bool left_align, bool right_align, std::string_view fill) {
  const int64_t len = int64_t(code_point_length(s));
  if (width <= len) return std::string(s);
  const int64_t pad = width - len;
  int64_t left = 0;
  if (right_align) {
    left = pad;
  } else if (!left_align) {
    left = pad / 2 + (pad & width & 1);  // CPython's centering rule
  }
  std::string out;
  for (int64_t i = 0; i < left; ++i) out += fill;
  out += s;
  for (int64_t i = 0; i < pad - left; ++i) out += fill;
  return out;
}

}  // namespace tessera::chat::jinja::pystr

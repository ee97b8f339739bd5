#include "chat/jinja_lexer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "tokenizer/unicode.h"

namespace tessera::chat::jinja {
namespace {

// jinja2 normalizes "\r\n" and "\r" to "\n" and drops one trailing newline (keep_trailing_newline=False).
std::string normalize_source(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Python's str.rstrip() on ASCII whitespace (template text).
std::string_view rstrip_whitespace(std::string_view s) {
  size_t end = s.size();
  while (end > 0 && is_space(s[end - 1])) --end;
  return s.substr(0, end);
}

class Lexer {
 public:
  explicit Lexer(std::string_view source) : src_(normalize_source(source)) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i) {
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  std::vector<Token> run() {
    while (pos_ < src_.size()) lex_text_and_tag();
    tokens_.push_back({TokenKind::kEnd, "", at(src_.size())});
    return std::move(tokens_);
  }

 private:
  SourcePos at(size_t offset) const {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    const size_t line = size_t(it - line_starts_.begin());
    return {int(line), int(offset - line_starts_[line - 1] + 1)};
  }

  [[noreturn]] void error(const std::string& message, size_t offset) const { fail(message, at(offset)); }

  size_t find_tag_start(size_t from) const {
    for (size_t i = src_.find('{', from); i != std::string::npos; i = src_.find('{', i + 1)) {
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return std::string::npos;
  }

  // Text before a tag, after `-` stripping or lstrip_blocks (for block and comment tags).
  void emit_text(size_t begin, size_t end, char sign, bool lstrip_allowed) {
    std::string_view text(src_.data() + begin, end - begin);
    if (sign == '-') {
      text = rstrip_whitespace(text);
    } else if (sign != '+' && lstrip_allowed) {
      const size_t nl = text.rfind('\n');
      const size_t l_pos = nl == std::string_view::npos ? 0 : nl + 1;
      const bool line_starting = begin == 0 || src_[begin - 1] == '\n';
      if (l_pos > 0 || line_starting) {
        const std::string_view tail = text.substr(l_pos);
        if (!tail.empty() && std::all_of(tail.begin(), tail.end(), is_space)) text = text.substr(0, l_pos);
      }
    }
    if (!text.empty()) tokens_.push_back({TokenKind::kText, std::string(text), at(begin)});
  }

  // After a closing `%}` / `#}`: `-` eats all whitespace, `+` nothing, else one newline (trim_blocks).
  size_t after_block_end(size_t end, char sign) const {
    if (sign == '-') {
      while (end < src_.size() && is_space(src_[end])) ++end;
    } else if (sign != '+' && end < src_.size() && src_[end] == '\n') {
      ++end;
    }
    return end;
  }

  void lex_text_and_tag() {
    const size_t tag = find_tag_start(pos_);
    if (tag == std::string::npos) {
      emit_text(pos_, src_.size(), 0, false);
      pos_ = src_.size();
      return;
    }
    const char type = src_[tag + 1];
    const char sign = tag + 2 < src_.size() && (src_[tag + 2] == '-' || src_[tag + 2] == '+') ? src_[tag + 2] : 0;
    const size_t inner = tag + 2 + (sign ? 1 : 0);
    if (type == '#') {
      emit_text(pos_, tag, sign, true);
      lex_comment(tag, inner);
    } else if (type == '%' && try_raw(tag, inner, sign)) {
      return;
    } else {
      emit_text(pos_, tag, sign == '+' && type == '{' ? 0 : sign, type == '%');
      lex_tag(tag, inner, type == '%');
    }
  }

  void lex_comment(size_t tag, size_t inner) {
    const size_t close = src_.find("#}", inner);
    if (close == std::string::npos) error("missing end of comment tag", tag);
    char end_sign = 0;
    if (close > inner && (src_[close - 1] == '-' || src_[close - 1] == '+')) end_sign = src_[close - 1];
    pos_ = after_block_end(close + 2, end_sign);
  }

  // Matches `{% raw %}` (with optional -/+), emits its body verbatim up to `{% endraw %}`.
  bool try_raw(size_t tag, size_t inner, char sign) {
    size_t p = inner;
    while (p < src_.size() && is_space(src_[p])) ++p;
    if (src_.compare(p, 3, "raw") != 0) return false;
    p += 3;
    while (p < src_.size() && is_space(src_[p])) ++p;
    char open_end_sign = 0;
    if (p < src_.size() && src_[p] == '-') open_end_sign = src_[p++];
    if (src_.compare(p, 2, "%}") != 0) return false;
    emit_text(pos_, tag, sign, true);
    size_t body = p + 2;
    if (open_end_sign == '-') {
      while (body < src_.size() && is_space(src_[body])) ++body;
    }
    for (size_t s = src_.find("{%", body); s != std::string::npos; s = src_.find("{%", s + 1)) {
      size_t q = s + 2;
      char end_sign = 0;
      if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) end_sign = src_[q++];
      while (q < src_.size() && is_space(src_[q])) ++q;
      if (src_.compare(q, 6, "endraw") != 0) continue;
      q += 6;
      while (q < src_.size() && is_space(src_[q])) ++q;
      char close_sign = 0;
      if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) close_sign = src_[q++];
      if (src_.compare(q, 2, "%}") != 0) continue;
      pos_ = body;
      emit_text(body, s, end_sign, true);
      pos_ = after_block_end(q + 2, close_sign);
      return true;
    }
    error("missing end of raw directive", tag);
  }

  void lex_tag(size_t tag, size_t inner, bool block) {
    tokens_.push_back({block ? TokenKind::kBlockBegin : TokenKind::kVariableBegin, "", at(tag)});
    size_t p = inner;
    int depth = 0;  // open brackets: `}}` inside `{{ {'a': {}} }}`-like nesting is not the end
    while (true) {
      while (p < src_.size() && is_space(src_[p])) ++p;
      if (p >= src_.size()) {
        error(block ? "unexpected end of template, expected end of statement block ('%}')"
                    : "unexpected end of template, expected end of print statement ('}}')",
              tag);
      }
      if (depth == 0 && try_tag_end(p, block)) return;
      lex_expression_token(p, depth);
    }
  }

  bool try_tag_end(size_t& p, bool block) {
    const std::string_view close = block ? "%}" : "}}";
    char sign = 0;
    size_t q = p;
    if (src_[q] == '-' || (block && src_[q] == '+')) {
      if (src_.compare(q + 1, 2, close) != 0) return false;
      sign = src_[q++];
    } else if (src_.compare(q, 2, close) != 0) {
      return false;
    }
    tokens_.push_back({block ? TokenKind::kBlockEnd : TokenKind::kVariableEnd, "", at(p)});
    q += 2;
    if (block) {
      pos_ = after_block_end(q, sign);
    } else {
      if (sign == '-') {
        while (q < src_.size() && is_space(src_[q])) ++q;
      }
      pos_ = q;
    }
    return true;
  }

  static bool digit_run(std::string_view s, size_t& p) {  // (\d+_)*\d+
    const size_t start = p;
    while (p < s.size() && (std::isdigit(uint8_t(s[p])) ||
                            (s[p] == '_' && p > start && p + 1 < s.size() && std::isdigit(uint8_t(s[p + 1]))))) {
      ++p;
    }
    return p > start;
  }

  void lex_number(size_t& p) {
    const size_t start = p;
    digit_run(src_, p);
    bool is_float = false;
    const bool after_dot = start > 0 && src_[start - 1] == '.';
    if (!after_dot && p + 1 < src_.size() && src_[p] == '.' && std::isdigit(uint8_t(src_[p + 1]))) {
      ++p;
      digit_run(src_, p);
      is_float = true;
    }
    if (!after_dot && p < src_.size() && (src_[p] == 'e' || src_[p] == 'E')) {
      size_t q = p + 1;
      if (q < src_.size() && (src_[q] == '+' || src_[q] == '-')) ++q;
      if (digit_run(src_, q)) {
        p = q;
        is_float = true;
      }
    }
    std::string text = src_.substr(start, p - start);
    text.erase(std::remove(text.begin(), text.end(), '_'), text.end());
    tokens_.push_back({is_float ? TokenKind::kFloat : TokenKind::kInteger, text, at(start)});
  }

  void lex_expression_token(size_t& p, int& depth) {
    const char c = src_[p];
    if (std::isdigit(uint8_t(c))) return lex_number(p);
    if (std::isalpha(uint8_t(c)) || c == '_') {
      const size_t start = p;
      while (p < src_.size() && (std::isalnum(uint8_t(src_[p])) || src_[p] == '_')) ++p;
      tokens_.push_back({TokenKind::kName, src_.substr(start, p - start), at(start)});
      return;
    }
    if (c == '\'' || c == '"') return lex_string(p);
    static constexpr std::string_view kTwoChar[] = {"//", "**", "==", "!=", "<=", ">="};
    for (std::string_view op : kTwoChar) {
      if (src_.compare(p, 2, op) == 0) {
        tokens_.push_back({TokenKind::kOperator, std::string(op), at(p)});
        p += 2;
        return;
      }
    }
    if (std::string_view("+-*/%~()[]{}<>=.:|,;").find(c) == std::string_view::npos) {
      error(fmt::format("unexpected char '{}'", c), p);
    }
    if (c == '(' || c == '[' || c == '{') ++depth;
    if ((c == ')' || c == ']' || c == '}') && depth > 0) --depth;
    tokens_.push_back({TokenKind::kOperator, std::string(1, c), at(p)});
    ++p;
  }

  void lex_string(size_t& p) {
    const char quote = src_[p];
    const size_t start = p++;
    std::string value;
    while (true) {
      if (p >= src_.size()) error("unexpected end of string", start);
      const char c = src_[p];
      if (c == quote) break;
      if (c != '\\' || p + 1 >= src_.size()) {
        value += c;
        ++p;
        continue;
      }
      p += unescape(p, value);
    }
    ++p;
    tokens_.push_back({TokenKind::kString, std::move(value), at(start)});
  }

  // Python's unicode-escape decoding of one `\` sequence at src_[p]; returns the bytes consumed.
  size_t unescape(size_t p, std::string& out) const {
    const char e = src_[p + 1];
    switch (e) {
      case '\n': return 2;
      case '\\': out += '\\'; return 2;
      case '\'': out += '\''; return 2;
      case '"': out += '"'; return 2;
      case 'a': out += '\a'; return 2;
      case 'b': out += '\b'; return 2;
      case 'f': out += '\f'; return 2;
      case 'n': out += '\n'; return 2;
      case 'r': out += '\r'; return 2;
      case 't': out += '\t'; return 2;
      case 'v': out += '\v'; return 2;
      default: break;
    }
    if (e >= '0' && e <= '7') {
      size_t n = 1;
      uint32_t cp = 0;
      while (n <= 3 && p + n < src_.size() && src_[p + n] >= '0' && src_[p + n] <= '7') {
        cp = cp * 8 + uint32_t(src_[p + n] - '0');
        ++n;
      }
      tokenizer::append_utf8(cp, out);
      return n;
    }
    const size_t hex_digits = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
    if (hex_digits == 0) {
      out += '\\';  // unknown escapes stay as written
      return 1;
    }
    uint32_t cp = 0;
    for (size_t i = 0; i < hex_digits; ++i) {
      const size_t q = p + 2 + i;
      if (q >= src_.size() || !std::isxdigit(uint8_t(src_[q]))) error("truncated \\x/\\u escape in string", p);
      cp = cp * 16 + uint32_t(std::isdigit(uint8_t(src_[q])) ? src_[q] - '0' : std::tolower(src_[q]) - 'a' + 10);
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) error("invalid code point in string escape", p);
    tokenizer::append_utf8(cp, out);
    return 2 + hex_digits;
  }

  std::string src_;
  std::vector<size_t> line_starts_;
  size_t pos_ = 0;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> tokenize_template(std::string_view source) {
  return Lexer(source).run();
}

}  // namespace tessera::chat::jinja

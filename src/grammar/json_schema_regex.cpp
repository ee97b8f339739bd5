// Regular expressions (JSON Schema `pattern`) as the content of a JSON string.
//
// The grammar produces exactly the strings the expression matches (a subset of what an
// unanchored `pattern` accepts, so every one validates). Characters are written as JSON spells
// them inside a string. Negated classes, `.`, \D, \W and \S are limited to printable ASCII: the
// validator's Unicode-aware classes then agree with ours.
#include <fmt/format.h>

#include <algorithm>

#include "grammar/json_schema_parts.h"
#include "grammar/utf8.h"

namespace tessera::grammar::json_schema {
namespace {

using Ranges = std::vector<CodeRange>;

Ranges normalized(Ranges r) {
  std::sort(r.begin(), r.end(), [](CodeRange a, CodeRange b) { return a.first < b.first; });
  Ranges out;
  for (CodeRange x : r) {
    if (!out.empty() && x.first <= out.back().last + 1) {
      out.back().last = std::max(out.back().last, x.last);
    } else {
      out.push_back(x);
    }
  }
  return out;
}

// Complement within printable ASCII (see the file comment).
Ranges ascii_complement(const Ranges& set) {
  Ranges out;
  uint32_t next = 0x20;
  for (CodeRange r : normalized(set)) {
    if (r.last < 0x20) continue;
    if (r.first > 0x7E) break;
    if (r.first > next) out.push_back({next, r.first - 1});
    next = std::max(next, r.last + 1);
  }
  if (next <= 0x7E) out.push_back({next, 0x7E});
  return out;
}

const Ranges kDigit = {{'0', '9'}};
const Ranges kWord = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
const Ranges kSpace = {{'\t', '\r'}, {' ', ' '}};

std::string class_char(uint32_t cp) {
  if (cp == ']' || cp == '[' || cp == '\\' || cp == '^' || cp == '-' || cp == '"' || cp < 0x20 || cp == 0x7F) {
    return fmt::format("\\x{:02X}", cp);
  }
  std::string s;
  append_utf8(s, cp);
  return s;
}

constexpr uint64_t kNoMax = UINT64_MAX;

uint64_t add_len(uint64_t a, uint64_t b) {
  return (a == kNoMax || b == kNoMax) ? kNoMax : a + b;
}
uint64_t mul_len(uint64_t a, uint64_t n) {
  if (a == 0 || n == 0) return 0;
  return (a == kNoMax || n == kNoMax || a > kNoMax / n) ? kNoMax : a * n;
}

// A regex fragment: its grammar and the fewest / most characters it matches.
struct Piece {
  std::string expr;
  uint64_t min = 0, max = 0;
};

// One element of a sequence: an atom and how often it repeats.
struct Item {
  Piece atom;
  uint64_t lo = 1, hi = 1;  // hi = kNoMax: unbounded

  std::string expr() const {
    if (lo == 1 && hi == 1) return atom.expr;
    if (hi == kNoMax) return fmt::format("({}){{{},}}", atom.expr, lo);
    if (lo == hi) return fmt::format("({}){{{}}}", atom.expr, lo);
    return fmt::format("({}){{{},{}}}", atom.expr, lo, hi);
  }
  uint64_t min() const { return mul_len(atom.min, lo); }
  uint64_t max() const { return mul_len(atom.max, hi); }
};

Piece sequence_piece(const std::vector<Item>& items) {
  Piece p;
  for (const Item& it : items) {
    p.expr += fmt::format("{}{}", p.expr.empty() ? "" : " ", it.expr());
    p.min = add_len(p.min, it.min());
    p.max = add_len(p.max, it.max());
  }
  return p;
}

class RegexParser {
 public:
  explicit RegexParser(std::string_view p) : p_(p) {}

  // The pattern as alternatives of item sequences (the top level, which lengths may adjust).
  Result<std::vector<std::vector<Item>>> run() {
    std::vector<std::vector<Item>> alts;
    while (true) {
      Result<std::vector<Item>> s = sequence(0);
      if (!s.ok()) return s.status();
      alts.push_back(std::move(*s));
      if (peek() != '|') break;
      ++i_;
    }
    if (i_ < p_.size()) return err("unbalanced ')'");
    return alts;
  }

 private:
  Status err(const std::string& what) const {
    return Status::error(fmt::format("pattern '{}': {} at offset {}", p_, what, i_));
  }
  bool end() const { return i_ >= p_.size(); }
  char peek() const { return end() ? '\0' : p_[i_]; }

  Result<Piece> alternation(int depth) {
    if (depth > 64) return err("groups nested too deeply");
    std::vector<Piece> alts;
    while (true) {
      Result<std::vector<Item>> s = sequence(depth);
      if (!s.ok()) return s.status();
      alts.push_back(sequence_piece(*s));
      if (peek() != '|') break;
      ++i_;
    }
    if (alts.size() == 1) return alts[0];
    Piece out{"(", kNoMax, 0};
    for (size_t k = 0; k < alts.size(); ++k) {
      out.expr += fmt::format("{}{}", k ? " | " : "", alts[k].expr.empty() ? "\"\"" : alts[k].expr);
      out.min = std::min(out.min, alts[k].min);
      out.max = std::max(out.max, alts[k].max);
    }
    out.expr += ")";
    return out;
  }

  Result<std::vector<Item>> sequence(int depth) {
    std::vector<Item> items;
    while (!end() && peek() != '|' && peek() != ')') {
      if (peek() == '^') {
        if (!items.empty()) return err("'^' after the start is not supported");
        ++i_;
        continue;
      }
      if (peek() == '$') {
        ++i_;
        if (!end() && peek() != '|' && peek() != ')') return err("'$' before the end is not supported");
        continue;
      }
      Result<Piece> a = atom(depth);
      if (!a.ok()) return a.status();
      Item item{std::move(*a)};
      if (Status q = quantifier(item); !q.ok()) return q;
      items.push_back(std::move(item));
    }
    return items;
  }

  Status quantifier(Item& item) {
    const char c = peek();
    if (c == '*' || c == '+' || c == '?') {
      item.lo = c == '+' ? 1 : 0;
      item.hi = c == '?' ? 1 : kNoMax;
      ++i_;
    } else if (c == '{' && i_ + 1 < p_.size() && std::isdigit(static_cast<unsigned char>(p_[i_ + 1]))) {
      const size_t close = p_.find('}', i_);
      if (close == std::string_view::npos) return err("unterminated '{'");
      const std::string_view body = p_.substr(i_ + 1, close - i_ - 1);
      for (char d : body) {
        if (!std::isdigit(static_cast<unsigned char>(d)) && d != ',') return err("malformed repetition");
      }
      const size_t comma = body.find(',');
      const std::string lo(body.substr(0, comma));
      const std::string hi = comma == std::string_view::npos ? lo : std::string(body.substr(comma + 1));
      if (lo.size() > 6 || hi.size() > 6) return err("repetition count too large");
      item.lo = std::stoull(lo);
      item.hi = hi.empty() ? kNoMax : std::stoull(hi);
      if (item.hi < item.lo) return err("repetition with max below min");
      i_ = close + 1;
    } else {
      return {};
    }
    if (peek() == '?' || peek() == '+') ++i_;  // lazy / possessive: same language
    return {};
  }

  Result<Piece> atom(int depth) {
    const char c = peek();
    if (c == '(') {
      ++i_;
      if (peek() == '?') {
        if (p_.substr(i_, 2) == "?:") {
          i_ += 2;
        } else if ((p_.substr(i_, 2) == "?<" && i_ + 2 < p_.size() && p_[i_ + 2] != '=' && p_[i_ + 2] != '!') ||
                   p_.substr(i_, 3) == "?P<") {
          const size_t close = p_.find('>', i_);
          if (close == std::string_view::npos) return err("unterminated group name");
          i_ = close + 1;
        } else {
          return err("lookarounds and inline flags '(?...' are not supported");
        }
      }
      Result<Piece> inner = alternation(depth + 1);
      if (!inner.ok()) return inner;
      if (peek() != ')') return err("missing ')'");
      ++i_;
      inner->expr = fmt::format("({})", inner->expr.empty() ? std::string("\"\"") : inner->expr);
      return inner;
    }
    Result<std::string> chars = Status::error("unset");
    if (c == '[') {
      chars = char_class();
    } else if (c == '.') {
      ++i_;
      chars = json_string_chars(ascii_complement({{'\n', '\n'}}));
    } else if (c == '*' || c == '+' || c == '?') {
      return err(fmt::format("nothing to repeat before '{}'", c));
    } else {
      Result<Ranges> r = single(false);
      if (!r.ok()) return r.status();
      chars = json_string_chars(*r);
    }
    if (!chars.ok()) return chars.status();
    return Piece{*chars, 1, 1};
  }

  // One literal character or escape (in a class when `in_class`), as a set.
  Result<Ranges> single(bool in_class) {
    if (peek() == '\\') {
      ++i_;
      if (end()) return err("pattern ends with '\\'");
      const char e = p_[i_++];
      switch (e) {
        case 'd': return kDigit;
        case 'w': return kWord;
        case 's': return kSpace;
        case 'D': return ascii_complement(kDigit);
        case 'W': return ascii_complement(kWord);
        case 'S': return ascii_complement(kSpace);
        case 'n': return Ranges{{'\n', '\n'}};
        case 't': return Ranges{{'\t', '\t'}};
        case 'r': return Ranges{{'\r', '\r'}};
        case 'f': return Ranges{{'\f', '\f'}};
        case 'v': return Ranges{{'\v', '\v'}};
        case '0': return Ranges{{0, 0}};
        case 'x':
        case 'u': {
          const size_t n = e == 'x' ? 2 : 4;
          if (i_ + n > p_.size()) return err("truncated escape");
          uint32_t v = 0;
          for (size_t k = 0; k < n; ++k) {
            const char h = p_[i_ + k];
            if (!std::isxdigit(static_cast<unsigned char>(h))) return err("bad hex escape");
            v = v * 16 + static_cast<uint32_t>(
                             std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
          }
          i_ += n;
          return Ranges{{v, v}};
        }
        case 'b':
          if (in_class) return Ranges{{8, 8}};
          return err("word boundary '\\b' is not supported");
        case 'B': return err("'\\B' is not supported");
        case 'p':
        case 'P': return err("Unicode property classes '\\p{...}' are not supported");
        case 'k': return err("backreferences are not supported");
        default:
          if (std::isdigit(static_cast<unsigned char>(e))) return err("backreferences are not supported");
          if (std::isalpha(static_cast<unsigned char>(e))) return err(fmt::format("unknown escape '\\{}'", e));
          return Ranges{{static_cast<uint32_t>(static_cast<unsigned char>(e)),
                         static_cast<uint32_t>(static_cast<unsigned char>(e))}};
      }
    }
    uint32_t cp = 0;
    const size_t n = decode_utf8(p_.substr(i_), cp);
    if (n == 0) return err("invalid UTF-8");
    i_ += n;
    return Ranges{{cp, cp}};
  }

  Result<std::string> char_class() {
    ++i_;  // '['
    bool negated = false;
    if (peek() == '^') {
      negated = true;
      ++i_;
    }
    Ranges set;
    bool first = true;
    while (first || peek() != ']') {
      if (end()) return err("unterminated '['");
      if (p_.substr(i_, 2) == "[:") return err("POSIX classes '[:...:]' are not supported");
      first = false;
      const bool escaped = peek() == '\\';
      Result<Ranges> a = single(true);
      if (!a.ok()) return a.status();
      if (!escaped || a->size() == 1) {
        if (peek() == '-' && i_ + 1 < p_.size() && p_[i_ + 1] != ']' && a->size() == 1 &&
            (*a)[0].first == (*a)[0].last) {
          ++i_;
          Result<Ranges> b = single(true);
          if (!b.ok()) return b.status();
          if (b->size() != 1 || (*b)[0].first != (*b)[0].last || (*b)[0].first < (*a)[0].first)
            return err("bad range in class");
          set.push_back({(*a)[0].first, (*b)[0].first});
          continue;
        }
      }
      set.insert(set.end(), a->begin(), a->end());
    }
    ++i_;  // ']'
    return json_string_chars(negated ? ascii_complement(set) : normalized(set));
  }

  std::string_view p_;
  size_t i_ = 0;
};

}  // namespace

Result<std::string> json_string_chars(const std::vector<CodeRange>& input) {
  const Ranges set = normalized(input);
  std::vector<std::string> alts;
  std::string cls;
  auto contains = [&](uint32_t cp) {
    return std::any_of(set.begin(), set.end(), [&](CodeRange r) { return r.first <= cp && cp <= r.last; });
  };
  // Plain characters: everything but controls, '"' and '\\' (and surrogates, not characters).
  for (CodeRange r : set) {
    const CodeRange pieces[] = {{r.first, std::min(r.last, 0xD7FFu)}, {std::max(r.first, 0xE000u), r.last}};
    for (CodeRange p : pieces) {
      if (p.first > p.last) continue;
      uint32_t a = std::max(p.first, 0x20u);
      const uint32_t b = p.last;
      while (a <= b) {
        if (a == '"' || a == '\\') {
          ++a;
          continue;
        }
        uint32_t stop = b;
        if (a < '"' && stop >= '"') stop = '"' - 1;
        if (a < '\\' && stop >= '\\') stop = '\\' - 1;
        cls += class_char(a);
        if (stop > a) {
          cls += '-';
          cls += class_char(stop);
        }
        a = stop + 1;
      }
    }
  }
  if (!cls.empty()) alts.push_back(fmt::format("[{}]", cls));
  if (contains('"')) alts.push_back(R"("\\\"")");
  if (contains('\\')) alts.push_back(R"("\\\\")");
  for (uint32_t c = 0; c < 0x20; ++c) {
    if (!contains(c)) continue;
    switch (c) {
      case '\n': alts.push_back(R"("\\n")"); break;
      case '\t': alts.push_back(R"("\\t")"); break;
      case '\r': alts.push_back(R"("\\r")"); break;
      case '\b': alts.push_back(R"("\\b")"); break;
      case '\f': alts.push_back(R"("\\f")"); break;
      default: alts.push_back(fmt::format(R"("\\u{:04x}")", c));
    }
  }
  if (alts.empty()) return Status::error("character set is empty");
  if (alts.size() == 1) return alts[0];
  std::string out = "(";
  for (size_t k = 0; k < alts.size(); ++k) out += fmt::format("{}{}", k ? " | " : "", alts[k]);
  return out + ")";
}

namespace {

// Adjusts the repetition counts of one top-level sequence so that its length lies in [lo, hi]:
// counts of single-width atoms are raised (minimum) or capped (maximum). False when that
// cannot be done by counts alone.
bool fit_lengths(std::vector<Item>& items, uint64_t lo, uint64_t hi) {
  uint64_t min = 0, max = 0;
  for (const Item& it : items) {
    min = add_len(min, it.min());
    max = add_len(max, it.max());
  }
  auto adjustable = [](const Item& it) { return it.atom.min == 1 && it.atom.max == 1; };
  for (Item& it : items) {  // raise minimums
    if (min >= lo) break;
    if (!adjustable(it) || it.lo == it.hi) continue;
    const uint64_t add = std::min(lo - min, it.hi == kNoMax ? lo - min : it.hi - it.lo);
    it.lo += add;
    min += add;
  }
  if (min < lo || min > hi) return false;
  if (max <= hi) return true;
  uint64_t budget = hi - min;  // characters beyond the minimum, shared out in order
  for (Item& it : items) {
    if (it.min() == it.max()) continue;
    if (!adjustable(it)) return false;
    const uint64_t extra = std::min(budget, it.hi == kNoMax ? budget : it.hi - it.lo);
    it.hi = it.lo + extra;
    budget -= extra;
  }
  return true;
}

}  // namespace

Result<std::string> regex_to_gbnf(std::string_view pattern, std::optional<uint64_t> min_length,
                                  std::optional<uint64_t> max_length) {
  Result<std::vector<std::vector<Item>>> alts = RegexParser(pattern).run();
  if (!alts.ok()) return alts.status();
  if (alts->size() == 1 && (*alts)[0].size() == 1) {
    // ^(x)$: the group's inside is the sequence (so its counts can be adjusted)
    std::string_view inner = pattern;
    if (!inner.empty() && inner.front() == '^') inner.remove_prefix(1);
    if (!inner.empty() && inner.back() == '$') inner.remove_suffix(1);
    if (inner.size() > 2 && inner.front() == '(' && inner.back() == ')' && inner[1] != '?' && (*alts)[0][0].lo == 1 &&
        (*alts)[0][0].hi == 1) {
      Result<std::vector<std::vector<Item>>> unwrapped = RegexParser(inner.substr(1, inner.size() - 2)).run();
      if (unwrapped.ok()) alts = std::move(unwrapped);
    }
  }
  std::vector<std::string> exprs;
  for (std::vector<Item>& seq : *alts) {
    if ((min_length || max_length) && !fit_lengths(seq, min_length.value_or(0), max_length.value_or(kNoMax))) {
      continue;  // this alternative cannot meet the lengths: left out
    }
    const Piece p = sequence_piece(seq);
    exprs.push_back(p.expr.empty() ? "\"\"" : p.expr);
  }
  if (exprs.empty()) {
    return Status::error(fmt::format("pattern '{}' cannot be combined with minLength/maxLength here", pattern));
  }
  if (exprs.size() == 1) return exprs[0];
  std::string out = "(";
  for (size_t k = 0; k < exprs.size(); ++k) out += fmt::format("{}{}", k ? " | " : "", exprs[k]);
  return out + ")";
}

}  // namespace tessera::grammar::json_schema

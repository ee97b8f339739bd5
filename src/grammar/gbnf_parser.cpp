// GBNF text -> Grammar: a recursive-descent parser over the text (positions kept for errors), then
// the checks that make matching safe: every referenced rule defined, a start rule, and no left
// recursion (the matcher expands rule references eagerly, so a rule reachable from itself without
// consuming input would never stop expanding).
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>

#include "grammar/grammar.h"
#include "grammar/utf8.h"

namespace tessera::grammar {
namespace {

using Sequence = std::vector<Symbol>;
using Alternatives = std::vector<Sequence>;

constexpr uint32_t kUnbounded = UINT32_MAX;

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

std::vector<CodeRange> normalize(std::vector<CodeRange> ranges, bool negated) {
  std::sort(ranges.begin(), ranges.end(), [](CodeRange a, CodeRange b) { return a.first < b.first; });
  std::vector<CodeRange> merged;
  for (CodeRange r : ranges) {
    if (!merged.empty() && r.first <= merged.back().last + 1) {
      merged.back().last = std::max(merged.back().last, r.last);
    } else {
      merged.push_back(r);
    }
  }
  if (!negated) return merged;
  std::vector<CodeRange> complement;
  uint32_t next = 0;
  for (CodeRange r : merged) {
    if (r.first > next) complement.push_back({next, r.first - 1});
    next = r.last + 1;
  }
  if (next <= kMaxCodePoint) complement.push_back({next, kMaxCodePoint});
  return complement;
}

class Parser {
 public:
  Parser(std::string_view text, const ParseOptions& options) : src_(text), options_(options) {}

  Result<Grammar> run() {
    skip_space(true);
    if (at_end()) return fail(pos_, "empty grammar: expected at least one rule 'name ::= ...'");
    while (!at_end()) {
      if (Status s = parse_rule(); !s.ok()) return s;
      skip_space(true);
    }
    return compile();
  }

 private:
  // ---- lexical helpers ----
  bool at_end() const { return pos_ >= src_.size(); }
  char peek(size_t ahead = 0) const { return pos_ + ahead < src_.size() ? src_[pos_ + ahead] : '\0'; }

  Status fail(size_t at, const std::string& what) const {
    size_t line = 1, column = 1;
    for (size_t i = 0; i < at && i < src_.size(); ++i) {
      if (src_[i] == '\n') {
        ++line;
        column = 1;
      } else if ((static_cast<unsigned char>(src_[i]) & 0xC0) != 0x80) {
        ++column;
      }
    }
    return Status::error(fmt::format("grammar:{}:{}: {}", line, column, what));
  }

  std::string describe_here() const {
    if (at_end()) return "end of input";
    const char c = peek();
    if (c == '\n') return "end of line";
    return fmt::format("'{}'", c);
  }

  // Spaces, tabs and comments; newlines too where the rule may continue on the next line.
  void skip_space(bool newline_ok) {
    while (!at_end()) {
      const char c = peek();
      if (c == ' ' || c == '\t') {
        ++pos_;
      } else if (c == '#') {
        while (!at_end() && peek() != '\n') ++pos_;
      } else if (newline_ok && (c == '\n' || c == '\r')) {
        ++pos_;
      } else {
        break;
      }
    }
  }

  std::string parse_name() {
    const size_t start = pos_;
    while (!at_end() && is_word_char(peek())) ++pos_;
    return std::string(src_.substr(start, pos_ - start));
  }

  Result<uint32_t> parse_hex(int digits) {
    uint32_t value = 0;
    for (int i = 0; i < digits; ++i) {
      const char c = peek();
      int d;
      if (c >= '0' && c <= '9') {
        d = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        d = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        d = c - 'A' + 10;
      } else {
        return fail(pos_, fmt::format("expected {} hex digits in escape, found {}", digits, describe_here()));
      }
      value = value * 16 + static_cast<uint32_t>(d);
      ++pos_;
    }
    if (value > kMaxCodePoint) return fail(pos_, fmt::format("escape value 0x{:X} is beyond U+10FFFF", value));
    return value;
  }

  // One code point of a literal or class, escapes decoded.
  Result<uint32_t> parse_char() {
    if (peek() == '\\') {
      const size_t at = pos_;
      pos_ += 2;
      switch (src_.size() > at + 1 ? src_[at + 1] : '\0') {
        case 'x': return parse_hex(2);
        case 'u': return parse_hex(4);
        case 'U': return parse_hex(8);
        case 'n': return uint32_t{'\n'};
        case 'r': return uint32_t{'\r'};
        case 't': return uint32_t{'\t'};
        case '0': return uint32_t{0};
        case '\\':
        case '"':
        case '\'':
        case '[':
        case ']':
        case '-':
        case '^':
        case '/':
        case '.': return static_cast<uint32_t>(src_[at + 1]);
        default:
          return fail(at, fmt::format("unknown escape '\\{}' (expected one of \\n \\r \\t \\\\ \\\" \\[ \\] "
                                      "\\xHH \\uHHHH \\UHHHHHHHH)",
                                      src_.size() > at + 1 ? std::string(1, src_[at + 1]) : std::string()));
      }
    }
    uint32_t cp = 0;
    const size_t n = decode_utf8(src_.substr(pos_), cp);
    if (n == 0) return fail(pos_, "invalid UTF-8 in grammar text");
    pos_ += n;
    return cp;
  }

  // ---- rules ----
  uint32_t rule_id(const std::string& name, size_t referenced_at) {
    auto [it, inserted] = ids_.try_emplace(name, static_cast<uint32_t>(rules_.size()));
    if (inserted) {
      rules_.emplace_back();
      names_.push_back(name);
      defined_.push_back(false);
      first_reference_.push_back(referenced_at);
    }
    return it->second;
  }

  uint32_t new_helper_rule(const std::string& parent, Alternatives alternatives) {
    const uint32_t id = static_cast<uint32_t>(rules_.size());
    rules_.push_back(std::move(alternatives));
    names_.push_back(fmt::format("{}_{}", parent, id));
    defined_.push_back(true);
    first_reference_.push_back(0);
    return id;
  }

  uint32_t add_class(std::vector<CodeRange> ranges) {
    classes_.push_back(std::move(ranges));
    return static_cast<uint32_t>(classes_.size() - 1);
  }

  uint32_t single_char_class(uint32_t cp) {
    auto [it, inserted] = single_chars_.try_emplace(cp, 0);
    if (inserted) it->second = add_class({{cp, cp}});
    return it->second;
  }

  Status parse_rule() {
    const size_t name_at = pos_;
    const std::string name = parse_name();
    if (name.empty()) return fail(pos_, fmt::format("expected a rule name, found {}", describe_here()));
    skip_space(false);
    if (src_.substr(pos_, 3) != "::=") {
      return fail(pos_, fmt::format("expected '::=' after rule name '{}', found {}", name, describe_here()));
    }
    pos_ += 3;
    skip_space(true);
    const uint32_t id = rule_id(name, name_at);
    if (defined_[id]) return fail(name_at, fmt::format("rule '{}' is defined twice", name));
    defined_[id] = true;
    Result<Alternatives> alternatives = parse_alternatives(name, 0);
    if (!alternatives.ok()) return alternatives.status();
    rules_[id] = std::move(*alternatives);
    skip_space(false);
    if (at_end()) return {};
    if (peek() == '\r') ++pos_;
    if (peek() != '\n') {
      return fail(pos_, fmt::format("expected end of line after rule '{}', found {}", name, describe_here()));
    }
    ++pos_;
    return {};
  }

  Result<Alternatives> parse_alternatives(const std::string& rule, int depth) {
    if (depth > options_.max_nesting) {
      return fail(pos_, fmt::format("groups nested deeper than {} levels", options_.max_nesting));
    }
    Alternatives alternatives;
    while (true) {
      Result<Sequence> seq = parse_sequence(rule, depth);
      if (!seq.ok()) return seq.status();
      alternatives.push_back(std::move(*seq));
      if (peek() != '|') break;
      ++pos_;
      skip_space(true);
    }
    return alternatives;
  }

  Result<Sequence> parse_sequence(const std::string& rule, int depth) {
    Sequence seq;
    size_t last_start = SIZE_MAX;  // where the last element (what a quantifier repeats) begins
    while (!at_end()) {
      const char c = peek();
      const size_t element_start = seq.size();
      if (c == '"') {
        const size_t open = pos_++;
        while (peek() != '"') {
          if (at_end() || peek() == '\n') return fail(open, "unterminated string literal (missing closing '\"')");
          Result<uint32_t> cp = parse_char();
          if (!cp.ok()) return cp.status();
          seq.push_back({SymbolKind::kChars, single_char_class(*cp)});
        }
        ++pos_;
        if (seq.size() == element_start) {
          last_start = SIZE_MAX;  // "" matches nothing; a quantifier after it has nothing to repeat
          skip_space(depth > 0);
          continue;
        }
      } else if (c == '[') {
        Result<uint32_t> cls = parse_class();
        if (!cls.ok()) return cls.status();
        seq.push_back({SymbolKind::kChars, *cls});
      } else if (c == '.') {
        ++pos_;
        if (!any_char_) any_char_ = add_class({{0, kMaxCodePoint}});
        seq.push_back({SymbolKind::kChars, *any_char_});
      } else if (c == '(') {
        const size_t open = pos_++;
        skip_space(true);
        Result<Alternatives> group = parse_alternatives(rule, depth + 1);
        if (!group.ok()) return group.status();
        if (peek() != ')') {
          return fail(pos_, fmt::format("expected ')' to close the group opened at {}, found {}", position_text(open),
                                        describe_here()));
        }
        ++pos_;
        seq.push_back({SymbolKind::kRule, new_helper_rule(rule, std::move(*group))});
      } else if (c == '<' || (c == '!' && peek(1) == '<')) {
        Result<uint32_t> token = parse_token_ref();
        if (!token.ok()) return token.status();
        seq.push_back({SymbolKind::kToken, *token});
      } else if (is_word_char(c)) {
        const size_t at = pos_;
        seq.push_back({SymbolKind::kRule, rule_id(parse_name(), at)});
      } else if (c == '*' || c == '+' || c == '?' || c == '{') {
        if (last_start == SIZE_MAX) return fail(pos_, fmt::format("expected something to repeat before '{}'", c));
        if (Status s = parse_repetition(rule, seq, last_start); !s.ok()) return s;
        last_start = SIZE_MAX;
        skip_space(depth > 0);
        continue;
      } else {
        break;
      }
      last_start = element_start;
      skip_space(depth > 0);
    }
    return seq;
  }

  std::string position_text(size_t at) const {
    const Status s = fail(at, "");
    // "grammar:L:C: " -> "L:C"
    const std::string& m = s.message();
    return m.substr(8, m.size() - 10);
  }

  Result<uint32_t> parse_class() {
    const size_t open = pos_++;
    bool negated = false;
    if (peek() == '^') {
      negated = true;
      ++pos_;
    }
    std::vector<CodeRange> ranges;
    while (peek() != ']') {
      if (at_end() || peek() == '\n') return fail(open, "unterminated character class (missing closing ']')");
      Result<uint32_t> first = parse_char();
      if (!first.ok()) return first.status();
      uint32_t last = *first;
      if (peek() == '-' && peek(1) != ']' && pos_ + 1 < src_.size()) {
        ++pos_;
        const size_t at = pos_;
        Result<uint32_t> end = parse_char();
        if (!end.ok()) return end.status();
        if (*end < *first)
          return fail(at, fmt::format("character range ends (U+{:04X}) before it starts (U+{:04X})", *end, *first));
        last = *end;
      }
      ranges.push_back({*first, last});
    }
    ++pos_;
    return add_class(normalize(std::move(ranges), negated));
  }

  Result<uint32_t> parse_token_ref() {
    TokenRef ref;
    if (peek() == '!') {
      ref.negated = true;
      ++pos_;
    }
    const size_t open = pos_++;
    if (peek() == '[') {
      ++pos_;
      const size_t digits = pos_;
      int64_t id = 0;
      while (peek() >= '0' && peek() <= '9' && id < INT32_MAX) id = id * 10 + (src_[pos_++] - '0');
      if (pos_ == digits) return fail(pos_, fmt::format("expected a token id in '<[id]>', found {}", describe_here()));
      if (id >= INT32_MAX) return fail(digits, "token id too large");
      if (peek() != ']' || peek(1) != '>')
        return fail(pos_, fmt::format("expected ']>' after token id, found {}", describe_here()));
      pos_ += 2;
      ref.id = static_cast<int32_t>(id);
    } else {
      while (peek() != '>') {
        if (at_end() || peek() == '\n') return fail(open, "unterminated token reference (missing closing '>')");
        ++pos_;
      }
      ++pos_;
      ref.text = std::string(src_.substr(open, pos_ - open));
      if (ref.text.size() == 2) return fail(open, "empty token reference '<>'");
    }
    tokens_.push_back(std::move(ref));
    return static_cast<uint32_t>(tokens_.size() - 1);
  }

  Status parse_repetition(const std::string& rule, Sequence& seq, size_t last_start) {
    const size_t at = pos_;
    uint32_t min = 0, max = kUnbounded;
    const char c = src_[pos_++];
    if (c == '+') {
      min = 1;
    } else if (c == '?') {
      max = 1;
    } else if (c == '{') {
      skip_space(false);
      Result<uint32_t> m = parse_count();
      if (!m.ok()) return m.status();
      min = max = *m;
      skip_space(false);
      if (peek() == ',') {
        ++pos_;
        skip_space(false);
        max = kUnbounded;
        if (peek() != '}') {
          Result<uint32_t> n = parse_count();
          if (!n.ok()) return n.status();
          max = *n;
          skip_space(false);
        }
      }
      if (peek() != '}')
        return fail(pos_, fmt::format("expected '}}' to close the repetition, found {}", describe_here()));
      ++pos_;
      if (max < min) return fail(at, fmt::format("repetition {{{},{}}} has max below min", min, max));
    }
    const Sequence element(seq.begin() + static_cast<ptrdiff_t>(last_start), seq.end());
    seq.resize(last_start);
    const uint64_t copies = static_cast<uint64_t>(min) + (max == kUnbounded ? 1 : max - min);
    symbol_budget_ += copies * (element.size() + 2);
    if (symbol_budget_ > options_.max_symbols) {
      return fail(at, fmt::format("repetitions expand beyond {} symbols", options_.max_symbols));
    }
    for (uint32_t i = 0; i < min; ++i) seq.insert(seq.end(), element.begin(), element.end());
    if (max == kUnbounded) {
      // r ::= element r | (empty): right recursion, which the matcher runs in constant stack depth
      const uint32_t id = new_helper_rule(rule, {});
      Sequence loop = element;
      loop.push_back({SymbolKind::kRule, id});
      rules_[id] = {loop, {}};
      seq.push_back({SymbolKind::kRule, id});
    } else if (max > min) {
      // x{0,3} -> r3 with r1 ::= x | ; r2 ::= x r1 | ; r3 ::= x r2 |
      uint32_t inner = new_helper_rule(rule, {element, {}});
      for (uint32_t i = 1; i < max - min; ++i) {
        Sequence next = element;
        next.push_back({SymbolKind::kRule, inner});
        inner = new_helper_rule(rule, {next, {}});
      }
      seq.push_back({SymbolKind::kRule, inner});
    }
    return {};
  }

  Result<uint32_t> parse_count() {
    const size_t start = pos_;
    uint64_t value = 0;
    while (peek() >= '0' && peek() <= '9') {
      value = value * 10 + static_cast<uint64_t>(src_[pos_++] - '0');
      if (value > options_.max_repetition) {
        return fail(start, fmt::format("repetition count above the limit of {}", options_.max_repetition));
      }
    }
    if (pos_ == start) return fail(pos_, fmt::format("expected a number in the repetition, found {}", describe_here()));
    return static_cast<uint32_t>(value);
  }

  // ---- checks and flattening ----
  Result<Grammar> compile() {
    for (size_t i = 0; i < rules_.size(); ++i) {
      if (!defined_[i]) return fail(first_reference_[i], fmt::format("undefined rule '{}'", names_[i]));
    }
    auto root = ids_.find(std::string(options_.root));
    if (root == ids_.end()) {
      return Status::error(fmt::format("grammar: no rule named '{}' (the start rule)", options_.root));
    }
    if (Status s = check_left_recursion(); !s.ok()) return s;
    Grammar g;
    g.root = root->second;
    g.rule_names = names_;
    g.classes = std::move(classes_);
    g.tokens = std::move(tokens_);
    g.rules.resize(rules_.size());
    for (size_t r = 0; r < rules_.size(); ++r) {
      for (const Sequence& alt : rules_[r]) {
        g.rules[r].push_back(static_cast<uint32_t>(g.symbols.size()));
        g.symbols.insert(g.symbols.end(), alt.begin(), alt.end());
        g.symbols.push_back({SymbolKind::kEnd, 0});
      }
    }
    return g;
  }

  Status check_left_recursion() {
    const size_t n = rules_.size();
    std::vector<bool> nullable(n, false);
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t r = 0; r < n; ++r) {
        if (nullable[r]) continue;
        for (const Sequence& alt : rules_[r]) {
          const bool all = std::all_of(alt.begin(), alt.end(),
                                       [&](Symbol s) { return s.kind == SymbolKind::kRule && nullable[s.arg]; });
          if (all) {
            nullable[r] = changed = true;
            break;
          }
        }
      }
    }
    // Edges r -> s where s can come first in r (after nullable rules only).
    std::vector<std::vector<uint32_t>> left(n);
    for (size_t r = 0; r < n; ++r) {
      for (const Sequence& alt : rules_[r]) {
        for (Symbol s : alt) {
          if (s.kind != SymbolKind::kRule) break;
          left[r].push_back(s.arg);
          if (!nullable[s.arg]) break;
        }
      }
    }
    std::vector<uint8_t> color(n, 0);  // 0 new, 1 on the path, 2 done
    std::vector<uint32_t> path;
    std::optional<Status> found;
    auto visit = [&](auto&& self, uint32_t r) -> void {
      color[r] = 1;
      path.push_back(r);
      for (uint32_t s : left[r]) {
        if (found) return;
        if (color[s] == 1) {
          std::string chain;
          auto from = std::find(path.begin(), path.end(), s);
          for (auto it = from; it != path.end(); ++it) chain += user_name(*it) + " -> ";
          chain += user_name(s);
          found = fail(first_reference_[s] ? first_reference_[s] : 0,
                       fmt::format("left recursion: rule '{}' can reach itself without consuming input ({}); "
                                   "rewrite it right-recursively or with a repetition",
                                   user_name(s), chain));
          return;
        }
        if (color[s] == 0) self(self, s);
      }
      path.pop_back();
      color[r] = 2;
    };
    for (uint32_t r = 0; r < n && !found; ++r) {
      if (color[r] == 0) visit(visit, r);
    }
    return found ? *found : Status();
  }

  // Helper rules are named parent_N; errors show them as "a group or repetition in parent".
  std::string user_name(uint32_t r) const {
    if (ids_.count(names_[r])) return names_[r];
    return fmt::format("(group/repetition in {})", names_[r].substr(0, names_[r].rfind('_')));
  }

  std::string_view src_;
  const ParseOptions& options_;
  size_t pos_ = 0;
  std::map<std::string, uint32_t> ids_;
  std::vector<Alternatives> rules_;
  std::vector<std::string> names_;
  std::vector<bool> defined_;
  std::vector<size_t> first_reference_;
  std::vector<std::vector<CodeRange>> classes_;
  std::map<uint32_t, uint32_t> single_chars_;
  std::optional<uint32_t> any_char_;
  std::vector<TokenRef> tokens_;
  uint64_t symbol_budget_ = 0;
};

}  // namespace

Result<Grammar> parse_gbnf(std::string_view text, const ParseOptions& options) {
  return Parser(text, options).run();
}

std::string gbnf_literal(std::string_view utf8) {
  std::string out = "\"";
  for (unsigned char c : utf8) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += fmt::format("\\x{:02X}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

}  // namespace tessera::grammar

// A compiled GBNF grammar: the rules flattened into one symbol array that the matcher walks.
//
//   Result<Grammar> g = parse_gbnf(R"(root ::= "yes" | "no")");
//
// Syntax (llama.cpp's GBNF): `name ::= alternatives`, `|`, `( ... )`, `*` `+` `?` `{m}` `{m,}`
// `{m,n}`, string literals with escapes (\n \r \t \\ \" \xHH \uHHHH \UHHHHHHHH), character classes
// `[a-z0-9]` / `[^...]`, `.` (any code point), `# comments`, rules continued on the next line after
// `::=`, `|` or inside parentheses, token references `<[id]>` / `<token-text>` and their negation
// `!<[id]>`. Repetitions are expanded into helper rules as llama.cpp does (x* -> r ::= x r | ;
// x{2,4} -> x x (x x?)?), so the matcher only sees sequences, alternatives and rule references.
//
// Ownership: a Grammar is an immutable value once compiled; share it (read-only) across threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/status.h"

namespace tessera::grammar {

// An inclusive range of Unicode code points.
struct CodeRange {
  uint32_t first;
  uint32_t last;
};

constexpr uint32_t kMaxCodePoint = 0x10FFFF;

enum class SymbolKind : uint8_t {
  kEnd,    // ends an alternative
  kChars,  // one code point in classes[arg]
  kRule,   // a reference to rules[arg]
  kToken,  // one whole token, tokens[arg]
};

struct Symbol {
  SymbolKind kind;
  uint32_t arg;
};

// `<[id]>`, `<text>` and their negations `!<...>`: the text is resolved against a vocabulary when
// a constraint is built (the grammar itself knows no vocabulary).
struct TokenRef {
  int32_t id = -1;   // -1 when given as text
  std::string text;  // the `<...>` text (with the angle brackets) when id < 0
  bool negated = false;
};

struct Grammar {
  std::vector<Symbol> symbols;                  // every alternative of every rule, each ended by kEnd
  std::vector<std::vector<uint32_t>> rules;     // [n_rules][n_alternatives] -> start index into symbols
  std::vector<std::string> rule_names;          // [n_rules]; helper rules are named parent_N
  std::vector<std::vector<CodeRange>> classes;  // sorted, disjoint, non-adjacent ranges
  std::vector<TokenRef> tokens;                 // token references
  uint32_t root = 0;                            // index of the start rule
};

struct ParseOptions {
  std::string_view root = "root";     // the start rule
  int max_nesting = 128;              // parentheses deeper than this are an error
  size_t max_symbols = 4'000'000;     // expansion of repetitions beyond this is an error
  uint32_t max_repetition = 100'000;  // {m,n} with m or n above this is an error
};

// Parses and compiles GBNF text. Errors name the line and column and what was expected
// ("grammar:3:14: expected '::=' after rule name 'value'"), undefined rules, a missing start
// rule, left recursion and empty grammars.
Result<Grammar> parse_gbnf(std::string_view text, const ParseOptions& options = {});

// `"text"` as a GBNF string literal, escaping quotes, backslashes and control characters.
std::string gbnf_literal(std::string_view utf8);

}  // namespace tessera::grammar

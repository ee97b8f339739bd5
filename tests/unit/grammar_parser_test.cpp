// GBNF parser: accepted syntax, exact error positions, and the shared test grammars.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "grammar/grammar.h"
#include "grammar/matcher.h"
#include "grammar_test_util.h"

namespace tessera::grammar {
namespace {

using testing::accepts;
using testing::compile;

std::string parse_error(std::string_view text) {
  Result<Grammar> g = parse_gbnf(text);
  return g.ok() ? std::string("<parsed>") : g.error();
}

TEST(GrammarParser, ErrorsNameLineColumnAndWhatWasExpected) {
  EXPECT_EQ(parse_error("root ::= foo"), "grammar:1:10: undefined rule 'foo'");
  EXPECT_EQ(parse_error("root \"a\""), "grammar:1:6: expected '::=' after rule name 'root', found '\"'");
  EXPECT_EQ(parse_error("root ::= (\"a\""),
            "grammar:1:14: expected ')' to close the group opened at 1:10, found end of input");
  EXPECT_EQ(parse_error("root ::= \"abc"), "grammar:1:10: unterminated string literal (missing closing '\"')");
  EXPECT_EQ(parse_error("root ::= [abc"), "grammar:1:10: unterminated character class (missing closing ']')");
  EXPECT_EQ(parse_error("root ::= \"a\\q\""),
            "grammar:1:12: unknown escape '\\q' (expected one of \\n \\r \\t \\\\ \\\" \\[ \\] \\xHH \\uHHHH "
            "\\UHHHHHHHH)");
  EXPECT_EQ(parse_error("root ::= \"\\x4\""), "grammar:1:14: expected 2 hex digits in escape, found '\"'");
  EXPECT_EQ(parse_error("root ::= *"), "grammar:1:10: expected something to repeat before '*'");
  EXPECT_EQ(parse_error("root ::= \"a\"{3,2}"), "grammar:1:13: repetition {3,2} has max below min");
  EXPECT_EQ(parse_error("root ::= \"a\"{2"), "grammar:1:15: expected '}' to close the repetition, found end of input");
  EXPECT_EQ(parse_error("root ::= \"a\"\n  \"b\""), "grammar:2:3: expected a rule name, found '\"'");
  EXPECT_EQ(parse_error("root ::= \"a\" )"), "grammar:1:14: expected end of line after rule 'root', found ')'");
  EXPECT_EQ(parse_error("root ::= [z-a]"), "grammar:1:13: character range ends (U+0061) before it starts (U+007A)");
  EXPECT_EQ(parse_error("root ::= <[12"), "grammar:1:14: expected ']>' after token id, found end of input");
  EXPECT_EQ(parse_error("root ::= \"a\"\nroot ::= \"b\""), "grammar:2:1: rule 'root' is defined twice");
}

TEST(GrammarParser, EmptyGrammarAndMissingRootAreErrors) {
  EXPECT_EQ(parse_error(""), "grammar:1:1: empty grammar: expected at least one rule 'name ::= ...'");
  EXPECT_EQ(parse_error("  # only a comment\n\n"),
            "grammar:3:1: empty grammar: expected at least one rule 'name ::= ...'");
  EXPECT_EQ(parse_error("start ::= \"a\""), "grammar: no rule named 'root' (the start rule)");
  ParseOptions options;
  options.root = "start";
  EXPECT_TRUE(parse_gbnf("start ::= \"a\"", options).ok());
}

TEST(GrammarParser, LeftRecursionIsAnError) {
  const std::string direct = parse_error("root ::= root \"a\" | \"b\"");
  EXPECT_NE(direct.find("left recursion: rule 'root' can reach itself without consuming input (root -> root)"),
            std::string::npos)
      << direct;
  const std::string indirect = parse_error("root ::= a\na ::= b? a \"x\" | \"y\"\nb ::= \"z\"");
  EXPECT_NE(indirect.find("left recursion"), std::string::npos) << indirect;
  EXPECT_NE(indirect.find("'a'"), std::string::npos) << indirect;
  // repeating something that matches the empty string never terminates either
  EXPECT_NE(parse_error("root ::= (\"a\"?)*").find("left recursion"), std::string::npos);
  // right recursion is fine
  EXPECT_TRUE(parse_gbnf("root ::= \"a\" root | \"b\"").ok());
}

TEST(GrammarParser, NestingDepthAndRepetitionSizeAreBounded) {
  const std::string deep = "root ::= " + std::string(500, '(') + "\"a\"" + std::string(500, ')');
  EXPECT_NE(parse_error(deep).find("groups nested deeper than 128 levels"), std::string::npos);
  EXPECT_NE(parse_error("root ::= \"a\"{1000000}").find("repetition count above the limit"), std::string::npos);
  EXPECT_NE(
      parse_error("root ::= \"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz\"{99999}").find("expand beyond"),
      std::string::npos);
}

TEST(GrammarParser, EscapesClassesAndCommentsParse) {
  auto g = compile(R"(# a comment
root ::= "\x41\u00e9\U0001F600\n\t\\\"" [^a-z\]] . tail   # trailing comment
tail ::=
  ( "x" |
    "y" )
)");
  ASSERT_TRUE(g);
  Matcher m(g);
  EXPECT_TRUE(accepts(m, "A\u00e9\U0001F600\n\t\\\"#Zx"));
  EXPECT_TRUE(accepts(m, "A\u00e9\U0001F600\n\t\\\"Q\u4e2dy"));
  EXPECT_FALSE(accepts(m, "A\u00e9\U0001F600\n\t\\\"qZx"));  // [^a-z\]] rejects q
  EXPECT_FALSE(accepts(m, "A\u00e9\U0001F600\n\t\\\"]Zx"));  // ... and ]
  EXPECT_FALSE(accepts(m, "A\u00e9\U0001F600\n\t\\\"#Zz"));
}

TEST(GrammarParser, RepetitionOperators) {
  auto g = compile(R"(root ::= "a"{2,4} "b"{3} "c"{1,} "d"* "e"+ "f"? "g"{0,2})");
  ASSERT_TRUE(g);
  Matcher m(g);
  EXPECT_TRUE(accepts(m, "aabbbce"));
  EXPECT_TRUE(accepts(m, "aaaabbbcccdddeeefgg"));
  EXPECT_FALSE(accepts(m, "abbbce"));       // a{2,4}: one a
  EXPECT_FALSE(accepts(m, "aaaaabbbce"));   // five a
  EXPECT_FALSE(accepts(m, "aabbce"));       // b{3}: two b
  EXPECT_FALSE(accepts(m, "aabbbe"));       // c{1,}: no c
  EXPECT_FALSE(accepts(m, "aabbbc"));       // e+: no e
  EXPECT_FALSE(accepts(m, "aabbbceffg"));   // f?: two f
  EXPECT_FALSE(accepts(m, "aabbbcefggg"));  // g{0,2}: three g
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string kGrammars = std::string(TESSERA_FIXTURES_DIR) + "/../../../shared/testdata/grammars/";

struct GrammarSamples {
  const char* file;
  std::vector<std::string> valid;
  std::vector<std::string> invalid;
};

TEST(GrammarParser, SharedGrammarsParseAcceptValidAndRejectInvalidSamples) {
  const std::vector<GrammarSamples> cases = {
      {"json.gbnf",
       {R"({"a": [1, 2.5, -3e5, "x\n\u00e9"], "b": {"c": null, "d": true}})", "{}", "{\n  \"k\": \"v\"\n}"},
       {R"({"a" 1})", R"([1, 2])", R"({"a": 01})", R"({"a": "x)", R"({"a": tru})", R"({"a": 1,})"}},
      {"arithmetic.gbnf", {"1+2= 3\n", "x*(y -2)= z\n(a)= b\n"}, {"1+2=3", "1+= 3\n", "=1\n"}},
      {"c.gbnf",
       {"int main(){return 0;}", "float f(int x){x = x*2;while(x<10){x = x+1;}return x;}"},
       {"int main(){return 0}", "main(){}", "int 1x(){}"}},
      {"chess.gbnf",
       {"1. e4 e5\n2. Nf3 Nc6\n", "1. d4 d5\n2. c4 dxc4\n3. O-O O-O-O\n"},
       {"1. e4 e5\n", "1. e9 e5\n2. Nf3 Nc6\n", "2. e4 e5\n3. d4 d5\n"}},
      {"list.gbnf", {"- milk\n- eggs and \u00e9clairs\n", "- one\n"}, {"", "- \n", "milk\n", "- a\n-b\n"}},
  };
  for (const GrammarSamples& c : cases) {
    SCOPED_TRACE(c.file);
    const std::string text = read_file(kGrammars + c.file);
    ASSERT_FALSE(text.empty()) << kGrammars + c.file;
    auto g = compile(text);
    ASSERT_TRUE(g);
    Matcher m(g);
    for (const std::string& s : c.valid) EXPECT_TRUE(accepts(m, s)) << s;
    for (const std::string& s : c.invalid) EXPECT_FALSE(accepts(m, s)) << s;
  }
}

}  // namespace
}  // namespace tessera::grammar

// Matcher: accept/reject over code points and bytes, partial UTF-8 across steps, repetition
// bounds, token references, and the random-walk sentence generator.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <set>

#include "grammar/grammar.h"
#include "grammar/matcher.h"
#include "grammar/random_walk.h"
#include "grammar/utf8.h"
#include "grammar_test_util.h"

namespace tessera::grammar {
namespace {

using testing::accepts;
using testing::compile;
using testing::is_prefix;

TEST(GrammarMatcher, AcceptsAndRejectsStrings) {
  struct Case {
    const char* grammar;
    std::vector<std::string> yes, no;
  };
  const std::vector<Case> cases = {
      {R"(root ::= "yes" | "no")", {"yes", "no"}, {"", "y", "yesno", "No"}},
      {R"(root ::= [a-c]+ "." [0-9]*)", {"a.", "abcab.0129"}, {".", "ad.", "a.x", "A."}},
      {R"(root ::= list
list ::= "[" ( item ( "," item )* )? "]"
item ::= [0-9]+ | list)",
       {"[]", "[1]", "[1,[2,[]],33]"},
       {"[", "[1,]", "[,1]", "[[1]"}},
      {R"(root ::= . . "!")", {"ab!", "\u00e9\U0001F600!"}, {"a!", "abc!"}},
      {R"(root ::= [^"\\]* "\"")", {"\"", "abc\u4e2d\""}, {"a\\b\"", "abc"}},
      {R"(root ::= "a" | "a" "b" | "a" "b" "c")", {"a", "ab", "abc"}, {"abcd", "b"}},
      {R"(root ::= ( "x" | "" ) "y")", {"y", "xy"}, {"x", "xxy"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.grammar);
    auto g = compile(c.grammar);
    ASSERT_TRUE(g);
    Matcher m(g);
    for (const std::string& s : c.yes) EXPECT_TRUE(accepts(m, s)) << s;
    for (const std::string& s : c.no) EXPECT_FALSE(accepts(m, s)) << s;
  }
}

TEST(GrammarMatcher, RepetitionBoundsAreExact) {
  for (int lo = 0; lo <= 3; ++lo) {
    for (int hi = lo; hi <= 5; ++hi) {
      auto g = compile(fmt::format("root ::= \"x\" [ab]{{{},{}}} \"y\"", lo, hi));
      ASSERT_TRUE(g);
      Matcher m(g);
      for (int n = 0; n <= 7; ++n) {
        const std::string s = fmt::format("x{}y", std::string(static_cast<size_t>(n), n % 2 ? 'a' : 'b'));
        EXPECT_EQ(accepts(m, s), n >= lo && n <= hi) << lo << "," << hi << " n=" << n;
      }
    }
  }
}

TEST(GrammarMatcher, PartialUtf8AcrossSteps) {
  auto g = compile(R"(root ::= "\u00e9" [\u03b1-\u03c9]+ "\U0001F600")");
  ASSERT_TRUE(g);
  Matcher m(g);
  const std::string text = "\u00e9\u03b2\u03b3\U0001F600";
  // any split of the bytes gives the same result, and every prefix is live
  ByteState s{m.initial(), 0, 0, 0};
  for (size_t i = 0; i < text.size(); ++i) {
    s = m.step_byte(s, static_cast<uint8_t>(text[i]));
    ASSERT_FALSE(s.dead()) << "byte " << i;
  }
  EXPECT_EQ(s.need, 0);
  EXPECT_TRUE(m.can_end(s.state));
  EXPECT_TRUE(is_prefix(m, "\xc3"));   // the first byte of é
  EXPECT_FALSE(is_prefix(m, "\xc4"));  // no allowed character starts with C4
}

TEST(GrammarMatcher, PartialUtf8PrunesImpossibleLeadBytes) {
  auto g = compile(R"(root ::= [\u03b1-\u03c9])");  // CE B1 .. CF 89
  ASSERT_TRUE(g);
  Matcher m(g);
  EXPECT_TRUE(is_prefix(m, "\xce"));
  EXPECT_TRUE(is_prefix(m, "\xcf"));
  EXPECT_FALSE(is_prefix(m, "\xcd"));      // no allowed character starts with CD
  EXPECT_FALSE(is_prefix(m, "\xce\x80"));  // U+0380 < alpha
  EXPECT_FALSE(is_prefix(m, "\xcf\x8a"));  // U+03CA > omega
  EXPECT_FALSE(is_prefix(m, "\xe0"));      // no three-byte character allowed
  EXPECT_FALSE(is_prefix(m, "\x80"));      // stray continuation byte
  EXPECT_FALSE(is_prefix(m,
                         "\xce"
                         "a"));  // lead byte followed by ASCII
  EXPECT_TRUE(accepts(m, "\xce\xbb"));
  EXPECT_FALSE(accepts(m, "\xce"));  // incomplete character: not an end
}

TEST(GrammarMatcher, InvalidUtf8IsRejected) {
  auto g = compile("root ::= .*");
  ASSERT_TRUE(g);
  Matcher m(g);
  EXPECT_TRUE(accepts(m, "any text \u4e2d\U0001F600"));
  EXPECT_FALSE(is_prefix(m, "\xc0\x80"));      // overlong NUL
  EXPECT_FALSE(is_prefix(m, "\xed\xa0\x80"));  // surrogate
  EXPECT_FALSE(is_prefix(m, "\xf5"));          // beyond U+10FFFF
}

TEST(GrammarMatcher, TokenReferences) {
  auto g = compile(R"(root ::= <[5]> "a" !<[7]> | <think> "b")");
  ASSERT_TRUE(g);
  ASSERT_EQ(g->tokens.size(), 3u);
  Matcher m(g);
  const std::vector<int32_t> ids = {5, 7, 9};  // <think> is token 9 in this vocabulary
  EXPECT_EQ(m.token_tops(m.initial()).size(), 2u);
  StateId s = m.advance_token(m.initial(), 5, ids);
  ASSERT_NE(s, kDeadState);
  s = m.advance(s, 'a');
  ASSERT_NE(s, kDeadState);
  EXPECT_EQ(m.advance_token(s, 7, ids), kDeadState);
  const StateId end = m.advance_token(s, 8, ids);
  ASSERT_NE(end, kDeadState);
  EXPECT_TRUE(m.only_end(end));
  const StateId t = m.advance_token(m.initial(), 9, ids);
  ASSERT_NE(t, kDeadState);
  EXPECT_TRUE(m.can_end(m.advance(t, 'b')));
  EXPECT_EQ(m.advance_token(m.initial(), 6, ids), kDeadState);
}

TEST(GrammarMatcher, StatesAreSharedAcrossRepetitions) {
  auto g = compile(R"(root ::= "\"" [a-z]* "\"")");
  ASSERT_TRUE(g);
  Matcher m(g);
  StateId s = m.advance(m.initial(), '"');
  const StateId inside = m.advance(s, 'a');
  EXPECT_EQ(m.advance(inside, 'b'), inside);  // tail recursion: the same state each time
  EXPECT_EQ(m.advance(m.advance(inside, 'z'), 'q'), inside);
}

TEST(GrammarMatcher, RandomSentencesAreAcceptedAndVaried) {
  auto g = compile(R"(root ::= obj
obj ::= "{" ( pair ( "," pair )* )? "}"
pair ::= "\"" [a-z\u00e0-\u00ff]{1,5} "\":" ( [0-9]+ | obj | "\"" [^"\\]* "\"" ))");
  ASSERT_TRUE(g);
  Matcher m(g);
  std::set<std::string> seen;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    RandomWalkOptions options;
    options.seed = seed;
    Result<std::string> s = random_sentence(m, options);
    ASSERT_TRUE(s.ok()) << s.error();
    EXPECT_TRUE(accepts(m, *s)) << *s;
    seen.insert(*s);
  }
  EXPECT_GT(seen.size(), 20u);
}

TEST(GrammarMatcher, RandomWalkReportsGrammarsThatNeverEnd) {
  auto g = compile(R"(root ::= "a" root)");
  ASSERT_TRUE(g);
  Matcher m(g);
  RandomWalkOptions options;
  options.max_length = 100;
  EXPECT_FALSE(random_sentence(m, options).ok());
}

}  // namespace
}  // namespace tessera::grammar

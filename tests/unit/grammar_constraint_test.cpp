// GrammarConstraint: the sampler-facing adapter, on a small hand-made vocabulary and on the
// default model's 262k-token vocabulary (mask == per-token check for every token).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "gguf/gguf_file.h"
#include "grammar/json_schema.h"
#include "grammar/token_mask.h"
#include "grammar_test_util.h"
#include "sampling/grammar_constraint.h"
#include "tokenizer/tokenizer.h"

namespace tessera::sampling {
namespace {

using grammar::GrammarVocabulary;

std::unique_ptr<GrammarConstraint> make(std::string_view gbnf, std::shared_ptr<const GrammarVocabulary> vocab) {
  auto g = grammar::testing::compile(gbnf);
  if (!g) return nullptr;
  auto c = GrammarConstraint::create(g, vocab);
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error());
  return c.ok() ? std::move(*c) : nullptr;
}

// ids:                                    0    1    2     3    4    5      6       7       8   9 (eog)
std::shared_ptr<const GrammarVocabulary> small_vocab() {
  return GrammarVocabulary::build({"a", "b", "ab", "{", "}", "\xc3", "\xa9", "\xc3\xa9", "", ""},
                                  {"a", "b", "ab", "{", "}", "<0xC3>", "<0xA9>", "é", "<think>", "</s>"}, {9});
}

std::vector<int32_t> allowed_by_apply(const GrammarConstraint& c, size_t n) {
  CandidateArray cands;
  for (size_t i = 0; i < n; ++i) cands.data.push_back({static_cast<int32_t>(i), 1.0f, 0.0f});
  c.apply(cands);
  std::vector<int32_t> out;
  for (const Candidate& x : cands.data) {
    if (!std::isinf(x.logit)) out.push_back(x.id);
  }
  return out;
}

TEST(GrammarConstraint, AllowsApplyAcceptAgree) {
  auto vocab = small_vocab();
  auto c = make(R"(root ::= "{" ( "a" | "b" )* "\u00e9"? "}")", vocab);
  ASSERT_TRUE(c);
  EXPECT_EQ(allowed_by_apply(*c, vocab->size()), std::vector<int32_t>({3}));
  EXPECT_TRUE(c->allows(3));
  EXPECT_FALSE(c->allows(0));
  EXPECT_FALSE(c->allows(9));  // end of generation: not complete yet
  c->accept(3);
  EXPECT_EQ(allowed_by_apply(*c, vocab->size()), std::vector<int32_t>({0, 1, 2, 4, 5, 7}));
  c->accept(5);  // first byte of é: the state is inside a character
  EXPECT_EQ(allowed_by_apply(*c, vocab->size()), std::vector<int32_t>({6}));
  EXPECT_FALSE(c->allows(0));
  c->accept(6);
  EXPECT_EQ(allowed_by_apply(*c, vocab->size()), std::vector<int32_t>({4}));
  EXPECT_FALSE(c->is_complete());
  c->accept(4);
  EXPECT_TRUE(c->is_complete());
  EXPECT_TRUE(c->can_end());
  EXPECT_EQ(allowed_by_apply(*c, vocab->size()), std::vector<int32_t>({9}));
  // clone keeps the position; reset goes back to the start
  auto copy = c->clone();
  EXPECT_TRUE(copy->is_complete());
  c->reset();
  EXPECT_FALSE(c->is_complete());
  EXPECT_TRUE(c->allows(3));
  EXPECT_TRUE(copy->allows(9));
}

TEST(GrammarConstraint, EndOfGenerationOnlyWhenComplete) {
  auto vocab = small_vocab();
  auto c = make(R"(root ::= "a"+)", vocab);
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->allows(9));
  c->accept(0);
  EXPECT_TRUE(c->allows(9));
  EXPECT_FALSE(c->is_complete());  // more a's may follow
  c->accept(9);
  EXPECT_TRUE(c->is_complete());
  EXPECT_FALSE(c->allows(0));
}

TEST(GrammarConstraint, TokenReferencesResolveAgainstTheVocabulary) {
  auto vocab = small_vocab();
  auto c = make(R"(root ::= <think> "a" !<[1]>)", vocab);
  ASSERT_TRUE(c);
  EXPECT_EQ(allowed_by_apply(*c, vocab->size()), std::vector<int32_t>({8}));
  c->accept(8);
  c->accept(0);
  // anything but token 1 (and not end-of-generation)
  EXPECT_EQ(allowed_by_apply(*c, vocab->size()), std::vector<int32_t>({0, 2, 3, 4, 5, 6, 7, 8}));
  auto missing = GrammarConstraint::create(grammar::testing::compile("root ::= <nope>"), vocab);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error(), "grammar: token <nope> is not in the vocabulary");
  auto outside = GrammarConstraint::create(grammar::testing::compile("root ::= <[99]>"), vocab);
  ASSERT_FALSE(outside.ok());
  EXPECT_EQ(outside.error(), "grammar: token <[99]> is outside the vocabulary of 10 tokens");
}

// On the real 262k vocabulary: along random constrained walks, the trie-walk mask equals the
// per-token check for every token.
TEST(GrammarConstraint, MaskMatchesPerTokenChecksOnTheDefaultModelVocabulary) {
  const std::string path = TESSERA_DEFAULT_MODEL;
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "default model not installed: " << path;
  auto file = gguf::GgufFile::open(path);
  ASSERT_TRUE(file.ok()) << file.error();
  auto tok = tokenizer::Tokenizer::load(*file);
  ASSERT_TRUE(tok.ok()) << tok.error();
  auto vocab = GrammarVocabulary::from_tokenizer(*tok);
  ASSERT_GT(vocab->size(), 200000u);
  const std::string schema_gbnf = *grammar::json_schema_to_gbnf(nlohmann::ordered_json::parse(
      R"({"type":"object","properties":{"name":{"type":"string","maxLength":8},"n":{"type":"integer","minimum":-5,"maximum":300},
          "tags":{"type":"array","items":{"enum":["x","y\u00e9"]}}},"required":["name","n"]})"));
  for (const std::string& gbnf :
       {std::string(R"(root ::= "\u00e9t\u00e9 " [0-9]{2,3} | "\u4e2d" [a-z]+)"), schema_gbnf}) {
    auto c = make(gbnf, vocab);
    ASSERT_TRUE(c);
    std::mt19937 rng(7);
    for (int step = 0; step < 12 && !c->is_complete(); ++step) {
      const std::vector<int32_t> allowed = allowed_by_apply(*c, vocab->size());
      size_t n_allowed = 0;
      for (size_t id = 0; id < vocab->size(); ++id) {
        const bool by_check = c->allows(static_cast<int32_t>(id));
        n_allowed += by_check;
        ASSERT_EQ(by_check, std::binary_search(allowed.begin(), allowed.end(), static_cast<int32_t>(id)))
            << "token " << id << " '" << vocab->piece(static_cast<int32_t>(id)) << "' at step " << step;
      }
      ASSERT_EQ(n_allowed, allowed.size());
      ASSERT_FALSE(allowed.empty());
      c->accept(allowed[std::uniform_int_distribution<size_t>(0, allowed.size() - 1)(rng)]);
    }
  }
}

}  // namespace
}  // namespace tessera::sampling

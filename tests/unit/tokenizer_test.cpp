// Tokenizer behaviour that the golden files do not cover: the pre-tokenizer table, special
// tokens, errors for bad vocabularies, UGM and RWKV on small hand-made vocabularies (expected
// ids worked out by hand from the algorithms), and the default model's Gemma 3 vocabulary.
#include <gtest/gtest.h>
#include <unistd.h>

#include <random>

#include "gguf/writer.h"
#include "tokenizer/algorithms.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/rwkv.h"
#include "tokenizer/stream_decoder.h"
#include "tokenizer/unicode.h"
#include "tokenizer_test_util.h"

namespace tessera::tokenizer {
namespace {

using testing::default_model;
using testing::load_tokenizer;
using testing::vocab_dir;

std::vector<std::string> split(std::string_view pre_name, std::string_view text) {
  const PreTokenizerSpec* spec = find_pre_tokenizer(pre_name);
  TESSERA_CHECK(spec != nullptr, "no such pre-tokenizer");
  Result<PreTokenizer> pre = PreTokenizer::create(*spec->patterns);
  TESSERA_CHECK(pre.ok(), "pre-tokenizer does not compile");
  std::vector<std::string> pieces;
  for (const auto& [b, e] : pre->split(text)) pieces.emplace_back(text.substr(b, e - b));
  return pieces;
}

using Pieces = std::vector<std::string>;

TEST(PreTokenizerTable, HasEveryNameTheIssueLists) {
  for (const char* name :
       {"default",    "llama3",     "llama-bpe", "deepseek-llm", "deepseek-coder", "deepseek-v3", "falcon",
        "mpt",        "starcoder",  "gpt-2",     "refact",       "command-r",      "qwen2",       "stablelm2",
        "olmo",       "dbrx",       "smaug-bpe", "poro-chat",    "chatglm-bpe",    "viking",      "jais",
        "tekken",     "smollm",     "codeshell", "bloom",        "gpt3-finnish",   "exaone",      "chameleon",
        "minerva-7b", "megrez",     "gpt-4o",    "superbpe",     "trillion",       "bailingmoe",  "llama4",
        "pixtral",    "seed-coder", "kimi-k2"}) {
    EXPECT_NE(find_pre_tokenizer(name), nullptr) << name;
  }
  EXPECT_EQ(find_pre_tokenizer("no-such-pre-tokenizer"), nullptr);
}

TEST(PreTokenizerTable, EveryRowCompilesAndCoversItsInput) {
  const std::string text = "Hello WORLD's 12345 \t\n\n  x 中文字 한국어 émoji 🦙 <sentinel:3> a.b,c! 3.14";
  for (std::string_view name : pre_tokenizer_names()) {
    const PreTokenizerSpec* spec = find_pre_tokenizer(name);
    Result<PreTokenizer> pre = PreTokenizer::create(*spec->patterns);
    ASSERT_TRUE(pre.ok()) << name << ": " << pre.error();
    size_t covered = 0;
    for (const auto& [b, e] : pre->split(text)) {
      EXPECT_EQ(b, covered) << name;
      EXPECT_LT(b, e) << name;
      covered = e;
    }
    EXPECT_EQ(covered, text.size()) << name;
  }
}

// Expected pieces worked out by hand from each regex.
TEST(PreTokenizer, Gpt2SplitsWordsNumbersAndSpaceRuns) {
  EXPECT_EQ(split("gpt-2", "Hello world's 123  x"), (Pieces{"Hello", " world", "'s", " 123", " ", " x"}));
}

TEST(PreTokenizer, Llama3GroupsDigitsInThreesAndIgnoresCaseInContractions) {
  EXPECT_EQ(split("llama-bpe", "ab123456 \n\nx"), (Pieces{"ab", "123", "456", " \n\n", "x"}));
  EXPECT_EQ(split("llama-bpe", "DON'T"), (Pieces{"DON", "'T"}));
}

TEST(PreTokenizer, WhitespaceIsTheUnicodeWhiteSpaceProperty) {
  // U+0085 (NEL) is White_Space: each one before a letter stands alone, as in the reference.
  EXPECT_EQ(split("gpt-2", "a\u0085\u0085b"), (Pieces{"a", "\u0085", "\u0085", "b"}));
  EXPECT_EQ(expand_whitespace_classes(R"(a\sb)").find("\\s"), std::string::npos);
}

TEST(PreTokenizer, ZeroLengthMatchesOnlyMarkBoundaries) {
  EXPECT_EQ(split("superbpe", "1234567"), (Pieces{"1", "234", "567"}));
  EXPECT_EQ(split("afmoe", "1234567"), (Pieces{"1", "234", "567"}));
}

TEST(PreTokenizer, KimiK2SeparatesHanFromOtherLetters) {
  EXPECT_EQ(split("kimi-k2", "中文abc"), (Pieces{"中文", "abc"}));
}

TEST(Utf8, DecodingReplacesEachMalformedByte) {
  EXPECT_EQ(sanitize_utf8("a\xE2\x82"), "a\uFFFD\uFFFD");
  EXPECT_EQ(sanitize_utf8("\xC0\x80"), "\uFFFD\uFFFD");            // overlong
  EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), "\uFFFD\uFFFD\uFFFD");  // surrogate
  EXPECT_EQ(sanitize_utf8("ok \u00e9\U0001F999"), "ok \u00e9\U0001F999");
  EXPECT_EQ(complete_utf8_prefix("ab\xF0\x9F\xA6"), 2u);
  EXPECT_EQ(complete_utf8_prefix("ab\xF0\x9F\xA6\x99"), 6u);
}

TEST(SpecialTokens, ControlTokensAreParsedOnlyWhenAsked) {
  const Tokenizer tok = load_tokenizer(vocab_dir() / "ggml-vocab-gpt-2.gguf");
  const std::string text = "a<|endoftext|>b";
  EXPECT_EQ(tok.tokenize(text, {.add_special = false, .parse_special = true}),
            (std::vector<TokenId>{tok.vocab().find("a"), 50256, tok.vocab().find("b")}));
  const std::vector<TokenId> plain = tok.tokenize(text, {.add_special = false, .parse_special = false});
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 50256), 0);
  EXPECT_EQ(tok.detokenize(plain), text);
  EXPECT_EQ(tok.token_to_piece(50256, false), "");
  EXPECT_EQ(tok.token_to_piece(50256, true), "<|endoftext|>");
}

TEST(SpecialTokens, AddSpecialFollowsTheVocabulary) {
  const Tokenizer spm = load_tokenizer(vocab_dir() / "ggml-vocab-llama-spm.gguf");
  EXPECT_EQ(spm.tokenize("Hello world"), (std::vector<TokenId>{1, 15043, 3186}));  // the issue's example
  EXPECT_EQ(spm.tokenize("Hello world", {.add_special = false}), (std::vector<TokenId>{15043, 3186}));
  EXPECT_EQ(spm.detokenize({1, 15043, 3186}, {.remove_special = true}), "Hello world");
  const Tokenizer bert = load_tokenizer(vocab_dir() / "ggml-vocab-bert-bge.gguf");
  const std::vector<TokenId> ids = bert.tokenize("hi");
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids.front(), 101);  // [CLS]
  EXPECT_EQ(ids.back(), 102);   // [SEP]
}

// Cutting SentencePiece text into words is a speed-up that must not change any id.
TEST(Spm, WordByWordEqualsWholeText) {
  const Tokenizer tok = load_tokenizer(vocab_dir() / "ggml-vocab-llama-spm.gguf");
  ASSERT_TRUE(spm_can_split_at_spaces(tok.vocab()));
  const std::string mark = "\u2581";
  std::mt19937 rng(99);
  const std::vector<std::string> parts = {
      mark,  mark + mark, "the", "Hello", "\u00e9t\u00e9", "\u4f60\u597d",      "\U0001F999",
      "123", "\n",        "'s",  "\xff",  "ing",           "\u0411\u0430\u0440"};
  for (int round = 0; round < 300; ++round) {
    std::string text;
    for (int i = 0, n = 1 + rng() % 20; i < n; ++i) text += parts[rng() % parts.size()];
    std::vector<TokenId> whole, split;
    tokenize_spm(tok.vocab(), text, false, whole);
    tokenize_spm(tok.vocab(), text, true, split);
    EXPECT_EQ(whole, split) << text;
  }
}

class SyntheticVocab : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() / ("tessera_tok_" + std::to_string(::getpid()) + ".gguf")).string();
  }
  void TearDown() override { std::filesystem::remove(path_); }

  Result<Tokenizer> write_and_load(gguf::GgufWriter& w) {
    const Status s = w.write(path_);
    TESSERA_CHECK(s.ok(), "cannot write the test vocabulary");
    Result<gguf::GgufFile> file = gguf::GgufFile::open(path_);
    TESSERA_CHECK(file.ok(), "cannot open the test vocabulary");
    return Tokenizer::load(*file);
  }

  std::string path_;
};

TEST_F(SyntheticVocab, UnknownPreTokenizerIsAnErrorNamingIt) {
  gguf::GgufWriter w;
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", "no-such-pre");
  const std::vector<std::string> tokens = {"a", "b", "ab"}, merges = {"a b"};
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  w.set_string_array("tokenizer.ggml.merges", merges);
  Result<Tokenizer> tok = write_and_load(w);
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.error().find("unknown pre-tokenizer 'no-such-pre'"), std::string::npos) << tok.error();
}

TEST_F(SyntheticVocab, MissingPreTokenizerFallsBackToDefaultWithAWarning) {
  gguf::GgufWriter w;
  w.set_string("tokenizer.ggml.model", "gpt2");
  const std::vector<std::string> tokens = {"a", "b", "ab"}, merges = {"a b"};
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  w.set_string_array("tokenizer.ggml.merges", merges);
  Result<Tokenizer> tok = write_and_load(w);
  ASSERT_TRUE(tok.ok()) << tok.error();
  ASSERT_EQ(tok->vocab().warnings().size(), 1u);
  EXPECT_EQ(tok->vocab().pre_name(), "default");
  EXPECT_EQ(tok->tokenize("ab", {.add_special = false}), (std::vector<TokenId>{2}));
}

TEST_F(SyntheticVocab, UnknownModelAndMissingTokensAreErrors) {
  gguf::GgufWriter w;
  w.set_string("tokenizer.ggml.model", "nonsense");
  Result<Tokenizer> tok = write_and_load(w);
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.error().find("'nonsense'"), std::string::npos) << tok.error();
  w.set_string("tokenizer.ggml.model", "llama");
  tok = write_and_load(w);
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.error().find("tokenizer.ggml.tokens"), std::string::npos) << tok.error();
}

// Unigram: scores chosen so that each best path is unique (sums worked out by hand).
TEST_F(SyntheticVocab, UnigramPicksTheBestScoringPathAndCollapsesUnknowns) {
  gguf::GgufWriter w;
  w.set_string("tokenizer.ggml.model", "t5");
  const std::vector<std::string> tokens = {"<pad>", "</s>", "<unk>", "\u2581", "\u2581a", "a", "b", "ab", "\u2581ab"};
  const std::vector<float> scores = {0, 0, 0, -2.0f, -1.0f, -3.0f, -3.0f, -1.5f, -2.5f};
  const std::vector<int32_t> types = {3, 3, 2, 1, 1, 1, 1, 1, 1};
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  w.set_array<float>("tokenizer.ggml.scores", scores);
  w.set_array<int32_t>("tokenizer.ggml.token_type", types);
  w.set<bool>("tokenizer.ggml.add_space_prefix", true);
  Result<Tokenizer> tok = write_and_load(w);
  ASSERT_TRUE(tok.ok()) << tok.error();
  const TokenizeOptions plain{.add_special = false};
  EXPECT_EQ(tok->tokenize("ab", plain), (std::vector<TokenId>{8}));      // ▁ab -2.5 beats ▁,ab -3.5
  EXPECT_EQ(tok->tokenize("abb", plain), (std::vector<TokenId>{8, 6}));  // ▁ab,b -5.5
  EXPECT_EQ(tok->tokenize("cc", plain), (std::vector<TokenId>{3, 2}));   // ▁ then one <unk> for "cc"
  EXPECT_EQ(tok->tokenize("ab"), (std::vector<TokenId>{8, 1}));          // add_eos by default for t5
  EXPECT_EQ(tok->detokenize({8, 6}), "abb");
}

TEST_F(SyntheticVocab, RwkvMatchesTheLongestUnescapedToken) {
  gguf::GgufWriter w;
  w.set_string("tokenizer.ggml.model", "rwkv");
  const std::vector<std::string> tokens = {"<s>", "\\n", "a", "ab", "abc", "\\x41", "b", "\\\\"};
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  Result<Tokenizer> tok = write_and_load(w);
  ASSERT_TRUE(tok.ok()) << tok.error();
  EXPECT_EQ(tok->tokenize("abcab\nA\\", {.add_special = false}), (std::vector<TokenId>{4, 3, 1, 5, 7}));
  EXPECT_EQ(tok->detokenize({4, 3, 1, 5, 7}), "abcab\nA\\");
  EXPECT_EQ(unescape_rwkv_token("\\x41\\t"), "A\t");
}

// The default model (./setup.sh installs it): Gemma 3's 262k-token SentencePiece vocabulary.
class DefaultModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::filesystem::exists(default_model())) tok_ = new Tokenizer(load_tokenizer(default_model()));
  }
  static void TearDownTestSuite() {
    delete tok_;
    tok_ = nullptr;
  }
  void SetUp() override {
    if (!tok_) GTEST_SKIP() << default_model() << " is missing; run ./setup.sh";
  }
  static Tokenizer* tok_;
};
Tokenizer* DefaultModel::tok_ = nullptr;

TEST_F(DefaultModel, MultilingualTextRoundTrips) {
  const std::string text =
      "The quick brown fox — 123,456.78 €\n\n\tDer Bär läuft. Ça va? Привет, мир! Γειά σου. 你好，世界。"
      "こんにちは、カタカナ。안녕하세요. مرحبا بالعالم. नमस्ते दुनिया. ສະບາຍດີ 🦙🚀👍🏽 e\u0301  \r\n  trailing  "
      " ";
  EXPECT_EQ(tok_->vocab().size(), 262144u);
  for (bool parse : {false, true}) {
    const std::vector<TokenId> ids = tok_->tokenize(text, {.add_special = true, .parse_special = parse});
    ASSERT_FALSE(ids.empty());
    EXPECT_EQ(ids.front(), tok_->vocab().special().bos);
    EXPECT_EQ(tok_->detokenize(ids, {.remove_special = true}), text);
    StreamDecoder stream(*tok_);
    std::string streamed;
    for (TokenId id : ids) streamed += stream.push(id);
    EXPECT_EQ(streamed + stream.finish(), text);
  }
}

TEST_F(DefaultModel, EverySpecialTokenParsesToItselfAndPrintsBack) {
  size_t checked = 0;
  for (size_t i = 0; i < tok_->vocab().size(); ++i) {
    const TokenId id = static_cast<TokenId>(i);
    const TokenData& t = tok_->vocab().token(id);
    if (t.type != TokenType::kControl && t.type != TokenType::kUserDefined) continue;
    ++checked;
    EXPECT_EQ(tok_->tokenize(t.text, {.add_special = false, .parse_special = true}), std::vector<TokenId>{id})
        << t.text;
    EXPECT_EQ(tok_->token_to_piece(id, true), t.text);
  }
  EXPECT_GT(checked, 6000u);
  const std::vector<TokenId> chat =
      tok_->tokenize("<start_of_turn>user\nHi<end_of_turn>", {.add_special = false, .parse_special = true});
  EXPECT_EQ(chat.front(), tok_->vocab().find("<start_of_turn>"));
  EXPECT_EQ(chat.back(), tok_->vocab().find("<end_of_turn>"));
  EXPECT_EQ(tok_->detokenize(chat, {.unparse_special = true}), "<start_of_turn>user\nHi<end_of_turn>");
}

}  // namespace
}  // namespace tessera::tokenizer

// llama.cpp compatibility details beyond the golden files: the full list of `tokenizer.ggml.pre`
// names, SentencePiece-shaped BPE (Gemma 4), the "whitespace" model, per-token lstrip/rstrip and
// the detokenizer's space clean-up. Expected ids are worked out by hand from llama.cpp's rules
// (llama-vocab.cpp), which each test names; the clean-up cases come from Hugging Face
// `tokenizers` (tests/fixtures/tokenizer/make_clean_spaces.py).
#include <gtest/gtest.h>
#include <unistd.h>

#include <fmt/format.h>

#include <fstream>

#include "gguf/writer.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer_test_util.h"

namespace tessera::tokenizer {
namespace {

using Ids = std::vector<TokenId>;

// Every name llama.cpp's vocabulary loader accepts for a BPE vocabulary.
TEST(PreTokenizerTable, HasEveryNameLlamaCppAccepts) {
  for (const char* name : {"default",
                           "minicpm5",
                           "llama3",
                           "llama-v3",
                           "llama-bpe",
                           "falcon3",
                           "falcon-h1",
                           "pixtral",
                           "midm-2.0",
                           "lfm2",
                           "jina-v5-nano",
                           "deepseek-llm",
                           "deepseek-coder",
                           "deepseek-v3",
                           "spark2_5",
                           "youtu",
                           "falcon",
                           "mpt",
                           "starcoder",
                           "gpt-2",
                           "phi-2",
                           "jina-es",
                           "jina-de",
                           "gigachat",
                           "jina-v2-es",
                           "jina-v2-de",
                           "a.x-4.0",
                           "mellum",
                           "modern-bert",
                           "jais-2",
                           "gemma4",
                           "granite-embed-multi-311m",
                           "sarvam-moe",
                           "jina-v1-en",
                           "jina-v2-code",
                           "roberta-bpe",
                           "whitespace",
                           "refact",
                           "command-r",
                           "qwen2",
                           "deepseek-r1-qwen",
                           "kormo",
                           "f2llmv2",
                           "qwen35",
                           "stablelm2",
                           "olmo",
                           "dbrx",
                           "smaug-bpe",
                           "poro-chat",
                           "glm4",
                           "chatglm-bpe",
                           "viking",
                           "jais",
                           "tekken",
                           "smollm",
                           "codeshell",
                           "bloom",
                           "gpt3-finnish",
                           "exaone",
                           "exaone4",
                           "exaone-moe",
                           "chameleon",
                           "minerva-7b",
                           "megrez",
                           "gpt-4o",
                           "llama4",
                           "kanana2",
                           "talkie",
                           "granite-embed-multi-97m",
                           "tiny_aya",
                           "cohere2moe",
                           "superbpe",
                           "trillion",
                           "granite-docling",
                           "bailingmoe",
                           "bailingmoe2",
                           "llada-moe",
                           "seed-coder",
                           "hunyuan",
                           "hunyuan-dense",
                           "hy_v4",
                           "joyai-llm",
                           "kimi-k2",
                           "ufakzeka",
                           "grok-2",
                           "afmoe",
                           "laguna",
                           "minimax-m2",
                           "solar-open",
                           "mellum2"}) {
    EXPECT_NE(find_pre_tokenizer(name), nullptr) << name;
  }
}

// llama.cpp turns clean_spaces off for these names and leaves it on for the others.
TEST(PreTokenizerTable, CleanSpacesFollowsLlamaCpp) {
  for (const char* name : {"qwen2", "command-r", "tekken", "gpt-4o", "deepseek-v3", "sarvam-moe", "ufakzeka"}) {
    EXPECT_FALSE(find_pre_tokenizer(name)->clean_spaces) << name;
  }
  for (const char* name : {"gpt-2", "llama3", "falcon", "starcoder", "gemma4", "whitespace", "megrez"}) {
    EXPECT_TRUE(find_pre_tokenizer(name)->clean_spaces) << name;
  }
}

std::vector<std::string> split(std::string_view pre_name, std::string_view text) {
  Result<PreTokenizer> pre = PreTokenizer::create(*find_pre_tokenizer(pre_name)->patterns);
  TESSERA_CHECK(pre.ok(), "pre-tokenizer does not compile");
  std::vector<std::string> pieces;
  for (const auto& [b, e] : pre->split(text)) pieces.emplace_back(text.substr(b, e - b));
  return pieces;
}

// ufakzeka is Qwen2's regex without the contraction group: "'sen" stays one piece.
TEST(PreTokenizer, UfakzekaKeepsApostropheSuffixesAttached) {
  EXPECT_EQ(split("ufakzeka", "Ali'sen 12"), (std::vector<std::string>{"Ali", "'sen", " ", "1", "2"}));
  EXPECT_EQ(split("qwen2", "Ali'sen"), (std::vector<std::string>{"Ali", "'s", "en"}));
}

// Hugging Face's clean-up (WordPiece decoder, cleanup=True) on random strings, less the two
// rules llama.cpp does not have (see the fixture's script).
TEST(TokenizerCleanSpaces, MatchesHuggingFaceCleanup) {
  std::ifstream in(std::filesystem::path(TESSERA_FIXTURES_DIR) / "tokenizer" / "clean_spaces.tsv");
  ASSERT_TRUE(in) << "missing clean_spaces.tsv";
  std::string line;
  int cases = 0;
  while (std::getline(in, line)) {
    const size_t tab = line.find('\t');
    ASSERT_NE(tab, std::string::npos);
    EXPECT_EQ(clean_up_spaces(line.substr(0, tab)), line.substr(tab + 1)) << "'" << line.substr(0, tab) << "'";
    ++cases;
  }
  EXPECT_EQ(cases, 500);
  // The contractions llama.cpp leaves alone.
  EXPECT_EQ(clean_up_spaces("don 't we 'd you 'll"), "don 't we 'd you 'll");
}

// Default as llama.cpp: on for WordPiece and GPT-2's BPE, off for SentencePiece; an option overrides.
TEST(TokenizerCleanSpaces, DefaultFollowsTheVocabulary) {
  using testing::load_tokenizer;
  using testing::vocab_dir;
  if (!std::filesystem::exists(vocab_dir() / "ggml-vocab-gpt-2.gguf")) GTEST_SKIP() << "no shared vocabularies";
  const Tokenizer gpt2 = load_tokenizer(vocab_dir() / "ggml-vocab-gpt-2.gguf");
  const Ids ids = gpt2.tokenize("Hello , world 's end .", {.add_special = false});
  EXPECT_EQ(gpt2.detokenize(ids), "Hello, world's end.");
  EXPECT_EQ(gpt2.detokenize(ids, {.clean_spaces = false}), "Hello , world 's end .");
  const Tokenizer spm = load_tokenizer(vocab_dir() / "ggml-vocab-llama-spm.gguf");
  EXPECT_EQ(spm.detokenize(spm.tokenize("Hello , world", {.add_special = false})), "Hello , world");
  EXPECT_EQ(spm.detokenize(spm.tokenize("Hello , world", {.add_special = false}), {.clean_spaces = true}),
            "Hello, world");
}

class CompatVocab : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ =
        (std::filesystem::temp_directory_path() / ("tessera_compat_" + std::to_string(::getpid()) + ".gguf")).string();
  }
  void TearDown() override { std::filesystem::remove(path_); }

  Tokenizer load(gguf::GgufWriter& w) {
    TESSERA_CHECK(w.write(path_).ok(), "cannot write the test vocabulary");
    Result<gguf::GgufFile> file = gguf::GgufFile::open(path_);
    TESSERA_CHECK(file.ok(), file.ok() ? "" : file.error().c_str());
    Result<Tokenizer> tok = Tokenizer::load(*file);
    TESSERA_CHECK(tok.ok(), tok.ok() ? "" : tok.error().c_str());
    return std::move(tok).value();
  }
  Result<Tokenizer> try_load(gguf::GgufWriter& w) {
    TESSERA_CHECK(w.write(path_).ok(), "cannot write the test vocabulary");
    Result<gguf::GgufFile> file = gguf::GgufFile::open(path_);
    TESSERA_CHECK(file.ok(), file.ok() ? "" : file.error().c_str());
    return Tokenizer::load(*file);
  }

  std::string path_;
};

// Gemma 4 (llama.cpp): spaces become U+2581, text is cut only at newline runs, merges run on raw
// UTF-8, a missing character falls back to <0xNN>, a newline run that is a token stays whole,
// and BOS is added even though the file says add_bos_token = false.
TEST_F(CompatVocab, Gemma4IsSentencePieceShapedBpe) {
  gguf::GgufWriter w;
  w.set_string("tokenizer.ggml.model", "gemma4");
  const std::vector<std::string> tokens = {"<bos>",    "<eos>", "a",    "b",      "\u2581", "\u2581a",
                                           "\u2581ab", "\n",    "\n\n", "<0xC3>", "<0xA9>"};
  const std::vector<int32_t> types = {3, 3, 1, 1, 1, 1, 1, 1, 1, 6, 6};
  const std::vector<std::string> merges = {"\u2581 a", "\u2581a b"};
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  w.set_array<int32_t>("tokenizer.ggml.token_type", types);
  w.set_string_array("tokenizer.ggml.merges", merges);
  w.set<uint32_t>("tokenizer.ggml.bos_token_id", 0);
  w.set<uint32_t>("tokenizer.ggml.eos_token_id", 1);
  w.set<bool>("tokenizer.ggml.add_bos_token", false);
  const Tokenizer tok = load(w);
  EXPECT_EQ(tok.vocab().pre_name(), "gemma4");
  const Ids ids = tok.tokenize("a ab\n\n\u00e9");
  EXPECT_EQ(ids, (Ids{0, 2, 6, 8, 9, 10}));
  EXPECT_EQ(tok.detokenize(ids), "a ab\n\n\u00e9");
  EXPECT_EQ(tok.tokenize("\n", {.add_special = false}), (Ids{7}));
}

// sarvam-moe: the same shape through tokenizer.ggml.pre on a gpt2 model, without Gemma 4's BOS.
TEST_F(CompatVocab, SarvamMoeEscapesSpacesWithoutForcingBos) {
  gguf::GgufWriter w;
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", "sarvam-moe");
  const std::vector<std::string> tokens = {"<s>", "a", "b", "\u2581", "\u2581a", "\u2581ab"};
  const std::vector<int32_t> types = {3, 1, 1, 1, 1, 1};
  const std::vector<std::string> merges = {"\u2581 a", "\u2581a b"};
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  w.set_array<int32_t>("tokenizer.ggml.token_type", types);
  w.set_string_array("tokenizer.ggml.merges", merges);
  w.set<uint32_t>("tokenizer.ggml.bos_token_id", 0);
  const Tokenizer tok = load(w);
  EXPECT_EQ(tok.tokenize("b ab a"), (Ids{2, 5, 4}));
  EXPECT_EQ(tok.detokenize({2, 5, 4}), "b ab a");
}

// The "whitespace" model (jina-embeddings-v2-base-zh): whitespace is dropped, words are
// lowercased when tokenizer.ggml.normalizer.lowercase says so, merges run on raw UTF-8.
TEST_F(CompatVocab, WhitespaceModelDropsSpacesAndLowercases) {
  gguf::GgufWriter w;
  w.set_string("tokenizer.ggml.model", "whitespace");
  w.set_string("tokenizer.ggml.pre", "whitespace");
  const std::vector<std::string> tokens = {"a", "b", "ab", "\u4e2d", "\u6587", "\u4e2d\u6587"};
  const std::vector<std::string> merges = {"a b", "\u4e2d \u6587"};
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  w.set_string_array("tokenizer.ggml.merges", merges);
  w.set<bool>("tokenizer.ggml.add_bos_token", false);
  w.set<bool>("tokenizer.ggml.normalizer.lowercase", true);
  const Tokenizer tok = load(w);
  EXPECT_EQ(tok.tokenize("AB  ab\t\u3000b \u4e2d\u6587"), (Ids{2, 2, 1, 5}));
}

TEST_F(CompatVocab, VocabularyLessModelsAreErrorsNamingThem) {
  for (const char* model : {"none", "no_vocab"}) {
    gguf::GgufWriter w;
    w.set_string("tokenizer.ggml.model", model);
    Result<Tokenizer> tok = try_load(w);
    ASSERT_FALSE(tok.ok()) << model;
    EXPECT_NE(tok.error().find(fmt::format("'{}'", model)), std::string::npos) << tok.error();
    EXPECT_NE(tok.error().find("no vocabulary"), std::string::npos) << tok.error();
  }
}

// HybridDNA (llama.cpp): inside <dna>...</dna> of the raw text, uppercased 6-mers (the last one
// padded with 'A') are the tokens spelled with a U+E000 marker, else <oov>; the marker is not printed.
TEST_F(CompatVocab, HybridDnaCutsSequencesIntoKmers) {
  gguf::GgufWriter w;
  w.set_string("tokenizer.ggml.model", "hybriddna");
  w.set_string("tokenizer.ggml.pre", "gpt-2");
  const std::vector<std::string> tokens = {"a", "b", "ab", "<dna>", "</dna>", "<oov>", "ACGTAC\uE000", "GGAAAA\uE000"};
  const std::vector<int32_t> types = {1, 1, 1, 3, 3, 3, 1, 1};
  const std::vector<std::string> merges = {"a b"};
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  w.set_array<int32_t>("tokenizer.ggml.token_type", types);
  w.set_string_array("tokenizer.ggml.merges", merges);
  const Tokenizer tok = load(w);
  const TokenizeOptions plain{.add_special = false};
  EXPECT_EQ(tok.tokenize("ab<dna>acgtacGG</dna>b", plain), (Ids{2, 3, 6, 7, 4, 1}));
  EXPECT_EQ(tok.tokenize("<dna>ACGTTT", plain), (Ids{3, 5}));
  EXPECT_EQ(tok.detokenize({6, 7}), "ACGTACGGAAAA");
}

// PLaMo-2 (llama.cpp's rules): cost = -round(score * 1e4) summed, ties to the longer token, an
// uncovered character becomes its UTF-8 bytes; a leading BOM is dropped; no BOS even if asked.
TEST_F(CompatVocab, Plamo2PicksTheCheapestPathWithByteFallback) {
  gguf::GgufWriter w;
  w.set_string("tokenizer.ggml.model", "plamo2");
  std::vector<std::string> tokens = {"<|plamo:unk|>", "<|plamo:bos|>", "<|plamo:eos|>", "<|plamo:pad|>"};
  std::vector<float> scores = {0, 0, 0, 0};
  std::vector<int32_t> types = {2, 3, 3, 3};
  for (int b = 0; b < 256; ++b) {
    tokens.push_back(fmt::format("<0x{:02X}>", b));
    scores.push_back(0);
    types.push_back(6);
  }
  // ids 260..: a b ab abc c x y xy
  for (auto [text, score] : std::vector<std::pair<std::string, float>>{
           {"a", -1}, {"b", -1}, {"ab", -1.5f}, {"abc", -4}, {"c", -1}, {"x", -1}, {"y", -1}, {"xy", -2}}) {
    tokens.push_back(text);
    scores.push_back(score);
    types.push_back(1);
  }
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  w.set_array<float>("tokenizer.ggml.scores", scores);
  w.set_array<int32_t>("tokenizer.ggml.token_type", types);
  w.set<bool>("tokenizer.ggml.add_bos_token", true);
  const Tokenizer tok = load(w);
  EXPECT_EQ(tok.vocab().type(), VocabType::kPlamo2);
  EXPECT_EQ(tok.tokenize("abc"), (Ids{262, 264}));  // ab+c 2.5 beats abc 4 and a+b+c 3
  EXPECT_EQ(tok.tokenize("xy"), (Ids{267}));        // xy 2 ties x+y 2: the longer wins
  EXPECT_EQ(tok.tokenize("\xEF\xBB\xBF"
                         "ab"),
            (Ids{262}));  // BOM dropped
  EXPECT_EQ(tok.tokenize("d\u00e9"), (Ids{4 + 0x64, 4 + 0xC3, 4 + 0xA9}));
  EXPECT_EQ(tok.detokenize({262, 4 + 0xC3, 4 + 0xA9, 1}), "ab\u00e9");
  EXPECT_EQ(tok.tokenize("a<|plamo:eos|>b", {.add_special = false, .parse_special = true}), (Ids{260, 2, 261}));
}

// Token types llama.cpp corrects by text: end-of-generation texts become control tokens,
// gpt-oss's "<|channel|>" becomes user-defined, and "<|end|>" too where "<|return|>" and
// "<|call|>" exist (all five are written here as normal tokens).
TEST_F(CompatVocab, EndAndChannelTokensGetLlamaCppTypes) {
  gguf::GgufWriter w;
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", "gpt-2");
  const std::vector<std::string> tokens = {"a", "<|channel|>", "<|endoftext|>", "<|end|>", "<|return|>", "<|call|>"};
  const std::vector<int32_t> types = {1, 1, 1, 1, 1, 1};
  const std::vector<std::string> merges = {};
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  w.set_array<int32_t>("tokenizer.ggml.token_type", types);
  w.set_string_array("tokenizer.ggml.merges", merges);
  const Tokenizer tok = load(w);
  EXPECT_EQ(tok.vocab().token(1).type, TokenType::kUserDefined);
  EXPECT_EQ(tok.vocab().token(2).type, TokenType::kControl);
  EXPECT_EQ(tok.vocab().token(3).type, TokenType::kUserDefined);
  EXPECT_EQ(tok.vocab().token(4).type, TokenType::kControl);
  const TokenizeOptions plain{.add_special = false};
  EXPECT_EQ(tok.tokenize("a<|channel|>a<|end|>", plain), (Ids{0, 1, 0, 3}));
  EXPECT_EQ(tok.tokenize("<|endoftext|>", {.add_special = false, .parse_special = true}), (Ids{2}));
  EXPECT_EQ(tok.detokenize({0, 2, 1}), "a<|channel|>");
}

// BERT's normaliser options (tokenizer.ggml.normalizer.lowercase / strip_accents; llama.cpp
// defaults both on and ties strip_accents to lowercase unless it is given).
TEST_F(CompatVocab, BertNormalizerOptionsAreRead) {
  const auto make = [&](int lowercase, int strip_accents) {
    gguf::GgufWriter w;
    w.set_string("tokenizer.ggml.model", "bert");
    const std::vector<std::string> tokens = {"[PAD]",       "[UNK]",       "[CLS]",           "[SEP]",
                                             "\u2581hello", "\u2581Hello", "\u2581caf\u00e9", "\u2581cafe"};
    w.set_string_array("tokenizer.ggml.tokens", tokens);
    w.set<uint32_t>("tokenizer.ggml.unknown_token_id", 1);
    w.set<uint32_t>("tokenizer.ggml.cls_token_id", 2);
    w.set<uint32_t>("tokenizer.ggml.seperator_token_id", 3);
    if (lowercase >= 0) w.set<bool>("tokenizer.ggml.normalizer.lowercase", lowercase != 0);
    if (strip_accents >= 0) w.set<bool>("tokenizer.ggml.normalizer.strip_accents", strip_accents != 0);
    return load(w);
  };
  const TokenizeOptions plain{.add_special = false};
  EXPECT_EQ(make(-1, -1).tokenize("Hello caf\u00e9", plain), (Ids{4, 7}));  // defaults: lowercase, strip
  EXPECT_EQ(make(0, -1).tokenize("Hello caf\u00e9", plain), (Ids{5, 6}));   // neither
  EXPECT_EQ(make(1, 0).tokenize("Hello caf\u00e9", plain), (Ids{4, 6}));    // lowercase only
}

// lstrip (llama.cpp: "<mask>" for jina-v2-de/-es/-code): the spaces before the token go with it.
TEST_F(CompatVocab, MaskTokenStripsSpacesOnItsLeft) {
  const auto make = [&](const char* pre) {
    gguf::GgufWriter w;
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", pre);
    const std::vector<std::string> tokens = {"a", "b", "\u0120", "\u0120b", "<mask>"};
    const std::vector<int32_t> types = {1, 1, 1, 1, 3};
    const std::vector<std::string> merges = {"\u0120 b"};
    w.set_string_array("tokenizer.ggml.tokens", tokens);
    w.set_array<int32_t>("tokenizer.ggml.token_type", types);
    w.set_string_array("tokenizer.ggml.merges", merges);
    return load(w);
  };
  const TokenizeOptions special{.add_special = false, .parse_special = true};
  EXPECT_EQ(make("jina-v2-de").tokenize("a  <mask> b", special), (Ids{0, 4, 3}));
  EXPECT_EQ(make("gpt-2").tokenize("a <mask> b", special), (Ids{0, 2, 4, 3}));
}

// rstrip (llama.cpp, general.name containing "phi-3"): every special token but <unk>, <s> and
// <|endoftext|> takes the whitespace after it, so no space prefix piles up after "<|user|>".
TEST_F(CompatVocab, Phi3SpecialTokensStripSpacesOnTheirRight) {
  gguf::GgufWriter w;
  w.set_string("tokenizer.ggml.model", "llama");
  w.set_string("general.name", "Phi-3-mini-4k-instruct");
  const std::vector<std::string> tokens = {"<unk>",         "<s>",    "</s>",    "<|user|>",
                                           "<|endoftext|>", "\u2581", "\u2581a", "a"};
  const std::vector<float> scores = {0, 0, 0, 0, 0, -2, -1, -3};
  const std::vector<int32_t> types = {2, 3, 3, 3, 3, 1, 1, 1};
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  w.set_array<float>("tokenizer.ggml.scores", scores);
  w.set_array<int32_t>("tokenizer.ggml.token_type", types);
  const Tokenizer tok = load(w);
  const TokenizeOptions special{.add_special = false, .parse_special = true};
  EXPECT_EQ(tok.tokenize("<|user|> \n a", special), (Ids{3, 6}));       // rstrip: "a" gets the prefix
  EXPECT_EQ(tok.tokenize("</s>  a", special), (Ids{2, 6}));             // </s> too
  EXPECT_EQ(tok.tokenize("<|endoftext|> a", special), (Ids{4, 5, 6}));  // not <|endoftext|>
  EXPECT_EQ(tok.tokenize("<s> a", special), (Ids{1, 5, 6}));            // nor <s>
}

}  // namespace
}  // namespace tessera::tokenizer

// Golden ids from the reference (../shared/testdata/vocab, see its README): every case of every
// vocabulary that comes with a .gguf, tokenized with add_special = false, parse_special = false.
#include <gtest/gtest.h>

#include <cctype>
#include <random>
#include <sstream>

#include "tokenizer/stream_decoder.h"
#include "tokenizer/unicode.h"
#include "tokenizer_test_util.h"

namespace tessera::tokenizer {
namespace {

using testing::golden_vocab_names;
using testing::load_tokenizer;
using testing::read_text;
using testing::vocab_dir;

struct GoldenCase {
  std::string text;
  std::vector<TokenId> ids;
};

std::vector<GoldenCase> read_cases(const std::string& name) {
  const std::string base = (vocab_dir() / ("ggml-vocab-" + name + ".gguf")).string();
  const std::string inp = read_text(base + ".inp"), outp = read_text(base + ".out");
  const std::string separator = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  for (size_t start = 0;;) {
    const size_t at = inp.find(separator, start);
    texts.push_back(inp.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) break;
    start = at + separator.size();
  }
  std::vector<GoldenCase> cases;
  std::istringstream lines(outp);
  std::string line;
  for (const std::string& text : texts) {
    GoldenCase c{text, {}};
    // The .inp files end with a separator: the empty last case has no .out line (no tokens).
    if (!std::getline(lines, line)) {
      EXPECT_TRUE(text.empty() && cases.size() + 1 == texts.size()) << name << ": .out has too few lines";
      cases.push_back(std::move(c));
      break;
    }
    std::istringstream ids(line);
    for (TokenId id; ids >> id;) c.ids.push_back(id);
    cases.push_back(std::move(c));
  }
  return cases;
}

std::string show(const std::vector<TokenId>& ids) {
  std::string s;
  for (TokenId id : ids) s += std::to_string(id) + " ";
  return s;
}

class GoldenVocab : public ::testing::TestWithParam<std::string> {};

TEST(GoldenVocabSet, TheSharedVocabulariesArePresent) {
  // The README names these six; a missing one would silently shrink the golden test.
  const std::vector<std::string> names = golden_vocab_names();
  for (const char* want : {"bert-bge", "deepseek-llm", "falcon", "gpt-2", "llama-spm", "starcoder"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want << " not in " << vocab_dir();
  }
}

TEST_P(GoldenVocab, EveryCaseGivesTheReferenceIds) {
  const Tokenizer tok = load_tokenizer(vocab_dir() / ("ggml-vocab-" + GetParam() + ".gguf"));
  const std::vector<GoldenCase> cases = read_cases(GetParam());
  ASSERT_GT(cases.size(), 10u);
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::vector<TokenId> got = tok.tokenize(cases[i].text, {.add_special = false, .parse_special = false});
    EXPECT_EQ(got, cases[i].ids) << GetParam() << " case " << i << " '" << cases[i].text << "'\n  want "
                                 << show(cases[i].ids) << "\n  got  " << show(got);
  }
}

TEST_P(GoldenVocab, DetokenizingTheReferenceIdsGivesBackTheText) {
  const Tokenizer tok = load_tokenizer(vocab_dir() / ("ggml-vocab-" + GetParam() + ".gguf"));
  const bool normalizes = tok.vocab().type() == VocabType::kWpm;  // lowercases, drops accents and spacing
  for (const GoldenCase& c : read_cases(GetParam())) {
    const std::string text = tok.detokenize(c.ids, {.clean_spaces = normalizes});
    if (!normalizes) {
      EXPECT_EQ(text, c.text) << GetParam();
    } else {
      // WordPiece loses case, accents and spacing: compare the detokenized forms (the README's rule).
      EXPECT_EQ(tok.detokenize(tok.tokenize(c.text, {.add_special = false}), {.clean_spaces = true}), text)
          << GetParam() << " '" << c.text << "'";
    }
  }
}

// Random bytes (mostly invalid UTF-8) must never crash; byte-level vocabularies are lossless
// up to the U+FFFD that replaces each malformed byte, SentencePiece is lossless outright.
TEST_P(GoldenVocab, InvalidUtf8NeverCrashesAndRoundTrips) {
  const Tokenizer tok = load_tokenizer(vocab_dir() / ("ggml-vocab-" + GetParam() + ".gguf"));
  std::mt19937 rng(1234);
  for (int round = 0; round < 200; ++round) {
    std::string bytes(1 + rng() % 24, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() % 4 == 0 ? 'a' + rng() % 26 : 0x80 + rng() % 128);
    const std::vector<TokenId> ids = tok.tokenize(bytes, {.add_special = false});
    for (TokenId id : ids) ASSERT_TRUE(tok.vocab().valid(id)) << GetParam() << ": id " << id;
    const std::string back = tok.detokenize(ids, {.clean_spaces = false});
    switch (tok.vocab().type()) {
      case VocabType::kSpm: EXPECT_EQ(back, bytes); break;
      case VocabType::kBpe: {
        // Lossless only where every byte has its byte-level token (falcon and starcoder lack a
        // few of the bytes that never occur in UTF-8 text; those are dropped, as by the reference).
        const std::string clean = sanitize_utf8(bytes);
        const bool all_bytes = std::all_of(clean.begin(), clean.end(), [&](char c) {
          return tok.vocab().find(byte_to_unicode_table()[static_cast<uint8_t>(c)]) != kNoToken;
        });
        if (all_bytes) {
          EXPECT_EQ(back, clean);
        }
        break;
      }
      default: EXPECT_TRUE(is_valid_utf8(back)); break;
    }
  }
}

// Streaming: the pieces pushed one token at a time are valid UTF-8 and add up to the whole text.
TEST_P(GoldenVocab, StreamingDetokenizerNeverSplitsACharacter) {
  const Tokenizer tok = load_tokenizer(vocab_dir() / ("ggml-vocab-" + GetParam() + ".gguf"));
  for (const GoldenCase& c : read_cases(GetParam())) {
    StreamDecoder stream(tok);
    std::string streamed;
    for (TokenId id : c.ids) {
      const std::string part = stream.push(id);
      EXPECT_TRUE(is_valid_utf8(part)) << GetParam() << " '" << c.text << "'";
      streamed += part;
    }
    streamed += stream.finish();
    EXPECT_EQ(streamed, sanitize_utf8(tok.detokenize(c.ids, {.clean_spaces = false}))) << GetParam();
  }
}

INSTANTIATE_TEST_SUITE_P(SharedVocab, GoldenVocab, ::testing::ValuesIn(golden_vocab_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return name;
                         });

}  // namespace
}  // namespace tessera::tokenizer

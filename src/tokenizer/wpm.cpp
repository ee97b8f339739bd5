// WordPiece as BERT does it. The vocabulary in GGUF marks word-initial pieces with a leading
// U+2581 (the converter's rewrite of "word" / "##piece"), so matching runs on "\u2581word".
#include "tokenizer/algorithms.h"
#include "tokenizer/unicode.h"

namespace tessera::tokenizer {

namespace {

const std::string kWordMark = "\xE2\x96\x81";  // U+2581

// CJK ideographs get a word each, as BERT's _is_chinese_char (including its 0x2B920 start).
bool is_cjk(uint32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
         (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

// BERT basic tokenization: clean, strip accents (NFD, drop nonspacing marks Mn; spacing marks
// such as Devanagari vowel signs stay), lowercase, split on whitespace,
// and make every punctuation character and CJK ideograph a word of its own. Accent stripping and
// lowercasing follow tokenizer.ggml.normalizer.* (both on by default, as in llama.cpp).
std::vector<std::string> split_words(std::string_view text, const VocabFlags& flags) {
  std::vector<uint32_t> cps = decode_utf8_all(text);
  if (flags.strip_accents) cps = normalize_nfd(cps);
  std::vector<std::string> words(1);
  const auto finish_word = [&] {
    if (!words.back().empty()) words.emplace_back();
  };
  for (uint32_t cp : cps) {
    // Control characters go first, as in BERT's clean-up: U+0085 is White_Space but also Cc,
    // and is dropped rather than splitting words.
    const bool tab_or_newline = cp == '\t' || cp == '\n' || cp == '\r';
    if (cp == 0 || cp == kReplacementChar || (is_control(cp) && !tab_or_newline)) continue;
    if (flags.strip_accents && is_nonspacing_mark(cp)) continue;
    if (is_whitespace(cp)) {
      finish_word();
      continue;
    }
    const uint32_t lower = flags.lowercase ? to_lower(cp) : cp;
    if (is_punctuation(cp) || (cp < 0x7F && is_symbol(cp)) || is_cjk(cp)) {
      finish_word();
      append_utf8(lower, words.back());
      words.emplace_back();
    } else {
      append_utf8(lower, words.back());
    }
  }
  if (words.back().empty()) words.pop_back();
  return words;
}

}  // namespace

void tokenize_wpm(const Vocab& vocab, std::string_view text, std::vector<TokenId>& out) {
  const size_t max_length = vocab.max_token_length();
  std::string word;
  for (const std::string& w : split_words(text, vocab.flags())) {
    word = kWordMark + w;
    const size_t start_size = out.size();
    bool covered = true;
    for (size_t i = 0; i < word.size() && covered;) {
      covered = false;
      for (size_t j = std::min(word.size(), i + max_length); j > i; --j) {
        const TokenId id = vocab.find(std::string_view(word).substr(i, j - i));
        if (id != kNoToken) {
          out.push_back(id);
          i = j;
          covered = true;
          break;
        }
      }
    }
    if (!covered) {
      out.resize(start_size);
      out.push_back(vocab.special().unk);
    }
  }
}

}  // namespace tessera::tokenizer

#include "tokenizer/plamo2.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "tokenizer/unicode.h"

namespace tessera::tokenizer {

namespace {

constexpr int64_t kInvalidScore = -20000000;  // llama.cpp's table: not a usable token
constexpr int64_t kUnknownScore = -10000000;  // the per-character byte-fallback penalty

}  // namespace

Result<Plamo2Model> Plamo2Model::create(const Vocab& vocab) {
  for (int b = 0; b < 256; ++b) {
    if (vocab.byte_token(static_cast<uint8_t>(b)) == kNoToken) {
      return Status::error(fmt::format("plamo2 vocabulary has no byte token <0x{:02X}>", b));
    }
  }
  Plamo2Model model(vocab);
  for (size_t i = 0; i < vocab.size(); ++i) {
    const TokenData& t = vocab.token(static_cast<TokenId>(i));
    if (t.type != TokenType::kByte) model.max_chars_ = std::max(model.max_chars_, decode_utf8_all(t.text).size());
  }
  return model;
}

bool Plamo2Model::candidate(std::string_view text, TokenId& id, int64_t& score) const {
  id = vocab_->find(text);
  if (id == kNoToken || vocab_->token(id).type == TokenType::kByte) return false;
  const float s = vocab_->token(id).score;
  score = std::isfinite(s) ? static_cast<int32_t>(std::round(s * 1e4)) : kInvalidScore;
  return score > kInvalidScore;
}

void Plamo2Model::tokenize(std::string_view raw, std::vector<TokenId>& out) const {
  std::string text = sanitize_utf8(raw);
  if (text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3);  // a byte order mark is dropped
  std::vector<size_t> offsets;                             // [n_chars + 1] byte offset of each character
  for (size_t i = 0; i < text.size(); i += utf8_sequence_length(static_cast<uint8_t>(text[i]))) offsets.push_back(i);
  offsets.push_back(text.size());
  const size_t n = offsets.size() - 1;
  if (n == 0) return;
  // best[i]: the lowest cost of text from character i to the end; token/length: its first step.
  std::vector<int64_t> best(n + 1, int64_t{1} << 60);
  std::vector<TokenId> token(n + 1, kNoToken);
  std::vector<size_t> length(n + 1, 1);
  best[n] = 0;
  for (size_t i = n; i-- > 0;) {
    // Longest first, replaced only by a strictly lower cost: ties keep the longer token.
    for (size_t k = std::min(max_chars_, n - i); k >= 1; --k) {
      TokenId id = kNoToken;
      int64_t score = 0;
      const std::string_view piece = std::string_view(text).substr(offsets[i], offsets[i + k] - offsets[i]);
      if (!candidate(piece, id, score)) continue;
      if (best[i + k] - score < best[i]) best[i] = best[i + k] - score, token[i] = id, length[i] = k;
    }
    if (best[i + 1] - kUnknownScore < best[i])
      best[i] = best[i + 1] - kUnknownScore, token[i] = kNoToken, length[i] = 1;
  }
  for (size_t i = 0; i < n; i += length[i]) {
    if (token[i] != kNoToken) {
      out.push_back(token[i]);
      continue;
    }
    for (size_t b = offsets[i]; b < offsets[i + 1]; ++b)
      out.push_back(vocab_->byte_token(static_cast<uint8_t>(text[b])));
  }
}

}  // namespace tessera::tokenizer

#include "tokenizer/ugm.h"

#include <fmt/format.h>

#include <algorithm>
#include <cfloat>
#include <cstring>

#include "tokenizer/unicode.h"

namespace tessera::tokenizer {

namespace {

const std::string kSpaceMark = "\xE2\x96\x81";  // U+2581
constexpr double kUnknownPenalty = 10.0;

// Fields of one node of SentencePiece's XOR-compressed double array (bit layout of
// darts-clone): BASE in bits 10..30 (shifted by 8 more when bit 9 is set), LEAF in bit 8,
// LABEL (the byte that leads here) in bits 0..7 plus bit 31, VALUE in bits 0..30 of a leaf.
uint32_t node_base(uint32_t unit) {
  return (unit >> 10) << ((unit & (1u << 9)) >> 6);
}
uint32_t node_label(uint32_t unit) {
  return unit & ((1u << 31) | 0xFF);
}
bool node_has_leaf(uint32_t unit) {
  return (unit >> 8) & 1;
}
uint32_t node_value(uint32_t unit) {
  return unit & ((1u << 31) - 1);
}

}  // namespace

Result<UgmModel> UgmModel::create(const Vocab& vocab) {
  UgmModel model(vocab);
  const std::vector<uint8_t>& map = vocab.precompiled_charsmap();
  if (!map.empty()) {
    if (map.size() < 4) return Status::error("precompiled_charsmap: shorter than its 4-byte header");
    uint32_t blob_size = 0;
    std::memcpy(&blob_size, map.data(), 4);  // little-endian, as GGUF
    if (blob_size % 4 != 0 || uint64_t{blob_size} + 4 > map.size()) {
      return Status::error(
          fmt::format("precompiled_charsmap: trie size {} does not fit in {} bytes", blob_size, map.size()));
    }
    model.xcda_.resize(blob_size / 4);
    std::memcpy(model.xcda_.data(), map.data() + 4, blob_size);
    model.replacements_ =
        std::string_view(reinterpret_cast<const char*>(map.data()) + 4 + blob_size, map.size() - 4 - blob_size);
  }
  float min_score = FLT_MAX;
  for (size_t i = 0; i < vocab.size(); ++i) {
    const TokenData& t = vocab.token(static_cast<TokenId>(i));
    if (t.type == TokenType::kNormal) min_score = std::min(min_score, t.score);
    if (t.type == TokenType::kUserDefined && !t.text.empty()) {
      model.user_defined_.insert(t.text);
      model.max_user_defined_length_ = std::max(model.max_user_defined_length_, t.text.size());
    }
  }
  model.unknown_score_ = (min_score == FLT_MAX ? 0.0 : double(min_score)) - kUnknownPenalty;
  return model;
}

bool UgmModel::charsmap_match(std::string_view text, size_t offset, size_t& consumed,
                              std::string_view& replacement) const {
  if (xcda_.empty()) return false;
  size_t best_length = 0;
  uint32_t best_value = 0;
  uint32_t node = node_base(xcda_[0]);
  for (size_t i = offset; i < text.size(); ++i) {
    const uint8_t c = static_cast<uint8_t>(text[i]);
    if (c == 0) break;
    node ^= c;
    if (node >= xcda_.size() || node_label(xcda_[node]) != c) break;
    const bool leaf = node_has_leaf(xcda_[node]);
    node ^= node_base(xcda_[node]);
    if (node >= xcda_.size()) break;
    if (leaf) {
      best_length = i - offset + 1;
      best_value = node_value(xcda_[node]);
    }
  }
  if (best_length == 0 || best_value >= replacements_.size()) return false;  // bad index: no rule
  const std::string_view rest = replacements_.substr(best_value);
  replacement = rest.substr(0, std::min(rest.find('\0'), rest.size()));
  consumed = best_length;
  return true;
}

size_t UgmModel::user_defined_prefix(std::string_view text, size_t offset) const {
  const size_t limit = std::min(max_user_defined_length_, text.size() - offset);
  for (size_t n = limit; n > 0; --n) {
    if (user_defined_.count(text.substr(offset, n))) return n;
  }
  return 0;
}

std::string UgmModel::normalize(std::string_view text) const {
  const VocabFlags& flags = vocab_->flags();
  const bool merge_spaces = flags.remove_extra_whitespaces;
  std::string out;
  out.reserve(text.size() * 2);
  bool prepended = false, in_word = false;
  for (size_t offset = 0; offset < text.size();) {
    std::string_view piece;
    size_t consumed = user_defined_prefix(text, offset);
    if (consumed > 0) {
      piece = text.substr(offset, consumed);
    } else if (!charsmap_match(text, offset, consumed, piece)) {
      size_t n = 0;
      const uint32_t cp = decode_utf8(text, offset, n);
      consumed = n;
      piece = cp == kReplacementChar && n == 1 ? std::string_view("\xEF\xBF\xBD") : text.substr(offset, n);
    }
    for (char c : piece) {
      if (c != ' ') {
        if (!in_word) {
          in_word = true;
          if ((flags.add_space_prefix && !prepended) || merge_spaces) {
            out += kSpaceMark;
            prepended = true;
          }
        }
        out += c;
      } else {
        in_word = false;
        if (!merge_spaces) out += kSpaceMark;
      }
    }
    offset += consumed;
  }
  return out;
}

void UgmModel::tokenize(std::string_view raw, std::vector<TokenId>& out) const {
  const std::string text = normalize(raw);
  const size_t n = text.size();
  if (n == 0) return;
  const TokenId unk = vocab_->special().unk;
  struct Best {
    TokenId token;
    size_t from;  // where the last token starts
    double score;
  };
  std::vector<Best> best(n + 1, Best{unk, 0, -DBL_MAX});
  best[0] = Best{unk, 0, 0.0};
  const size_t max_length = vocab_->max_token_length();
  for (size_t i = 0; i < n;) {
    const size_t char_length = std::min(utf8_sequence_length(static_cast<uint8_t>(text[i])), n - i);
    bool whole_char_token = false;
    for (size_t len = 1; len <= max_length && i + len <= n; ++len) {
      const TokenId id = vocab_->find(std::string_view(text).substr(i, len));
      if (id == kNoToken) continue;
      const TokenData& t = vocab_->token(id);
      if (t.type != TokenType::kNormal && t.type != TokenType::kUserDefined && t.type != TokenType::kUnused) continue;
      if (len == char_length) whole_char_token = true;
      // User-defined tokens score 0 so they win over the (negative) log probabilities.
      const double score = best[i].score + (t.type == TokenType::kUserDefined ? 0.0 : double(t.score));
      if (score > best[i + len].score) best[i + len] = Best{id, i, score};
    }
    if (!whole_char_token) {
      const double score = best[i].score + unknown_score_;
      if (score > best[i + char_length].score) best[i + char_length] = Best{unk, i, score};
    }
    i += char_length;
  }
  // Walk back from the end; runs of unknown tokens collapse into one.
  const size_t start = out.size();
  bool previous_unknown = false;
  for (size_t pos = n;;) {
    const Best& b = best[pos];
    const bool unknown = b.token == unk;
    if (!(previous_unknown && unknown) && b.token != kNoToken) out.push_back(b.token);
    previous_unknown = unknown;
    if (b.from == 0) break;
    pos = b.from;
  }
  std::reverse(out.begin() + static_cast<std::ptrdiff_t>(start), out.end());
}

}  // namespace tessera::tokenizer

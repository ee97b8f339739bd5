#include "tokenizer/tokenizer.h"

#include <fmt/format.h>

#include <algorithm>

#include "tokenizer/algorithms.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/rwkv.h"
#include "tokenizer/ugm.h"
#include "tokenizer/unicode.h"

namespace tessera::tokenizer {

namespace {

const std::string kSpaceMark = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

std::string escape_spaces(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 4);
  for (char c : text) {
    if (c == ' ') {
      out += kSpaceMark;
    } else {
      out += c;
    }
  }
  return out;
}

std::string unescape_spaces(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, kSpaceMark.size(), kSpaceMark) == 0) {
      out += ' ';
      i += kSpaceMark.size();
    } else {
      out += text[i++];
    }
  }
  return out;
}

// "<0xNN>" -> NN; -1 when the text is not of that form.
int parse_byte_token(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  int value = 0;
  for (char c : text.substr(3, 2)) {
    value <<= 4;
    if (c >= '0' && c <= '9') {
      value |= c - '0';
    } else if (c >= 'A' && c <= 'F') {
      value |= c - 'A' + 10;
    } else if (c >= 'a' && c <= 'f') {
      value |= c - 'a' + 10;
    } else {
      return -1;
    }
  }
  return value;
}

bool is_special_type(TokenType t) {
  return t == TokenType::kControl || t == TokenType::kUserDefined || t == TokenType::kUnknown;
}

}  // namespace

Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Result<Tokenizer> Tokenizer::load(const gguf::GgufFile& file) {
  Result<Vocab> vocab = Vocab::load(file);
  if (!vocab) return vocab.status();
  return from_vocab(std::move(vocab).value());
}

Result<Tokenizer> Tokenizer::from_vocab(Vocab vocab) {
  Tokenizer tok;
  tok.vocab_ = std::make_unique<Vocab>(std::move(vocab));
  const Vocab& v = *tok.vocab_;
  if (v.type() == VocabType::kBpe) {
    const PreTokenizerSpec* spec = find_pre_tokenizer(v.pre_name());
    if (!spec) return Status::error(fmt::format("unknown pre-tokenizer '{}'", v.pre_name()));
    Result<PreTokenizer> pre = PreTokenizer::create(*spec->patterns);
    if (!pre) return Status::error(fmt::format("pre-tokenizer '{}': {}", spec->name, pre.error()));
    tok.pre_ = std::make_unique<PreTokenizer>(std::move(pre).value());
  } else if (v.type() == VocabType::kUgm) {
    Result<UgmModel> ugm = UgmModel::create(v);
    if (!ugm) return ugm.status();
    tok.ugm_ = std::make_unique<UgmModel>(std::move(ugm).value());
  } else if (v.type() == VocabType::kRwkv) {
    tok.rwkv_ = std::make_unique<RwkvTrie>(v);
  }
  if (v.type() == VocabType::kSpm) tok.spm_split_at_spaces_ = spm_can_split_at_spaces(v);
  for (size_t i = 0; i < v.size(); ++i) {
    const TokenData& t = v.token(static_cast<TokenId>(i));
    if (is_special_type(t.type) && !t.text.empty()) tok.special_by_length_.push_back(static_cast<TokenId>(i));
  }
  std::stable_sort(tok.special_by_length_.begin(), tok.special_by_length_.end(),
                   [&](TokenId a, TokenId b) { return v.token(a).text.size() > v.token(b).text.size(); });
  return tok;
}

void Tokenizer::tokenize_fragment(std::string_view text, bool after_special, std::vector<TokenId>& out) const {
  const Vocab& v = *vocab_;
  switch (v.type()) {
    case VocabType::kSpm: {
      // SentencePiece sees raw bytes: malformed UTF-8 becomes byte-fallback tokens.
      std::string escaped = v.flags().add_space_prefix && after_special ? kSpaceMark : std::string();
      escaped += escape_spaces(text);
      tokenize_spm(v, escaped, spm_split_at_spaces_, out);
      break;
    }
    case VocabType::kBpe: {
      const std::string clean = sanitize_utf8(text);
      for (const auto& [begin, end] : pre_->split(clean)) {
        tokenize_bpe_word(v, std::string_view(clean).substr(begin, end - begin), out);
      }
      break;
    }
    case VocabType::kWpm: tokenize_wpm(v, text, out); break;
    case VocabType::kUgm: ugm_->tokenize(text, out); break;
    case VocabType::kRwkv: rwkv_->tokenize(text, out); break;  // raw bytes, like SPM
    case VocabType::kCount: break;
  }
}

std::vector<TokenId> Tokenizer::tokenize(std::string_view text, const TokenizeOptions& options) const {
  const Vocab& v = *vocab_;
  const SpecialTokens& sp = v.special();
  std::vector<TokenId> out;
  out.reserve(text.size() / 3 + 4);
  // BERT always frames with CLS ... SEP; the others follow add_bos / add_eos.
  const bool wpm = v.type() == VocabType::kWpm;
  if (options.add_special && (v.flags().add_bos || wpm) && sp.bos != kNoToken) out.push_back(sp.bos);
  bool after_special = true;  // SentencePiece: a space prefix at the start and after special tokens
  for (const Fragment& f : partition_special(v, special_by_length_, text, options.parse_special)) {
    if (f.token != kNoToken) {
      out.push_back(f.token);
      after_special = true;
    } else {
      tokenize_fragment(text.substr(f.begin, f.end - f.begin), after_special, out);
      after_special = false;
    }
  }
  if (options.add_special) {
    if ((v.flags().add_sep || wpm) && sp.sep != kNoToken) {
      out.push_back(sp.sep);
    } else if (v.flags().add_eos && sp.eos != kNoToken) {
      out.push_back(sp.eos);
    }
  }
  return out;
}

std::string Tokenizer::token_to_piece(TokenId id, bool special) const {
  const Vocab& v = *vocab_;
  if (!v.valid(id)) return {};
  const TokenData& t = v.token(id);
  if (v.type() == VocabType::kRwkv) return rwkv_->bytes(id);
  switch (t.type) {
    case TokenType::kControl:
    case TokenType::kUnknown: return special ? t.text : std::string();
    case TokenType::kUserDefined: return t.text;
    case TokenType::kByte: {
      const int b = parse_byte_token(t.text);
      return b >= 0 ? std::string(1, static_cast<char>(b)) : std::string();
    }
    case TokenType::kNormal: break;
    case TokenType::kUndefined:
    case TokenType::kUnused: return {};  // the reference prints nothing for these
  }
  switch (v.type()) {
    case VocabType::kBpe: return byte_level_decode(t.text);
    case VocabType::kSpm:
    case VocabType::kWpm:
    case VocabType::kUgm: return unescape_spaces(t.text);
    case VocabType::kRwkv:
    case VocabType::kCount: break;
  }
  return t.text;
}

std::string Tokenizer::detokenize(const std::vector<TokenId>& ids, const DetokenizeOptions& options) const {
  const Vocab& v = *vocab_;
  size_t first = 0, last = ids.size();
  if (options.remove_special && first < last && ids[first] == v.special().bos && v.flags().add_bos) ++first;
  if (options.remove_special && first < last && ids[last - 1] == v.special().eos && v.flags().add_eos) --last;
  std::string text;
  bool strip_space = v.flags().add_space_prefix;
  for (size_t i = first; i < last; ++i) {
    std::string piece = token_to_piece(ids[i], options.unparse_special);
    if (strip_space && !piece.empty()) {
      // Only the space SentencePiece put in front of the text, i.e. in the first printed piece.
      if (piece[0] == ' ') piece.erase(0, 1);
      strip_space = false;
    }
    text += piece;
  }
  return text;
}

}  // namespace tessera::tokenizer

#include "tokenizer/tokenizer.h"

#include <fmt/format.h>

#include <algorithm>

#include "tokenizer/algorithms.h"
#include "tokenizer/plamo2.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/rwkv.h"
#include "tokenizer/ugm.h"
#include "tokenizer/unicode.h"

namespace tessera::tokenizer {

namespace {

const std::string kSpaceMark = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space
// HybridDNA k-mer tokens end with U+E000 so that they differ from BPE tokens of the same letters;
// the marker is part of the token's text for lookup but is not printed.
const std::string kDnaMarker = "\xEE\x80\x80";

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
  } else if (v.type() == VocabType::kPlamo2) {
    Result<Plamo2Model> plamo2 = Plamo2Model::create(v);
    if (!plamo2) return plamo2.status();
    tok.plamo2_ = std::make_unique<Plamo2Model>(std::move(plamo2).value());
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
      std::string clean = sanitize_utf8(text);
      if (v.flags().escape_spaces) clean = escape_spaces(clean);
      if (v.flags().drop_whitespace) {
        tokenize_whitespace_words(clean, out);
      } else if (v.flags().dna_kmers) {
        tokenize_dna(clean, out);
      } else {
        tokenize_bpe_words(clean, out);
      }
      break;
    }
    case VocabType::kWpm: tokenize_wpm(v, text, out); break;
    case VocabType::kUgm: ugm_->tokenize(text, out); break;
    case VocabType::kRwkv: rwkv_->tokenize(text, out); break;  // raw bytes, like SPM
    case VocabType::kPlamo2: plamo2_->tokenize(text, out); break;
    case VocabType::kCount: break;
  }
}

void Tokenizer::tokenize_bpe_words(std::string_view text, std::vector<TokenId>& out) const {
  for (const auto& [begin, end] : pre_->split(text)) tokenize_bpe_word(*vocab_, text.substr(begin, end - begin), out);
}

// llama.cpp's "whitespace" tokenizer model: whitespace only separates words (it is dropped), words
// are lowercased when the normaliser says so, then each word is pre-tokenized and merged.
void Tokenizer::tokenize_whitespace_words(std::string_view text, std::vector<TokenId>& out) const {
  std::string word;
  for (size_t i = 0; i < text.size();) {
    size_t n = 0;
    const uint32_t cp = decode_utf8(text, i, n);
    i += n;
    if (is_whitespace(cp)) {
      tokenize_bpe_words(word, out);
      word.clear();
    } else {
      append_utf8(vocab_->flags().lowercase ? to_lower(cp) : cp, word);
    }
  }
  tokenize_bpe_words(word, out);
}

// llama.cpp's "hybriddna" model: text between "<dna>" and "</dna>" (both tokens) is uppercased
// and cut into 6-mers, the last padded with 'A'; each 6-mer is the token spelled with the
// U+E000 marker after it, or <oov>. Everything else is BPE. Without the three tokens: plain BPE.
void Tokenizer::tokenize_dna(std::string_view text, std::vector<TokenId>& out) const {
  const std::string_view open = "<dna>", close = "</dna>";
  const TokenId begin_id = vocab_->find(open), end_id = vocab_->find(close), oov = vocab_->find("<oov>");
  if (begin_id == kNoToken || end_id == kNoToken || oov == kNoToken) return tokenize_bpe_words(text, out);
  constexpr size_t kK = 6;
  for (size_t pos = 0; pos < text.size();) {
    const size_t start = text.find(open, pos);
    tokenize_bpe_words(text.substr(pos, start == text.npos ? text.npos : start - pos), out);
    if (start == text.npos) break;
    out.push_back(begin_id);
    const size_t content = start + open.size(), end = text.find(close, content);
    std::string seq(text.substr(content, end == text.npos ? text.npos : end - content));
    for (char& c : seq) c = c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c;
    for (size_t i = 0; i < seq.size(); i += kK) {
      std::string kmer = seq.substr(i, kK);
      kmer.append(kK - kmer.size(), 'A');
      const TokenId id = vocab_->find(kmer + kDnaMarker);
      out.push_back(id != kNoToken ? id : oov);
    }
    if (end == text.npos) break;
    out.push_back(end_id);
    pos = end + close.size();
  }
}

std::vector<TokenId> Tokenizer::tokenize(std::string_view text, const TokenizeOptions& options) const {
  const Vocab& v = *vocab_;
  const SpecialTokens& sp = v.special();
  std::vector<TokenId> out;
  out.reserve(text.size() / 3 + 4);
  // BERT always frames with CLS ... SEP; the others follow add_bos / add_eos.
  const bool wpm = v.type() == VocabType::kWpm;
  // llama.cpp never adds BOS/EOS to PLaMo-2 text, whatever the file says.
  const bool add_special = options.add_special && v.type() != VocabType::kPlamo2;
  if (add_special && (v.flags().add_bos || wpm) && sp.bos != kNoToken) out.push_back(sp.bos);
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
  if (add_special) {
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
  if (v.type() == VocabType::kPlamo2) {
    // llama.cpp prints every PLaMo-2 token as its text, bytes as their byte, control ones only if asked.
    if (t.type == TokenType::kControl || t.type == TokenType::kUnknown) return special ? t.text : std::string();
    const int b = t.type == TokenType::kByte ? parse_byte_token(t.text) : -1;
    return b >= 0 ? std::string(1, static_cast<char>(b)) : t.text;
  }
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
    case VocabType::kBpe:
      if (v.flags().escape_spaces) return unescape_spaces(t.text);
      if (v.flags().dna_kmers && t.text.size() > kDnaMarker.size() && t.text.ends_with(kDnaMarker) &&
          id > v.find("<oov>") && v.find("<oov>") != kNoToken) {
        return t.text.substr(0, t.text.size() - kDnaMarker.size());  // llama.cpp: only the block after <oov>
      }
      return v.flags().byte_level ? byte_level_decode(t.text) : t.text;
    case VocabType::kSpm:
    case VocabType::kWpm:
    case VocabType::kUgm: return unescape_spaces(t.text);
    case VocabType::kRwkv:
    case VocabType::kPlamo2:
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
  if (options.clean_spaces.value_or(v.flags().clean_spaces)) text = clean_up_spaces(text);
  return text;
}

// llama.cpp's clean_spaces passes (Hugging Face's clean_up_tokenization): " ?", " !", " .", " ,"
// lose the space; a lone " ' " loses both spaces; " 's", " 'm", " 're", " 've" lose the space
// (" 't", " 'd" and " 'll" keep it, as in llama.cpp). Each pass runs over the previous one's output.
std::string clean_up_spaces(std::string_view text) {
  std::string a;
  a.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char x = text[i];
    if (i > 0 && text[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) a.pop_back();
    a += x;
  }
  std::string b;
  b.reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = a[i];
    b += x;
    if (i > 0 && x == '\'' && i + 1 < a.size() && a[i - 1] == ' ' && a[i + 1] == ' ') {
      b.erase(b.size() - 2, 1);  // the space before
      a[++i] = '\0';             // and the one after; llama.cpp blanks it in place, so it no
    }                            // longer counts as a space before the next character
  }
  std::string c;
  c.reserve(b.size());
  for (size_t i = 0; i < b.size(); ++i) {
    const char x = b[i];
    if (i > 0 && b[i - 1] == ' ' && x == '\'' && i + 1 < b.size()) {
      const char x1 = b[i + 1];
      const char x2 = i + 2 < b.size() ? b[i + 2] : '\0';
      if (x1 == 's' || x1 == 'm' || (x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) c.pop_back();
    }
    c += x;
  }
  return c;
}

}  // namespace tessera::tokenizer

// Text <-> token ids for a GGUF vocabulary, matching the model's original tokenizer.
//
//   Result<Tokenizer> tok = Tokenizer::load(gguf_file);
//   std::vector<TokenId> ids = tok->tokenize("Hello", {.add_special = true, .parse_special = false});
//   std::string text = tok->detokenize(ids);
//
// Invalid UTF-8 input never fails: SentencePiece vocabularies (SPM) and RWKV see the raw bytes
// (byte-fallback tokens); the others see each malformed byte replaced by U+FFFD, as llama.cpp does.
//
// Ownership: a Tokenizer owns its Vocab and compiled regexes. Immutable after load(); tokenize
// and detokenize may run concurrently from many threads.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/gguf_file.h"
#include "tessera/status.h"
#include "tokenizer/vocab.h"

namespace tessera::tokenizer {

class PreTokenizer;
class UgmModel;
class RwkvTrie;
class Plamo2Model;

struct TokenizeOptions {
  bool add_special = true;     // add BOS/EOS (CLS/SEP for BERT) as the vocabulary says
  bool parse_special = false;  // text such as "<|im_start|>" becomes the control token
};

struct DetokenizeOptions {
  bool remove_special = false;   // drop a leading BOS and trailing EOS the vocabulary adds
  bool unparse_special = false;  // print control/unknown tokens as their text (else nothing)
  // Remove the spaces a word-splitting tokenizer leaves before punctuation and contractions
  // (" ," -> ",", " 's" -> "'s"; see clean_up_spaces). Unset: as the vocabulary says, which is
  // llama.cpp's default (on for WordPiece and most byte-level BPE, off for SentencePiece).
  std::optional<bool> clean_spaces = std::nullopt;
};

class Tokenizer {
 public:
  static Result<Tokenizer> load(const gguf::GgufFile& file);
  static Result<Tokenizer> from_vocab(Vocab vocab);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  const Vocab& vocab() const { return *vocab_; }

  std::vector<TokenId> tokenize(std::string_view text, const TokenizeOptions& options = {}) const;

  // The bytes token `id` stands for (may be part of a UTF-8 character). Control and unknown
  // tokens give "" unless `special`. An id outside the vocabulary gives "".
  std::string token_to_piece(TokenId id, bool special = false) const;

  // Concatenated pieces; with add_space_prefix the space SentencePiece adds in front of the
  // text is removed again. May contain invalid UTF-8 when the ids split a character.
  std::string detokenize(const std::vector<TokenId>& ids, const DetokenizeOptions& options = {}) const;

 private:
  Tokenizer() = default;
  void tokenize_fragment(std::string_view text, bool after_special, std::vector<TokenId>& out) const;
  void tokenize_bpe_words(std::string_view text, std::vector<TokenId>& out) const;
  void tokenize_whitespace_words(std::string_view text, std::vector<TokenId>& out) const;
  void tokenize_dna(std::string_view text, std::vector<TokenId>& out) const;

  std::unique_ptr<Vocab> vocab_;
  std::unique_ptr<PreTokenizer> pre_;       // BPE only
  std::unique_ptr<UgmModel> ugm_;           // UGM only
  std::unique_ptr<RwkvTrie> rwkv_;          // RWKV only
  std::unique_ptr<Plamo2Model> plamo2_;     // PLaMo-2 only
  std::vector<TokenId> special_by_length_;  // control/user-defined/unknown tokens, longest text first
  bool spm_split_at_spaces_ = false;        // see spm_can_split_at_spaces()
};

// llama.cpp's detokenizer space clean-up (Hugging Face clean_up_tokenization_spaces), ASCII only.
std::string clean_up_spaces(std::string_view text);

// Cuts `text` at special tokens: the pieces are plain text (token == kNoToken) or one special
// token. User-defined tokens are always cut out; control and unknown tokens only when
// `parse_special`. Longer tokens are matched first over the whole text (llama.cpp's order).
// A token with lstrip/rstrip also takes the ASCII whitespace on that side of it.
struct Fragment {
  TokenId token;  // kNoToken for plain text
  size_t begin;   // byte range in the text
  size_t end;
};
std::vector<Fragment> partition_special(const Vocab& vocab, const std::vector<TokenId>& special_by_length,
                                        std::string_view text, bool parse_special);

}  // namespace tessera::tokenizer

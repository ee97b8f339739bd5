// A tokenizer vocabulary read from GGUF metadata (`tokenizer.ggml.*`): token texts, scores and
// types, BPE merges, special token ids and the flags that steer tokenization.
//
// Ownership: a Vocab owns copies of everything it needs, so the GgufFile may be closed after
// load(). Immutable after load(); safe to share across threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/gguf_file.h"
#include "tessera/status.h"

namespace tessera::tokenizer {

using TokenId = int32_t;
constexpr TokenId kNoToken = -1;

// `tokenizer.ggml.model`.
enum class VocabType { kSpm, kBpe, kWpm, kUgm, kRwkv, kPlamo2, kCount };
std::string_view vocab_type_name(VocabType type);

// `tokenizer.ggml.token_type` values (SentencePiece's piece types); never renumber.
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

struct TokenData {
  std::string text;
  float score = 0.0f;
  TokenType type = TokenType::kNormal;
  // Special-token attributes llama.cpp sets by model name (GGUF does not carry them): when
  // parse_special cuts this token out, ASCII whitespace on its left (lstrip) or right (rstrip)
  // is dropped with it.
  bool lstrip = false;
  bool rstrip = false;
};

// Special token ids; kNoToken where the vocabulary has none.
struct SpecialTokens {
  TokenId bos = kNoToken, eos = kNoToken, eot = kNoToken, eom = kNoToken, unk = kNoToken;
  TokenId sep = kNoToken, pad = kNoToken, mask = kNoToken;
  TokenId fim_pre = kNoToken, fim_suf = kNoToken, fim_mid = kNoToken;
  TokenId fim_pad = kNoToken, fim_rep = kNoToken, fim_sep = kNoToken;
};

struct VocabFlags {
  bool add_bos = false;
  bool add_eos = false;
  bool add_sep = false;
  bool add_space_prefix = false;
  bool remove_extra_whitespaces = false;
  bool ignore_merges = false;    // BPE: a pre-tokenized word that is a token is emitted whole
  bool clean_spaces = false;     // detokenize removes the space in " ,", " 's", ... (HF clean_up_tokenization_spaces)
  bool escape_spaces = false;    // BPE: spaces become U+2581 before splitting (SentencePiece-shaped BPE)
  bool byte_level = true;        // BPE: merges on GPT-2 byte-level characters, else on raw UTF-8 characters
  bool newlines_whole = false;   // BPE: a newline-only word that is a token is emitted whole (Gemma 4)
  bool drop_whitespace = false;  // BPE model "whitespace": whitespace separates words and is dropped
  // tokenizer.ggml.normalizer.*: BERT (WPM) and the "whitespace" model lowercase; BERT also strips
  // accents. llama.cpp's defaults: both on, except lowercase off for the "whitespace" pre-tokenizer.
  bool lowercase = true;
  bool strip_accents = true;
  bool dna_kmers = false;  // BPE model "hybriddna": text inside <dna>...</dna> becomes 6-mer tokens
};

class Vocab {
 public:
  // Reads the vocabulary of an opened GGUF file. Fails, naming the key, on a missing or
  // mistyped required key, inconsistent array lengths, or an unknown tokenizer model.
  static Result<Vocab> load(const gguf::GgufFile& file);

  // Movable, not copyable by design (a vocabulary is large; share it instead).
  Vocab(Vocab&&) = default;
  Vocab& operator=(Vocab&&) = default;
  Vocab(const Vocab&) = delete;
  Vocab& operator=(const Vocab&) = delete;

  VocabType type() const { return type_; }
  const std::string& model_name() const { return model_name_; }  // tokenizer.ggml.model
  const std::string& pre_name() const { return pre_name_; }      // tokenizer.ggml.pre ("" if absent)
  size_t size() const { return tokens_.size(); }
  const TokenData& token(TokenId id) const { return tokens_[static_cast<size_t>(id)]; }
  bool valid(TokenId id) const { return id >= 0 && static_cast<size_t>(id) < tokens_.size(); }
  const SpecialTokens& special() const { return special_; }
  const VocabFlags& flags() const { return flags_; }
  VocabFlags& mutable_flags() { return flags_; }                 // for the pre-tokenizer table's per-name flags
  size_t max_token_length() const { return max_token_length_; }  // bytes

  // Id of the token whose text is exactly `text`, or kNoToken.
  TokenId find(std::string_view text) const;
  // Id of the byte-fallback token for `byte` ("<0xNN>" for SentencePiece vocabularies), or kNoToken.
  TokenId byte_token(uint8_t byte) const { return byte_tokens_[byte]; }

  // BPE: rank of merging tokens (left, right), -1 when no merge joins them; `merged` gets the
  // resulting token id. Hot: an open-addressing table, one probe sequence per call.
  int merge_rank(TokenId left, TokenId right, TokenId& merged) const {
    const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
    if (merge_slots_.empty()) return -1;
    for (size_t i = merge_slot(key);; i = (i + 1) & (merge_slots_.size() - 1)) {
      const MergeSlot& slot = merge_slots_[i];
      if (slot.key == key) {
        merged = slot.merged;
        return slot.rank;
      }
      if (slot.key == kEmptySlot) return -1;
    }
  }
  size_t merge_count() const { return merge_count_; }
  // BPE: the token of byte `b` in GPT-2's byte-level alphabet, or kNoToken.
  TokenId byte_level_token(uint8_t b) const { return byte_level_tokens_[b]; }

  // Precompiled SentencePiece normalizer (UGM), empty when absent.
  const std::vector<uint8_t>& precompiled_charsmap() const { return precompiled_charsmap_; }

  // Non-fatal findings of load() (e.g. a missing pre-tokenizer name), for the caller to log.
  const std::vector<std::string>& warnings() const { return warnings_; }

  // End-of-generation tokens: eos, eot, eom and the control tokens llama.cpp ends generation at
  // by their text (<end_of_turn>, <|im_end|>, <|eot_id|>, ...).
  bool is_end_of_generation(TokenId id) const;

 private:
  Vocab() = default;
  Status read_tokens(const gguf::GgufFile& file);
  Status read_merges(const gguf::GgufFile& file);
  void read_special_ids(const gguf::GgufFile& file);
  void index_byte_tokens();
  void index_text(TokenId id);
  void set_strip_attributes(const gguf::GgufFile& file);
  void apply_type_overrides();

  static constexpr uint64_t kEmptySlot = UINT64_MAX;  // no valid (left, right) pair has both ids -1
  struct MergeSlot {
    uint64_t key = kEmptySlot;  // left << 32 | right
    int rank = -1;
    TokenId merged = kNoToken;
  };
  size_t merge_slot(uint64_t key) const { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> merge_shift_); }

  VocabType type_ = VocabType::kSpm;
  std::string model_name_;
  std::string pre_name_;
  std::vector<TokenData> tokens_;  // [n_vocab]
  // Token text -> id: open addressing, [power of two >= 2 * n_vocab] slots of (hash, id);
  // the text is compared against tokens_[id].text. Hot in every tokenizer.
  struct TextSlot {
    uint32_t hash = 0;
    TokenId id = kNoToken;
  };
  std::vector<TextSlot> text_slots_;
  int text_shift_ = 64;
  std::vector<MergeSlot> merge_slots_;  // [power of two >= 2 * merges], linear probing
  int merge_shift_ = 64;
  size_t merge_count_ = 0;
  std::vector<TokenId> byte_level_tokens_ = std::vector<TokenId>(256, kNoToken);  // [256]
  std::vector<TokenId> byte_tokens_ = std::vector<TokenId>(256, kNoToken);        // [256]
  std::vector<uint8_t> precompiled_charsmap_;
  SpecialTokens special_;
  VocabFlags flags_;
  std::vector<std::string> warnings_;
  size_t max_token_length_ = 0;
  std::vector<TokenId> end_texts_;  // control tokens whose text ends generation (llama.cpp's EOG list)
};

}  // namespace tessera::tokenizer

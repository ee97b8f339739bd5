#include "tokenizer/vocab.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>

#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/unicode.h"

namespace tessera::tokenizer {

using gguf::Value;
using gguf::ValueType;

std::string_view vocab_type_name(VocabType type) {
  switch (type) {
    case VocabType::kSpm: return "SPM";
    case VocabType::kBpe: return "BPE";
    case VocabType::kWpm: return "WPM";
    case VocabType::kUgm: return "UGM";
    case VocabType::kRwkv: return "RWKV";
    case VocabType::kPlamo2: return "PLaMo2";
    case VocabType::kCount: break;
  }
  return "?";
}

namespace {

constexpr std::string_view kPrefix = "tokenizer.ggml.";

std::string key(std::string_view name) {
  return fmt::format("{}{}", kPrefix, name);
}

// Per-model defaults, as the reference tokenizer assumes them when the file is silent.
struct ModelDefaults {
  std::string_view name;
  VocabType type;
  SpecialTokens special;
  VocabFlags flags;
};

ModelDefaults defaults_for(std::string_view model) {
  ModelDefaults d{model, VocabType::kCount, {}, {}};
  if (model == "llama") {
    d.type = VocabType::kSpm;
    d.special.bos = 1, d.special.eos = 2, d.special.unk = 0;
    d.flags.add_space_prefix = true, d.flags.add_bos = true;
  } else if (model == "bert") {
    d.type = VocabType::kWpm;
    d.special.bos = 101, d.special.unk = 100, d.special.sep = 102, d.special.pad = 0, d.special.mask = 103;
    d.flags.add_bos = true, d.flags.add_sep = true;
  } else if (model == "gpt2" || model == "whitespace" || model == "hybriddna") {
    d.type = VocabType::kBpe;
    d.special.bos = 11, d.special.eos = 11;
    d.flags.drop_whitespace = model == "whitespace";
    d.flags.dna_kmers = model == "hybriddna";
  } else if (model == "gemma4") {
    d.type = VocabType::kBpe;  // no default special ids: the file names them
  } else if (model == "t5") {
    d.type = VocabType::kUgm;
    d.special.eos = 1, d.special.unk = 2, d.special.pad = 0;
    d.flags.add_eos = true;
  } else if (model == "rwkv") {
    d.type = VocabType::kRwkv;
  } else if (model == "plamo2") {
    d.type = VocabType::kPlamo2;
    d.special.bos = 1, d.special.eos = 2, d.special.unk = 0, d.special.pad = 3;
  }
  return d;
}

// Models llama.cpp knows but Tessera does not implement, with the reason.
std::string unsupported_model_note(std::string_view model) {
  if (model == "none" || model == "no_vocab") return "; the file has no vocabulary";
  return "";
}

// A boolean key read leniently: bool, or any integer (0 = false).
void read_bool(const gguf::GgufFile& file, std::string_view name, bool& out) {
  const Value* v = file.find(key(name));
  if (!v) return;
  if (auto b = v->get<bool>()) {
    out = *b;
  } else if (auto u = v->get_unsigned()) {
    out = *u != 0;
  }
}

}  // namespace

Result<Vocab> Vocab::load(const gguf::GgufFile& file) {
  Vocab vocab;
  const Value* model = file.find(key("model"));
  if (!model || !model->get_string()) {
    return Status::error(fmt::format("{}: missing string key '{}'", file.path(), key("model")));
  }
  vocab.model_name_ = std::string(*model->get_string());
  ModelDefaults defaults = defaults_for(vocab.model_name_);
  if (defaults.type == VocabType::kCount) {
    return Status::error(
        fmt::format("{}: unsupported tokenizer model '{}' in '{}' (supported: llama, gpt2, gemma4, whitespace, "
                    "hybriddna, bert, t5, rwkv, plamo2){}",
                    file.path(), vocab.model_name_, key("model"), unsupported_model_note(vocab.model_name_)));
  }
  vocab.type_ = defaults.type;
  vocab.special_ = defaults.special;
  vocab.flags_ = defaults.flags;
  if (const Value* pre = file.find(key("pre")); pre && pre->get_string())
    vocab.pre_name_ = std::string(*pre->get_string());
  if (vocab.model_name_ == "gemma4") vocab.pre_name_ = "gemma4";  // the model implies its pre-tokenizer
  // Detokenizer space clean-up, as llama.cpp defaults it per type (BPE: per pre-tokenizer, below).
  vocab.flags_.clean_spaces = vocab.type_ == VocabType::kWpm;

  if (vocab.type_ == VocabType::kBpe) {
    if (vocab.pre_name_.empty()) {
      vocab.warnings_.push_back(fmt::format(
          "{}: no '{}' key: using the 'default' pre-tokenizer; tokenization may differ from the original model",
          file.path(), key("pre")));
      vocab.pre_name_ = "default";
    }
    const PreTokenizerSpec* spec = find_pre_tokenizer(vocab.pre_name_);
    if (!spec) {
      return Status::error(
          fmt::format("{}: unknown pre-tokenizer '{}' in '{}'", file.path(), vocab.pre_name_, key("pre")));
    }
    vocab.flags_.ignore_merges = spec->ignore_merges;
    vocab.flags_.add_bos = vocab.flags_.add_bos || spec->add_bos;
    vocab.flags_.add_sep = vocab.flags_.add_sep || spec->add_sep;
    if (spec->no_bos) vocab.special_.bos = kNoToken;  // an explicit bos_token_id key still wins
    vocab.flags_.clean_spaces = spec->clean_spaces;
    vocab.flags_.escape_spaces = spec->escape_spaces;
    vocab.flags_.byte_level = spec->byte_level;
    vocab.flags_.newlines_whole = spec->newlines_whole;
  }
  if (Status s = vocab.read_tokens(file); !s) return s;
  if (vocab.type_ == VocabType::kBpe) {
    if (Status s = vocab.read_merges(file); !s) return s;
  }
  vocab.read_special_ids(file);
  read_bool(file, "add_bos_token", vocab.flags_.add_bos);
  read_bool(file, "add_eos_token", vocab.flags_.add_eos);
  read_bool(file, "add_sep_token", vocab.flags_.add_sep);
  read_bool(file, "add_space_prefix", vocab.flags_.add_space_prefix);
  read_bool(file, "remove_extra_whitespaces", vocab.flags_.remove_extra_whitespaces);
  if (vocab.pre_name_ == "whitespace") vocab.flags_.lowercase = false;
  read_bool(file, "normalizer.lowercase", vocab.flags_.lowercase);
  vocab.flags_.strip_accents = vocab.flags_.lowercase;  // as llama.cpp (and HF) couple them
  read_bool(file, "normalizer.strip_accents", vocab.flags_.strip_accents);
  if (vocab.type_ == VocabType::kBpe) {
    const PreTokenizerSpec* spec = find_pre_tokenizer(vocab.pre_name_);
    if (spec->force_add_bos) vocab.flags_.add_bos = true;  // llama.cpp overrides the file for Gemma 4
  }
  vocab.apply_type_overrides();
  vocab.set_strip_attributes(file);

  if (const Value* map = file.find(key("precompiled_charsmap")); map && map->is_array()) {
    if (map->element_type() != ValueType::kUint8 && map->element_type() != ValueType::kInt8) {
      return Status::error(
          fmt::format("{}: '{}' must be an array of u8 or i8", file.path(), key("precompiled_charsmap")));
    }
    vocab.precompiled_charsmap_.assign(map->array_bytes(), map->array_bytes() + map->size());
  }
  vocab.index_byte_tokens();
  return vocab;
}

Status Vocab::read_tokens(const gguf::GgufFile& file) {
  const Value* tokens = file.find(key("tokens"));
  if (!tokens || !tokens->is_array() || tokens->element_type() != ValueType::kString) {
    return Status::error(fmt::format("{}: missing array of strings '{}'", file.path(), key("tokens")));
  }
  const uint64_t n = tokens->size();
  if (n == 0 || n > static_cast<uint64_t>(INT32_MAX)) {
    return Status::error(fmt::format("{}: '{}' has {} entries", file.path(), key("tokens"), n));
  }
  const Value* scores = file.find(key("scores"));
  if (scores && (!scores->is_array() || scores->element_type() != ValueType::kFloat32 || scores->size() < n)) {
    return Status::error(
        fmt::format("{}: '{}' must be an f32 array of at least {} entries", file.path(), key("scores"), n));
  }
  const Value* types = file.find(key("token_type"));
  if (types && (!types->is_array() || types->element_type() != ValueType::kInt32 || types->size() < n)) {
    return Status::error(
        fmt::format("{}: '{}' must be an i32 array of at least {} entries", file.path(), key("token_type"), n));
  }
  tokens_.resize(n);
  for (uint64_t i = 0; i < n; ++i) {
    TokenData& t = tokens_[i];
    t.text = std::string(tokens->string_at(i));
    t.score = scores ? scores->at<float>(i) : 0.0f;
    if (types) {
      const int32_t raw = types->at<int32_t>(i);
      t.type = raw >= 0 && raw <= 6 ? static_cast<TokenType>(raw) : TokenType::kUndefined;
    }
    max_token_length_ = std::max(max_token_length_, t.text.size());
  }
  // Later duplicates win, as in the reference implementation.
  size_t capacity = 16;
  while (capacity < 2 * n) capacity *= 2;
  text_slots_.assign(capacity, TextSlot{});
  text_shift_ = 64 - std::countr_zero(capacity);
  for (uint64_t i = 0; i < n; ++i) {
    if (!tokens_[i].text.empty()) index_text(static_cast<TokenId>(i));
  }
  return Status();
}

Status Vocab::read_merges(const gguf::GgufFile& file) {
  const Value* merges = file.find(key("merges"));
  if (!merges) {
    // Only a vocabulary whose pre-tokenizer works without merges may omit them.
    if (pre_name_ == "kimi-k2") return Status();
    return Status::error(fmt::format("{}: BPE vocabulary without '{}'", file.path(), key("merges")));
  }
  if (!merges->is_array() || merges->element_type() != ValueType::kString) {
    return Status::error(fmt::format("{}: '{}' must be an array of strings", file.path(), key("merges")));
  }
  size_t capacity = 16;
  while (capacity < 2 * merges->size()) capacity *= 2;
  merge_slots_.assign(capacity, MergeSlot{});
  merge_shift_ = 64 - std::countr_zero(capacity);
  std::string joined;
  for (uint64_t i = 0; i < merges->size(); ++i) {
    const std::string_view m = merges->string_at(i);
    // "left right"; the search starts at 1 so that a left part that is itself " " survives.
    const size_t space = m.size() > 1 ? m.find(' ', 1) : std::string_view::npos;
    if (space == std::string_view::npos) continue;
    const std::string_view left = m.substr(0, space), right = m.substr(space + 1);
    const TokenId l = find(left), r = find(right);
    joined.assign(left).append(right);
    const TokenId merged = find(joined);
    if (l == kNoToken || r == kNoToken || merged == kNoToken) continue;  // can never apply
    const uint64_t k = (static_cast<uint64_t>(static_cast<uint32_t>(l)) << 32) | static_cast<uint32_t>(r);
    size_t slot = merge_slot(k);
    while (merge_slots_[slot].key != kEmptySlot && merge_slots_[slot].key != k) slot = (slot + 1) & (capacity - 1);
    if (merge_slots_[slot].key == k) continue;  // first (lowest) rank wins
    merge_slots_[slot] = MergeSlot{k, static_cast<int>(i), merged};
    ++merge_count_;
  }
  return Status();
}

void Vocab::read_special_ids(const gguf::GgufFile& file) {
  struct Key {
    std::string_view name;
    TokenId SpecialTokens::*field;
  };
  static constexpr Key kKeys[] = {
      {"bos_token_id", &SpecialTokens::bos},         {"eos_token_id", &SpecialTokens::eos},
      {"eot_token_id", &SpecialTokens::eot},         {"eom_token_id", &SpecialTokens::eom},
      {"unknown_token_id", &SpecialTokens::unk},     {"seperator_token_id", &SpecialTokens::sep},
      {"padding_token_id", &SpecialTokens::pad},     {"mask_token_id", &SpecialTokens::mask},
      {"cls_token_id", &SpecialTokens::bos},         {"fim_pre_token_id", &SpecialTokens::fim_pre},
      {"fim_suf_token_id", &SpecialTokens::fim_suf}, {"fim_mid_token_id", &SpecialTokens::fim_mid},
      {"fim_pad_token_id", &SpecialTokens::fim_pad}, {"fim_rep_token_id", &SpecialTokens::fim_rep},
      {"fim_sep_token_id", &SpecialTokens::fim_sep}, {"prefix_token_id", &SpecialTokens::fim_pre},
      {"suffix_token_id", &SpecialTokens::fim_suf},  {"middle_token_id", &SpecialTokens::fim_mid},
  };
  // Defaults outside the vocabulary are dropped; explicit ids outside it are ignored.
  for (const Key& k : kKeys) {
    TokenId& id = special_.*k.field;
    if (!valid(id)) id = kNoToken;
  }
  for (const Key& k : kKeys) {
    const Value* v = file.find(key(k.name));
    if (!v) continue;
    const std::optional<uint64_t> id = v->get_unsigned();
    if (id && *id < tokens_.size()) special_.*k.field = static_cast<TokenId>(*id);
  }
  if (special_.eot == kNoToken) {
    for (std::string_view text : {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>"}) {
      if (TokenId id = find(text); id != kNoToken) {
        special_.eot = id;
        break;
      }
    }
  }
  if (special_.eom == kNoToken) special_.eom = find("<|eom_id|>");
}

// Token types llama.cpp corrects after loading, because converters get them wrong: tokens that
// end generation (by their text) become control tokens, so parse_special governs them and they
// print only when asked; gpt-oss's channel markers become user-defined (always matched, always
// printed); "<|end|>" is not an end token where "<|return|>"/"<|call|>" (or solar-open's
// "<|calls|>"/"<|flush|>") are, and Gemma 4's "</s>" is normal text where "<|tool_response>" is.
void Vocab::apply_type_overrides() {
  // clang-format off
  static constexpr std::string_view kEndTexts[] = {
      "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
      "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
      "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
      "<\xEF\xBD\x9C" "end\xE2\x96\x81" "of\xE2\x96\x81" "sentence\xEF\xBD\x9C>",  // DeepSeek
      "[e~["};
  // clang-format on
  const auto has = [&](std::string_view text) { return find(text) != kNoToken; };
  const auto set_type = [&](std::string_view text, TokenType type) {
    if (const TokenId id = find(text); id != kNoToken) tokens_[static_cast<size_t>(id)].type = type;
  };
  // llama.cpp adds the control bit, which then governs matching and printing whatever the type was.
  for (std::string_view text : kEndTexts) set_type(text, TokenType::kControl);
  for (std::string_view text : {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}) {
    set_type(text, TokenType::kUserDefined);
  }
  if (has("<|end|>") && ((has("<|return|>") && has("<|call|>")) || (has("<|calls|>") && has("<|flush|>")))) {
    set_type("<|end|>", TokenType::kUserDefined);
  }
  if (has("<|tool_response>") && has("</s>")) set_type("</s>", TokenType::kNormal);
  for (std::string_view text : kEndTexts) {
    const TokenId id = find(text);
    if (id != kNoToken && tokens_[static_cast<size_t>(id)].type == TokenType::kControl) end_texts_.push_back(id);
  }
}

// llama.cpp sets these by the model's name, pre-tokenizer or architecture; the facts below are
// its list. Matching is by substring, on the lowercased general.name.
void Vocab::set_strip_attributes(const gguf::GgufFile& file) {
  const auto string_key = [&](const std::string& name) {
    const Value* v = file.find(name);
    return v && v->get_string() ? std::string(*v->get_string()) : std::string();
  };
  std::string model_name = string_key("general.name");
  std::transform(model_name.begin(), model_name.end(), model_name.begin(),
                 [](char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); });
  const std::string arch = string_key("general.architecture");
  const auto contains_any = [](std::string_view s, std::initializer_list<std::string_view> parts) {
    return std::any_of(parts.begin(), parts.end(), [&](std::string_view p) { return s.find(p) != s.npos; });
  };
  const auto set = [&](std::string_view text, bool TokenData::*attr, bool value) {
    if (const TokenId id = find(text); id != kNoToken) tokens_[static_cast<size_t>(id)].*attr = value;
  };
  if (contains_any(pre_name_, {"jina-v2-de", "jina-v2-es", "jina-v2-code"}) ||
      contains_any(arch, {"nomic-bert-moe", "jina-bert-v3"})) {
    set("<mask>", &TokenData::lstrip, true);
  } else if (contains_any(model_name, {"phi-3", "phi3"})) {
    // Every control, user-defined and unknown token, then </s> on, <unk> <s> <|endoftext|> off.
    for (TokenData& t : tokens_) {
      if (t.type == TokenType::kControl || t.type == TokenType::kUserDefined || t.type == TokenType::kUnknown) {
        t.rstrip = true;
      }
    }
    set("</s>", &TokenData::rstrip, true);
    for (std::string_view text : {"<unk>", "<s>", "<|endoftext|>"}) set(text, &TokenData::rstrip, false);
  } else if (contains_any(model_name, {"modern-bert"})) {
    set("[MASK]", &TokenData::lstrip, true);
  }
}

void Vocab::index_byte_tokens() {
  for (int b = 0; b < 256; ++b) {
    // SentencePiece-shaped vocabularies (and BPE on raw UTF-8, e.g. Gemma 4) use "<0xNN>".
    if (type_ == VocabType::kSpm || type_ == VocabType::kUgm || type_ == VocabType::kPlamo2 || !flags_.byte_level) {
      byte_tokens_[b] = find(fmt::format("<0x{:02X}>", b));
      if (byte_tokens_[b] == kNoToken) byte_tokens_[b] = find(std::string(1, static_cast<char>(b)));
    } else {
      byte_tokens_[b] = find(std::string(1, static_cast<char>(b)));
    }
    byte_level_tokens_[b] = find(byte_to_unicode_table()[b]);
  }
}

namespace {

// FNV-1a, then a multiplicative mix so the top bits (the slot index) depend on every byte.
uint64_t text_hash(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : text) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
  return h * 0x9E3779B97F4A7C15ull;
}

}  // namespace

void Vocab::index_text(TokenId id) {
  const std::string_view text = tokens_[static_cast<size_t>(id)].text;
  const uint64_t h = text_hash(text);
  const size_t mask = text_slots_.size() - 1;
  for (size_t i = static_cast<size_t>(h >> text_shift_);; i = (i + 1) & mask) {
    TextSlot& slot = text_slots_[i];
    if (slot.id == kNoToken || (slot.hash == static_cast<uint32_t>(h) && token(slot.id).text == text)) {
      slot = TextSlot{static_cast<uint32_t>(h), id};
      return;
    }
  }
}

TokenId Vocab::find(std::string_view text) const {
  if (text_slots_.empty()) return kNoToken;
  const uint64_t h = text_hash(text);
  const size_t mask = text_slots_.size() - 1;
  for (size_t i = static_cast<size_t>(h >> text_shift_);; i = (i + 1) & mask) {
    const TextSlot& slot = text_slots_[i];
    if (slot.id == kNoToken) return kNoToken;
    if (slot.hash == static_cast<uint32_t>(h) && token(slot.id).text == text) return slot.id;
  }
}

bool Vocab::is_end_of_generation(TokenId id) const {
  return id != kNoToken && (id == special_.eos || id == special_.eot || id == special_.eom ||
                            std::find(end_texts_.begin(), end_texts_.end(), id) != end_texts_.end());
}

}  // namespace tessera::tokenizer

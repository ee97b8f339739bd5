// The pre-tokenizer table: every `tokenizer.ggml.pre` name llama.cpp knows, mapped to the regex
// list of the original Hugging Face tokenizer. Where llama.cpp rewrote a regex for std::regex
// (case-insensitive groups spelled out, possessive quantifiers dropped), the original is used:
// PCRE2 supports it. Adding a name is adding a row.
#include <array>
#include <cstdint>

#include "tokenizer/pre_tokenizer.h"

namespace tessera::tokenizer {

namespace {

using Patterns = std::vector<std::string_view>;

// GPT-2's word regex, shared by many families.
constexpr std::string_view kGpt2Word = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";

const Patterns kDefault = {
    R"([\p{P}\$\+<=>\^~\|]+)",
    kGpt2Word,
    R"(\p{N}+)",
    R"([0-9][0-9][0-9])",
};
const Patterns kGpt2 = {kGpt2Word};
const Patterns kLlama3 = {
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
};
const Patterns kJais2 = {
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|)"
    R"(\s{512}(?!\S)|\s{256}(?!\S)|\s{128}(?!\S)|\s{64}(?!\S)|\s{32}(?!\S)|\s{16}(?!\S)|\s{8}(?!\S)|\s{4}(?!\S)|)"
    R"(\s{1,2}(?!\S)|\s{1})",
};
const Patterns kDeepseekLlm = {
    R"([\r\n])",
    R"(\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\x{1F7D}ᾀ-ᾴᾶ-ᾼ\x{1FBE}ῂ-ῄῆ-ῌῐ-\x{1FD3}ῖ-\x{1FDB}ῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\x{2126}ℨ\x{212A}-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+)",
    R"(\s?[!-/:-~！-／：-～‘-‟　-。]+)",
    R"(\s+$)",
    R"([一-龥ࠀ-一가-퟿]+)",
    R"(\p{N}+)",
};
const Patterns kDeepseekCoder = {
    R"([\r\n])", R"(\s?\p{L}+)", R"(\s?\p{P}+)", R"([一-龥ࠀ-一가-퟿]+)", R"(\p{N})",
};
const Patterns kDeepseekV3 = {
    R"(\p{N}{1,3})",
    R"([一-龥぀-ゟ゠-ヿ]+)",
    R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
};
const Patterns kSpark25 = {
    R"(\p{N}{1,3})",
    R"([一-龥぀-ゟ゠-ヿ]+)",
    R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+|[\r\n]|\s+(?!\S)|\s+)",
    R"(\p{N})",
};
const Patterns kYoutu = {
    R"([가-힣ㄱ-ㆎ]+|[！…“”‘’—：；，、-〿︰-﹏]+|[ㄅ-ㄯ]+|[一-龥぀-ゟ゠-ヿ]+)",
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|)"
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|)"
    R"(\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
};
const Patterns kFalcon = {
    R"([\p{P}\$\+<=>\^~\|`]+)",
    kGpt2Word,
    R"([0-9][0-9][0-9])",
};
const Patterns kStarcoder = {R"(\p{N})", kGpt2Word};
const Patterns kQwen2 = {
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
};
const Patterns kQwen35 = {
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
};
const Patterns kBloom = {R"( ?[^(\s|.,!?…。，、।۔،)]+)"};
const Patterns kChatGlm4 = {
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
};
const Patterns kViking = {R"( ?[^(\s|.,!?…。，、।۔،)]+)", R"(\p{N})"};
const Patterns kTekken = {
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|)"
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|)"
    R"(\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
};
const Patterns kChameleon = {
    R"(<sentinel:[0-9]+>)",    R"((IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z)",
    R"(([\t\n]|    |  ))",     R"(\p{N})",
    R"([\p{P}!-/:-@\[-`{-~])", kGpt2Word,
};
const Patterns kGpt4o = {
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|)"
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|)"
    R"(\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
};
const Patterns kGraniteEmbedMulti = kGpt4o;
const Patterns kTinyAya = {
    R"(\d{1,3}(?=(?:\d{3})*\b))",
    kGpt4o[0],
};
// Characters that Unicode normalisation would rewrite (CJK compatibility ideographs, Greek
// and letterlike singletons) are written as \x{...} so the source stays exact.

// Kimi K2 (tiktoken): Han runs first, and letters that are not Han. Class intersection
// ([...&&[^\p{Han}]]) is spelled as a negative lookahead per character.
const Patterns kKimiK2 = {
    R"([\p{Han}]+|)"
    R"([^\r\n\p{L}\p{N}]?(?:(?!\p{Han})[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}])*(?:(?!\p{Han})[\p{Ll}\p{Lm}\p{Lo}\p{M}])+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|)"
    R"([^\r\n\p{L}\p{N}]?(?:(?!\p{Han})[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}])+(?:(?!\p{Han})[\p{Ll}\p{Lm}\p{Lo}\p{M}])*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|)"
    R"(\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
};
const Patterns kSuperBpe = {R"(\p{N}+)", R"((?=(\d{3})+(?!\d)))"};
const Patterns kBailingMoe = {
    R"('(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+)",
};
const Patterns kSeedCoder = {
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)",
};
const Patterns kAfmoe = {
    // Digits in groups of three counted from the right (the leading group has 1-3).
    R"(\p{N}{1,3}(?=(?:\p{N}{3})*(?!\p{N})))",
    R"([一-鿿㐀-䶿\x{F900}-\x{FAFF}぀-ゟ゠-ヿ･-ﾟ⼀-⿟เ-๿຀-໿ក-៿က-႟ꩠ-ꩿꧠ-꧿가-힯ᄀ-ᇿ]+)",
    R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
};
const Patterns kLaguna = {R"([^\n]+|[\n]+)", kQwen2[0]};
const Patterns kExaoneMoe = {
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+)",
};
// Qwen2's regex without the English contractions (Turkish apostrophe suffixes stay attached).
const Patterns kUfakzeka = {
    R"([^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
};
const Patterns kLines = {R"([^\n]+|[\n]+)"};
const Patterns kNonSpace = {R"(\S+)"};
const Patterns kMiniCpm5 = {
    R"(\p{N}{1,3})",
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}+| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
};

// Per-row behaviour, as llama.cpp's loader sets it for each name.
enum RowFlag : uint32_t {
  kIgnoreMerges = 1u << 0,   // a pre-tokenized word that is a token is emitted whole
  kAddBos = 1u << 1,         // adds BOS unless the file says otherwise
  kAddSep = 1u << 2,         // RoBERTa-style encoders end with SEP
  kNoBos = 1u << 3,          // the family has no BOS token (ChatGLM)
  kNoCleanSpaces = 1u << 4,  // detokenize keeps " ," and " 's" (clean_spaces off)
  kSpmStyle = 1u << 5,       // spaces become U+2581 first; merges on raw UTF-8; <0xNN> fallback
  kRawUtf8 = 1u << 6,        // merges on raw UTF-8 characters, not GPT-2 byte-level ones
  kForceBos = 1u << 7,       // BOS is added even when the file says add_bos_token = false (Gemma 4)
  kNewlinesWhole = 1u << 8,  // a word of only newlines that is a token is emitted whole (Gemma 4)
};

struct Row {
  std::string_view name;
  const Patterns* patterns;
  uint32_t flags;
};

constexpr uint32_t kLlama3Flags = kIgnoreMerges | kAddBos;
constexpr uint32_t kKeep = kNoCleanSpaces;
constexpr uint32_t kGemma4Flags = kSpmStyle | kForceBos | kNewlinesWhole;

// clang-format off
const Row kRows[] = {
    {"default", &kDefault, 0},
    {"llama3", &kLlama3, kLlama3Flags}, {"llama-v3", &kLlama3, kLlama3Flags}, {"llama-bpe", &kLlama3, kLlama3Flags},
    {"falcon3", &kLlama3, kLlama3Flags}, {"falcon-h1", &kLlama3, kLlama3Flags}, {"pixtral", &kLlama3, kLlama3Flags},
    {"midm-2.0", &kLlama3, kLlama3Flags}, {"lfm2", &kLlama3, kLlama3Flags}, {"jina-v5-nano", &kLlama3, kLlama3Flags},
    {"dbrx", &kLlama3, 0}, {"smaug-bpe", &kLlama3, 0},
    {"jais-2", &kJais2, 0},
    {"deepseek-llm", &kDeepseekLlm, kKeep},
    {"deepseek-coder", &kDeepseekCoder, kKeep},
    {"deepseek-v3", &kDeepseekV3, kKeep}, {"hunyuan-dense", &kDeepseekV3, kKeep},
    {"joyai-llm", &kDeepseekV3, kKeep}, {"hy_v4", &kDeepseekV3, kKeep},
    {"spark2_5", &kSpark25, kKeep},
    {"youtu", &kYoutu, kIgnoreMerges | kKeep},
    {"falcon", &kFalcon, 0},
    {"mpt", &kGpt2, 0}, {"olmo", &kGpt2, 0}, {"jais", &kGpt2, 0},
    {"trillion", &kGpt2, kKeep}, {"granite-docling", &kGpt2, kKeep},
    {"gpt-2", &kGpt2, 0}, {"phi-2", &kGpt2, 0}, {"jina-es", &kGpt2, 0},
    {"jina-de", &kGpt2, 0}, {"gigachat", &kGpt2, 0}, {"jina-v2-es", &kGpt2, 0},
    {"jina-v2-de", &kGpt2, 0}, {"a.x-4.0", &kGpt2, 0}, {"mellum", &kGpt2, 0},
    {"modern-bert", &kGpt2, 0}, {"exaone4", &kGpt2, 0},
    {"jina-v1-en", &kGpt2, kAddSep}, {"jina-v2-code", &kGpt2, kAddSep},
    {"roberta-bpe", &kGpt2, kAddSep},
    {"starcoder", &kStarcoder, 0}, {"refact", &kStarcoder, 0},
    {"command-r", &kStarcoder, kKeep}, {"smollm", &kStarcoder, kKeep},
    {"codeshell", &kStarcoder, 0}, {"exaone", &kStarcoder, 0},
    {"minerva-7b", &kStarcoder, 0}, {"mellum2", &kStarcoder, 0},
    {"qwen2", &kQwen2, kKeep}, {"deepseek-r1-qwen", &kQwen2, kKeep}, {"kormo", &kQwen2, kKeep},
    {"f2llmv2", &kQwen2, kKeep}, {"stablelm2", &kQwen2, 0}, {"hunyuan", &kQwen2, kKeep},
    {"solar-open", &kQwen2, kKeep}, {"megrez", &kQwen2, 0}, {"grok-2", &kQwen2, kKeep},
    {"ufakzeka", &kUfakzeka, kKeep},
    {"qwen35", &kQwen35, kKeep},
    {"poro-chat", &kBloom, kKeep}, {"bloom", &kBloom, 0}, {"gpt3-finnish", &kBloom, 0},
    {"glm4", &kChatGlm4, kNoBos}, {"chatglm-bpe", &kChatGlm4, kNoBos},
    {"viking", &kViking, kKeep},
    {"tekken", &kTekken, kIgnoreMerges | kAddBos | kKeep},
    {"chameleon", &kChameleon, kAddBos | kKeep},
    {"gpt-4o", &kGpt4o, kKeep}, {"llama4", &kGpt4o, kKeep}, {"kanana2", &kGpt4o, kKeep},
    {"talkie", &kGpt4o, kKeep}, {"minimax-m2", &kGpt4o, kKeep},
    {"granite-embed-multi-97m", &kGraniteEmbedMulti, kIgnoreMerges | kKeep},
    {"tiny_aya", &kTinyAya, kKeep}, {"cohere2moe", &kTinyAya, kKeep},
    {"kimi-k2", &kKimiK2, kKeep},
    {"superbpe", &kSuperBpe, kKeep},
    {"bailingmoe", &kBailingMoe, kKeep}, {"bailingmoe2", &kBailingMoe, kKeep},
    {"llada-moe", &kBailingMoe, kKeep},
    {"seed-coder", &kSeedCoder, kKeep},
    {"afmoe", &kAfmoe, kKeep},
    {"laguna", &kLaguna, kKeep},
    {"exaone-moe", &kExaoneMoe, 0},
    {"minicpm5", &kMiniCpm5, kIgnoreMerges},
    // SentencePiece-shaped BPE: no word splitting beyond newline runs.
    {"gemma4", &kLines, kGemma4Flags}, {"granite-embed-multi-311m", &kLines, kGemma4Flags},
    {"sarvam-moe", &kLines, kSpmStyle | kKeep},
    // jina-embeddings-v2-base-zh: runs of non-space, merged on raw UTF-8.
    {"whitespace", &kNonSpace, kRawUtf8},
};
// clang-format on

std::vector<PreTokenizerSpec> build_specs() {
  std::vector<PreTokenizerSpec> specs;
  for (const Row& r : kRows) {
    const auto has = [&](uint32_t f) { return (r.flags & f) != 0; };
    PreTokenizerSpec spec{r.name, r.patterns};
    spec.ignore_merges = has(kIgnoreMerges);
    spec.add_bos = has(kAddBos) || has(kForceBos);
    spec.add_sep = has(kAddSep);
    spec.no_bos = has(kNoBos);
    spec.clean_spaces = !has(kNoCleanSpaces);
    spec.escape_spaces = has(kSpmStyle);
    spec.byte_level = !has(kSpmStyle) && !has(kRawUtf8);
    spec.force_add_bos = has(kForceBos);
    spec.newlines_whole = has(kNewlinesWhole);
    specs.push_back(spec);
  }
  return specs;
}

const std::vector<PreTokenizerSpec>& specs() {
  static const std::vector<PreTokenizerSpec> table = build_specs();  // immutable after first use
  return table;
}

}  // namespace

const PreTokenizerSpec* find_pre_tokenizer(std::string_view name) {
  for (const PreTokenizerSpec& s : specs()) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::vector<std::string_view> pre_tokenizer_names() {
  std::vector<std::string_view> names;
  for (const PreTokenizerSpec& s : specs()) names.push_back(s.name);
  return names;
}

}  // namespace tessera::tokenizer

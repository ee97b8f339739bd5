// The pre-tokenizer table: every `tokenizer.ggml.pre` name llama.cpp knows, mapped to the regex
// list of the original Hugging Face tokenizer. Where llama.cpp rewrote a regex for std::regex
// (case-insensitive groups spelled out, possessive quantifiers dropped), the original is used:
// PCRE2 supports it. Adding a name is adding a row.
#include <array>

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
const Patterns kMiniCpm5 = {
    R"(\p{N}{1,3})",
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}+| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
};

struct Row {
  std::string_view name;
  const Patterns* patterns;
  bool ignore_merges;
  bool add_bos;
  bool add_sep = false;  // RoBERTa-style encoders end with SEP
  bool no_bos = false;   // the family has no BOS token (ChatGLM)
};

// clang-format off
const Row kRows[] = {
    {"default", &kDefault, false, false},
    {"llama3", &kLlama3, true, true}, {"llama-v3", &kLlama3, true, true}, {"llama-bpe", &kLlama3, true, true},
    {"falcon3", &kLlama3, true, true}, {"falcon-h1", &kLlama3, true, true}, {"pixtral", &kLlama3, true, true},
    {"midm-2.0", &kLlama3, true, true}, {"lfm2", &kLlama3, true, true}, {"jina-v5-nano", &kLlama3, true, true},
    {"dbrx", &kLlama3, false, false}, {"smaug-bpe", &kLlama3, false, false},
    {"jais-2", &kJais2, false, false},
    {"deepseek-llm", &kDeepseekLlm, false, false},
    {"deepseek-coder", &kDeepseekCoder, false, false},
    {"deepseek-v3", &kDeepseekV3, false, false}, {"hunyuan-dense", &kDeepseekV3, false, false},
    {"joyai-llm", &kDeepseekV3, false, false},
    {"spark2_5", &kSpark25, false, false},
    {"youtu", &kYoutu, true, false},
    {"falcon", &kFalcon, false, false},
    {"mpt", &kGpt2, false, false}, {"olmo", &kGpt2, false, false}, {"jais", &kGpt2, false, false},
    {"trillion", &kGpt2, false, false}, {"granite-docling", &kGpt2, false, false},
    {"gpt-2", &kGpt2, false, false}, {"phi-2", &kGpt2, false, false}, {"jina-es", &kGpt2, false, false},
    {"jina-de", &kGpt2, false, false}, {"gigachat", &kGpt2, false, false}, {"jina-v2-es", &kGpt2, false, false},
    {"jina-v2-de", &kGpt2, false, false}, {"a.x-4.0", &kGpt2, false, false}, {"mellum", &kGpt2, false, false},
    {"modern-bert", &kGpt2, false, false}, {"exaone4", &kGpt2, false, false},
    {"jina-v1-en", &kGpt2, false, false, true}, {"jina-v2-code", &kGpt2, false, false, true},
    {"roberta-bpe", &kGpt2, false, false, true},
    {"starcoder", &kStarcoder, false, false}, {"refact", &kStarcoder, false, false},
    {"command-r", &kStarcoder, false, false}, {"smollm", &kStarcoder, false, false},
    {"codeshell", &kStarcoder, false, false}, {"exaone", &kStarcoder, false, false},
    {"minerva-7b", &kStarcoder, false, false}, {"mellum2", &kStarcoder, false, false},
    {"qwen2", &kQwen2, false, false}, {"deepseek-r1-qwen", &kQwen2, false, false}, {"kormo", &kQwen2, false, false},
    {"f2llmv2", &kQwen2, false, false}, {"stablelm2", &kQwen2, false, false}, {"hunyuan", &kQwen2, false, false},
    {"solar-open", &kQwen2, false, false}, {"megrez", &kQwen2, false, false}, {"grok-2", &kQwen2, false, false},
    {"qwen35", &kQwen35, false, false},
    {"poro-chat", &kBloom, false, false}, {"bloom", &kBloom, false, false}, {"gpt3-finnish", &kBloom, false, false},
    {"glm4", &kChatGlm4, false, false, false, true}, {"chatglm-bpe", &kChatGlm4, false, false, false, true},
    {"viking", &kViking, false, false},
    {"tekken", &kTekken, true, true},
    {"chameleon", &kChameleon, false, true},
    {"gpt-4o", &kGpt4o, false, false}, {"llama4", &kGpt4o, false, false}, {"kanana2", &kGpt4o, false, false},
    {"talkie", &kGpt4o, false, false}, {"minimax-m2", &kGpt4o, false, false},
    {"granite-embed-multi-97m", &kGraniteEmbedMulti, true, false},
    {"tiny_aya", &kTinyAya, false, false}, {"cohere2moe", &kTinyAya, false, false},
    {"kimi-k2", &kKimiK2, false, false},
    {"superbpe", &kSuperBpe, false, false},
    {"bailingmoe", &kBailingMoe, false, false}, {"bailingmoe2", &kBailingMoe, false, false},
    {"llada-moe", &kBailingMoe, false, false},
    {"seed-coder", &kSeedCoder, false, false},
    {"afmoe", &kAfmoe, false, false},
    {"laguna", &kLaguna, false, false},
    {"exaone-moe", &kExaoneMoe, false, false},
    {"minicpm5", &kMiniCpm5, true, false},
};
// clang-format on

std::vector<PreTokenizerSpec> build_specs() {
  std::vector<PreTokenizerSpec> specs;
  for (const Row& r : kRows) specs.push_back({r.name, r.patterns, r.ignore_merges, r.add_bos, r.add_sep, r.no_bos});
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

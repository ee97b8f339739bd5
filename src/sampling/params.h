// Every sampling setting of llama.cpp, with its defaults, in one plain struct; the stage names
// and letters of --samplers / --sampler-seq; -l TOKEN(+|-)BIAS parsing; and the model's own
// recommended defaults from GGUF `general.sampling.*` keys.
//
// The server maps request JSON fields onto SamplerParams one to one (names follow llama.cpp's
// common_params_sampling); a Chain is then built from it (chain.h). Plain values, no state.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/gguf_file.h"
#include "tessera/status.h"

namespace tessera::sampling {

// The configurable stages of a chain, in llama.cpp's vocabulary. Logit bias (first) and the
// final draw (or Mirostat) are always there and not part of the order.
enum class StageType {
  kPenalties,    // "penalties", letter 'e'
  kDry,          // "dry", 'd'
  kTopNSigma,    // "top_n_sigma", 's'
  kTopK,         // "top_k", 'k'
  kTypicalP,     // "typ_p", 'y'
  kTopP,         // "top_p", 'p'
  kMinP,         // "min_p", 'm'
  kXtc,          // "xtc", 'x'
  kTemperature,  // "temperature", 't'
  kCount,
};

std::string_view stage_name(StageType type);
char stage_letter(StageType type);

// llama.cpp's default order: penalties; dry; top_n_sigma; top_k; typ_p; top_p; min_p; xtc; temperature.
std::vector<StageType> default_order();

// "top_k;top_p;temperature" (also llama.cpp's alternative spellings: top-k, nucleus, typical, temp, ...).
// An unknown name is an error naming it.
Result<std::vector<StageType>> parse_stage_names(std::string_view names, char separator = ';');
// "edskypmxt": one letter per stage. An unknown letter is an error naming it.
Result<std::vector<StageType>> parse_stage_letters(std::string_view letters);

struct LogitBias {
  int32_t token = 0;
  float bias = 0.0f;  // added to the token's logit; -inf: never sampled
};

// "15043+1.5", "15043-0.5", "2-inf" (llama.cpp's -l / --logit-bias TOKEN_ID(+|-)BIAS).
Result<LogitBias> parse_logit_bias(std::string_view text);

inline constexpr uint32_t kRandomSeed = 0xFFFFFFFFu;  // llama.cpp's LLAMA_DEFAULT_SEED: pick one at random

struct SamplerParams {
  // Temperature: logits are divided by it before the draw; <= 0: greedy (only the most likely
  // token survives, after penalties and bias). --temp, JSON "temperature".
  float temperature = 0.8f;
  // Top-k: keep the k most likely tokens; <= 0: off. --top-k, "top_k".
  int32_t top_k = 40;
  // Top-p (nucleus): keep the most likely tokens until their probability reaches p; >= 1: off.
  // --top-p, "top_p".
  float top_p = 0.95f;
  // Min-p: drop tokens less likely than min_p times the most likely one; <= 0: off. --min-p, "min_p".
  float min_p = 0.05f;
  // RNG seed of the draw (and of XTC, Mirostat); kRandomSeed: a random one. -s, "seed".
  uint32_t seed = kRandomSeed;

  // Filters keep at least this many tokens (top-p, min-p, typical-p, XTC); 0: at least one. "min_keep".
  int32_t min_keep = 0;
  // Locally typical sampling: keep tokens whose surprise is closest to the entropy until their
  // probability exceeds p; >= 1: off. --typical, "typical_p".
  float typical_p = 1.0f;
  // Top-n-sigma: drop tokens whose logit is below max - n * stddev(logits); <= 0: off.
  // --top-n-sigma, "top_n_sigma".
  float top_n_sigma = -1.0f;
  // XTC ("exclude top choices"): with this probability, remove every token above the threshold
  // except the least likely of them; <= 0: off. --xtc-probability, "xtc_probability".
  float xtc_probability = 0.0f;
  // XTC's probability threshold; > 0.5: off. --xtc-threshold, "xtc_threshold".
  float xtc_threshold = 0.1f;
  // Dynamic temperature: the temperature moves within [temp - range, temp + range] with the
  // normalized entropy of the candidates raised to `exponent`; range <= 0: off.
  // --dynatemp-range, --dynatemp-exp, "dynatemp_range", "dynatemp_exponent".
  float dynatemp_range = 0.0f;
  float dynatemp_exponent = 1.0f;

  // Penalties over the last `repeat_last_n` tokens (prompt included): a repeated token's positive
  // logit is divided by repeat_penalty (a negative one multiplied), then count * frequency_penalty
  // and (count > 0) * presence_penalty are subtracted. repeat_last_n: 0 = off, -1 = the context.
  // --repeat-last-n, --repeat-penalty, --frequency-penalty, --presence-penalty;
  // "repeat_last_n", "repeat_penalty", "frequency_penalty", "presence_penalty".
  int32_t repeat_last_n = 64;
  float repeat_penalty = 1.0f;
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;

  // DRY ("don't repeat yourself"): a token that would extend a sequence already seen (longer than
  // allowed_length) loses multiplier * base^(length - allowed_length) of its logit; sequence
  // breakers end the sequences it looks at. multiplier 0: off. penalty_last_n: tokens scanned,
  // 0 = off, -1 = the context. --dry-multiplier, --dry-base, --dry-allowed-length,
  // --dry-penalty-last-n, --dry-sequence-breaker; "dry_multiplier", "dry_base",
  // "dry_allowed_length", "dry_penalty_last_n", "dry_sequence_breakers".
  float dry_multiplier = 0.0f;
  float dry_base = 1.75f;
  int32_t dry_allowed_length = 2;
  int32_t dry_penalty_last_n = -1;
  std::vector<std::string> dry_sequence_breakers = {"\n", ":", "\"", "*"};

  // Mirostat: 0 = off, 1 = Mirostat, 2 = Mirostat 2.0. When on it replaces the configurable
  // stages: the chain is logit bias, temperature, Mirostat (as llama.cpp). tau: target entropy
  // (surprise, bits), eta: learning rate. --mirostat, --mirostat-ent, --mirostat-lr;
  // "mirostat", "mirostat_tau", "mirostat_eta".
  int32_t mirostat = 0;
  float mirostat_tau = 5.0f;
  float mirostat_eta = 0.1f;

  // Biases added to logits first in the chain. -l, "logit_bias".
  std::vector<LogitBias> logit_bias = {};
  // Never end the generation: every end-of-generation token gets a -inf bias. --ignore-eos, "ignore_eos".
  bool ignore_eos = false;
  // Top-N log-probabilities a caller reports per token (the chain itself does not use it). "n_probs".
  int32_t n_probs = 0;

  // The configurable stages in order. --samplers, --sampler-seq, "samplers".
  std::vector<StageType> order = default_order();

  // Checks ranges (min_keep >= 0, mirostat in {0,1,2}, repeat_last_n >= -1, ...): an error names the field.
  Status validate() const;
};

// Which fields the user set, so that model defaults do not override them.
struct UserSet {
  bool top_k = false, top_p = false, min_p = false, temperature = false;
  bool xtc_probability = false, xtc_threshold = false;
  bool repeat_last_n = false, repeat_penalty = false;
  bool mirostat = false, mirostat_tau = false, mirostat_eta = false;
  bool order = false;
};

// Applies the model's recommended settings (`general.sampling.top_k`, `.top_p`, `.min_p`, `.temp`,
// `.xtc_probability`, `.xtc_threshold`, `.penalty_last_n`, `.penalty_repeat`, `.mirostat`,
// `.mirostat_tau`, `.mirostat_eta`, and `.sequence`, stage names separated by ';') to the fields
// the user did not set, as llama.cpp's common_init_sampler_from_model does. Returns the keys
// applied ("top_k=64", ...) for a verbose log. A key of the wrong type or an invalid sequence is
// an error naming the key.
Result<std::vector<std::string>> apply_model_defaults(const gguf::GgufFile& file, const UserSet& user_set,
                                                      SamplerParams& params);

}  // namespace tessera::sampling

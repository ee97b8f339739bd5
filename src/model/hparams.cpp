#include "model/hparams.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include <fmt/format.h>

namespace tessera::model {
namespace {

// Reads `{arch}.{suffix}` keys, naming the full key in every error.
class KeyReader {
 public:
  KeyReader(const gguf::GgufFile& file, std::string_view arch) : file_(file), arch_(arch) {}

  std::string key(std::string_view suffix) const { return fmt::format("{}.{}", arch_, suffix); }

  // A non-negative integer.
  Result<std::optional<int64_t>> integer(std::string_view suffix) const {
    const std::string k = key(suffix);
    const gguf::Value* v = file_.find(k);
    if (v == nullptr) return std::optional<int64_t>();
    if (v->is_array()) return Status::error(fmt::format("key '{}': expected an integer, not an array", k));
    const std::optional<uint64_t> u = v->get_unsigned();
    if (!u || *u > (uint64_t{1} << 40)) {
      return Status::error(fmt::format("key '{}': expected a non-negative integer", k));
    }
    return std::optional<int64_t>(static_cast<int64_t>(*u));
  }

  // One non-negative integer per layer: an array of n_layer integers, or one integer for all
  // layers (llama.cpp's get_key_or_arr). Empty when the key is absent.
  Result<std::vector<int64_t>> per_layer(std::string_view suffix, int64_t n_layer) const {
    const std::string k = key(suffix);
    const gguf::Value* v = file_.find(k);
    if (v == nullptr) return std::vector<int64_t>();
    if (!v->is_array()) {
      Result<std::optional<int64_t>> one = integer(suffix);
      if (!one.ok()) return one.status();
      return std::vector<int64_t>(static_cast<size_t>(n_layer), **one);
    }
    if (v->size() != static_cast<uint64_t>(n_layer)) {
      return Status::error(
          fmt::format("key '{}': array has {} elements, expected one per layer ({})", k, v->size(), n_layer));
    }
    const gguf::ValueType et = v->element_type();
    std::vector<int64_t> out;
    for (uint64_t i = 0; i < v->size(); ++i) {
      std::optional<uint64_t> u;
      if (et != gguf::ValueType::kString && et != gguf::ValueType::kArray) {
        u = gguf::Value::scalar(et, v->array_bytes() + i * gguf::scalar_size(et)).get_unsigned();
      }
      if (!u || *u > (uint64_t{1} << 40)) {
        return Status::error(fmt::format("key '{}': element {} is not a non-negative integer", k, i));
      }
      out.push_back(static_cast<int64_t>(*u));
    }
    return out;
  }

  Result<int64_t> required_integer(std::string_view suffix) const {
    Result<std::optional<int64_t>> v = integer(suffix);
    if (!v.ok()) return v.status();
    if (!v->has_value()) return Status::error(fmt::format("missing required key '{}'", key(suffix)));
    return **v;
  }

  Result<std::optional<float>> real(std::string_view suffix) const {
    const std::string k = key(suffix);
    const gguf::Value* v = file_.find(k);
    if (v == nullptr) return std::optional<float>();
    const std::optional<double> d = v->get_float();
    if (!d || !std::isfinite(*d)) return Status::error(fmt::format("key '{}': expected a finite float", k));
    return std::optional<float>(static_cast<float>(*d));
  }

  Result<std::optional<std::string_view>> string(std::string_view suffix) const {
    const std::string k = key(suffix);
    const gguf::Value* v = file_.find(k);
    if (v == nullptr) return std::optional<std::string_view>();
    const std::optional<std::string_view> s = v->get_string();
    if (!s) return Status::error(fmt::format("key '{}': expected a string", k));
    return std::optional<std::string_view>(*s);
  }

 private:
  const gguf::GgufFile& file_;
  std::string_view arch_;
};

// Early returns on failure keep the loader readable.
#define TESSERA_ASSIGN_OR_RETURN(lhs, expr)                   \
  do {                                                        \
    auto assign_result_ = (expr);                             \
    if (!assign_result_.ok()) return assign_result_.status(); \
    lhs = std::move(assign_result_.value());                  \
  } while (false)

Status load_rope(const KeyReader& keys, Hparams& hp) {
  RopeParams& rope = hp.rope;
  std::optional<int64_t> n_rot;
  TESSERA_ASSIGN_OR_RETURN(n_rot, keys.integer("rope.dimension_count"));
  rope.n_rot = static_cast<int>(n_rot.value_or(hp.head_dim_k));
  if (rope.n_rot <= 0 || rope.n_rot > hp.head_dim_k || rope.n_rot % 2 != 0) {
    return Status::error(fmt::format("key '{}': {} must be even and in (0, head_dim {}]",
                                     keys.key("rope.dimension_count"), rope.n_rot, hp.head_dim_k));
  }
  std::optional<float> base;
  TESSERA_ASSIGN_OR_RETURN(base, keys.real("rope.freq_base"));
  rope.freq_base = base.value_or(10000.0f);
  if (rope.freq_base <= 0) return Status::error(fmt::format("key '{}' must be positive", keys.key("rope.freq_base")));

  std::optional<std::string_view> type;
  TESSERA_ASSIGN_OR_RETURN(type, keys.string("rope.scaling.type"));
  std::optional<float> factor;
  TESSERA_ASSIGN_OR_RETURN(factor, keys.real("rope.scaling.factor"));
  if (!factor) TESSERA_ASSIGN_OR_RETURN(factor, keys.real("rope.scale_linear"));  // older files
  if (!type) type = (factor && *factor != 1.0f) ? "linear" : "none";
  if (*type == "none") {
    rope.scaling = RopeScaling::kNone;
  } else if (*type == "linear" || *type == "yarn") {
    rope.scaling = *type == "linear" ? RopeScaling::kLinear : RopeScaling::kYarn;
    if (!factor || *factor <= 0) {
      return Status::error(
          fmt::format("key '{}' must be positive for {} rope scaling", keys.key("rope.scaling.factor"), *type));
    }
    rope.freq_scale = 1.0f / *factor;
  } else {
    return Status::error(fmt::format("key '{}': unsupported rope scaling '{}' (supported: none, linear, yarn)",
                                     keys.key("rope.scaling.type"), *type));
  }
  std::optional<int64_t> orig;
  TESSERA_ASSIGN_OR_RETURN(orig, keys.integer("rope.scaling.original_context_length"));
  hp.n_ctx_orig = orig.value_or(0);
  std::optional<float> f;
  // llama.cpp's rope_attn_factor: multiplies cos/sin whatever the scaling (phi3 LongRoPE).
  TESSERA_ASSIGN_OR_RETURN(f, keys.real("rope.scaling.attn_factor"));
  rope.attn_factor = f.value_or(1.0f);
  if (rope.scaling == RopeScaling::kYarn) {
    rope.n_ctx_orig = static_cast<int>(orig.value_or(hp.n_ctx_train));
    TESSERA_ASSIGN_OR_RETURN(f, keys.real("rope.scaling.yarn_ext_factor"));
    rope.ext_factor = f.value_or(1.0f);
    TESSERA_ASSIGN_OR_RETURN(f, keys.real("rope.scaling.yarn_beta_fast"));
    rope.beta_fast = f.value_or(32.0f);
    TESSERA_ASSIGN_OR_RETURN(f, keys.real("rope.scaling.yarn_beta_slow"));
    rope.beta_slow = f.value_or(1.0f);
    // DeepSeek-style mscale_all_dim (mistral3): the magnitude becomes mscale(s, 1) / mscale(s,
    // log_mul) with mscale(s, m) = 1 + 0.1 m ln s, as in transformers' YaRN and llama.cpp; the
    // rope op supplies mscale(s, 1), so attn_factor carries 1 / mscale(s, log_mul).
    TESSERA_ASSIGN_OR_RETURN(f, keys.real("rope.scaling.yarn_log_multiplier"));
    const float s = 1.0f / rope.freq_scale;
    if (f && *f != 0.0f && s > 1.0f) rope.attn_factor /= 1.0f + 0.1f * *f * std::log(s);
  }
  // Sliding-window layers: gemma3 trains them with their own base and no scaling.
  hp.rope_swa = rope;
  if (hp.arch->swa_rope_base > 0) {
    hp.rope_swa = RopeParams{};
    hp.rope_swa.n_rot = rope.n_rot;
    hp.rope_swa.freq_base = hp.arch->swa_rope_base;
  }
  std::optional<float> base_swa;
  TESSERA_ASSIGN_OR_RETURN(base_swa, keys.real("rope.freq_base_swa"));
  if (base_swa) hp.rope_swa.freq_base = *base_swa;
  return Status();
}

// Head counts per layer. A layer without heads (llama.cpp's DeciLM attention-free layers) has no
// place in this graph, so zero is an error naming the layer.
Status load_head_counts(const KeyReader& keys, Hparams& hp) {
  TESSERA_ASSIGN_OR_RETURN(hp.n_head_layer, keys.per_layer("attention.head_count", hp.n_layer));
  if (hp.n_head_layer.empty()) {
    return Status::error(fmt::format("missing required key '{}'", keys.key("attention.head_count")));
  }
  TESSERA_ASSIGN_OR_RETURN(hp.n_head_kv_layer, keys.per_layer("attention.head_count_kv", hp.n_layer));
  if (hp.n_head_kv_layer.empty()) hp.n_head_kv_layer = hp.n_head_layer;
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    const int64_t nh = hp.n_head_at(il), nkv = hp.n_head_kv_at(il);
    if (nh <= 0) {
      return Status::error(fmt::format("key '{}': layer {} has {} heads (attention-free layers are not supported)",
                                       keys.key("attention.head_count"), il, nh));
    }
    if (nkv <= 0 || nh % nkv != 0) {
      return Status::error(
          fmt::format("key '{}': layer {} has {} KV heads, which must be positive and divide its {} "
                      "heads",
                      keys.key("attention.head_count_kv"), il, nkv, nh));
    }
    hp.n_head = std::max(hp.n_head, nh);
    hp.n_head_kv = std::max(hp.n_head_kv, nkv);
  }
  return Status();
}

// Attention temperature (llama.cpp: f_attn_temp_scale with n_attn_temp_floor_scale; mistral3
// takes the length from the YaRN original context).
Status load_temperature(const KeyReader& keys, Hparams& hp) {
  std::optional<float> scale;
  TESSERA_ASSIGN_OR_RETURN(scale, keys.real("attention.temperature_scale"));
  hp.attn_temp_scale = scale.value_or(0.0f);
  if (hp.attn_temp_scale == 0.0f) return Status();
  std::optional<int64_t> length;
  TESSERA_ASSIGN_OR_RETURN(length, keys.integer("attention.temperature_length"));
  hp.attn_temp_length = length.value_or(hp.n_ctx_orig);
  if (hp.attn_temp_length <= 0) {
    return Status::error(fmt::format("key '{}' needs a positive '{}' or '{}'", keys.key("attention.temperature_scale"),
                                     keys.key("attention.temperature_length"),
                                     keys.key("rope.scaling.original_context_length")));
  }
  return Status();
}

Status load_attention(const KeyReader& keys, Hparams& hp) {
  std::optional<int64_t> v;
  if (Status s = load_head_counts(keys, hp); !s.ok()) return s;
  TESSERA_ASSIGN_OR_RETURN(v, keys.integer("attention.key_length"));
  hp.head_dim_k = v.value_or(hp.n_embd / hp.n_head_at(0));
  TESSERA_ASSIGN_OR_RETURN(v, keys.integer("attention.value_length"));
  hp.head_dim_v = v.value_or(hp.n_embd / hp.n_head_at(0));
  if (hp.head_dim_k <= 0 || hp.head_dim_v <= 0) return Status::error("head dimension must be positive");

  std::optional<float> f;
  TESSERA_ASSIGN_OR_RETURN(f, keys.real("attention.layer_norm_rms_epsilon"));
  if (!f) TESSERA_ASSIGN_OR_RETURN(f, keys.real("attention.layer_norm_epsilon"));
  hp.norm_eps = f.value_or(hp.arch->norm == NormType::kRms ? 1e-6f : 1e-5f);

  hp.attn_scale = 1.0f / std::sqrt(static_cast<float>(hp.head_dim_k));
  // Gemma 2 27B and Gemma 3 27B scale queries by 1/sqrt(n_embd / n_head) (their
  // query_pre_attn_scalar), which no GGUF key records; llama.cpp recognises them by layer count.
  if ((hp.arch->arch == Arch::kGemma2 && hp.n_layer == 46) || (hp.arch->arch == Arch::kGemma3 && hp.n_layer == 62)) {
    hp.attn_scale = 1.0f / std::sqrt(static_cast<float>(hp.n_embd / hp.n_head));
  }
  TESSERA_ASSIGN_OR_RETURN(f, keys.real("attention.scale"));
  if (f) hp.attn_scale = *f;
  TESSERA_ASSIGN_OR_RETURN(f, keys.real("attn_logit_softcapping"));
  hp.attn_softcap = f.value_or(0.0f);
  TESSERA_ASSIGN_OR_RETURN(f, keys.real("final_logit_softcapping"));
  hp.final_softcap = f.value_or(0.0f);
  if (hp.attn_softcap < 0 || hp.final_softcap < 0) return Status::error("soft-capping values must be >= 0");

  hp.swa_layers.assign(static_cast<size_t>(hp.n_layer), false);
  const int period = hp.arch->swa_period;
  if (period >= 0) {
    TESSERA_ASSIGN_OR_RETURN(v, keys.integer("attention.sliding_window"));
    hp.n_swa = v.value_or(0);
    for (int64_t il = 0; il < hp.n_layer && hp.n_swa > 0; ++il) {
      hp.swa_layers[static_cast<size_t>(il)] = period == 0 || il % period < period - 1;
    }
  }
  return Status();
}

constexpr int64_t kMaxLayers = 4096;  // bounds per-layer arrays read from untrusted files

}  // namespace

Result<Hparams> load_hparams(const gguf::GgufFile& file) {
  const gguf::Value* arch_value = file.find("general.architecture");
  if (arch_value == nullptr || !arch_value->get_string()) {
    return Status::error("missing string key 'general.architecture'");
  }
  Result<const ArchInfo*> arch = find_arch(*arch_value->get_string());
  if (!arch.ok()) return arch.status();

  Hparams hp;
  hp.arch = *arch;
  const KeyReader keys(file, hp.arch->name);
  TESSERA_ASSIGN_OR_RETURN(hp.n_embd, keys.required_integer("embedding_length"));
  TESSERA_ASSIGN_OR_RETURN(hp.n_layer, keys.required_integer("block_count"));
  TESSERA_ASSIGN_OR_RETURN(hp.n_ctx_train, keys.required_integer("context_length"));
  if (hp.n_layer > kMaxLayers) {
    return Status::error(
        fmt::format("key '{}': {} layers is more than {}", keys.key("block_count"), hp.n_layer, kMaxLayers));
  }
  if (hp.n_layer > 0) TESSERA_ASSIGN_OR_RETURN(hp.n_ff_layer, keys.per_layer("feed_forward_length", hp.n_layer));
  if (hp.n_layer > 0 && hp.n_ff_layer.empty()) {
    return Status::error(fmt::format("missing required key '{}'", keys.key("feed_forward_length")));
  }
  for (int64_t ff : hp.n_ff_layer) hp.n_ff = std::max(hp.n_ff, ff);
  const bool ff_ok = std::all_of(hp.n_ff_layer.begin(), hp.n_ff_layer.end(), [](int64_t ff) { return ff > 0; });
  if (hp.n_embd <= 0 || hp.n_layer <= 0 || !ff_ok || hp.n_ctx_train <= 0) {
    return Status::error(
        fmt::format("{}: embedding_length, block_count, feed_forward_length and context_length "
                    "must be positive",
                    hp.arch->name));
  }
  if (Status s = load_attention(keys, hp); !s.ok()) return s;
  if (Status s = load_rope(keys, hp); !s.ok()) return s;
  if (Status s = load_temperature(keys, hp); !s.ok()) return s;
  if (hp.arch->embed_scale) hp.embed_scale = std::sqrt(static_cast<float>(hp.n_embd));

  const gguf::TensorInfo* embd = file.find_tensor("token_embd.weight");
  if (embd == nullptr) return Status::error("missing tensor 'token_embd.weight'");
  hp.n_vocab = static_cast<int64_t>(embd->shape[1]);
  return hp;
}

#undef TESSERA_ASSIGN_OR_RETURN

}  // namespace tessera::model

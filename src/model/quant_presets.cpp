#include "model/quant_presets.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <numeric>

namespace tessera::model {
namespace {

using quant::TensorType;
using F = FileType;
using T = TensorType;

constexpr Preset kPresets[] = {
    {"Q4_0", F::kQ4_0, T::kQ4_0, "4.34G, +0.4685 ppl @ Llama-3-8B"},
    {"Q4_1", F::kQ4_1, T::kQ4_1, "4.78G, +0.4511 ppl @ Llama-3-8B"},
    {"Q5_0", F::kQ5_0, T::kQ5_0, "5.21G, +0.1316 ppl @ Llama-3-8B"},
    {"Q5_1", F::kQ5_1, T::kQ5_1, "5.65G, +0.1062 ppl @ Llama-3-8B"},
    {"Q8_0", F::kQ8_0, T::kQ8_0, "7.96G, +0.0026 ppl @ Llama-3-8B"},
    {"Q2_K", F::kQ2_K, T::kQ2_K, "2.96G, +3.5199 ppl @ Llama-3-8B"},
    {"Q2_K_S", F::kQ2_K_S, T::kQ2_K, "2.96G, +3.1836 ppl @ Llama-3-8B (needs --imatrix)"},
    {"Q3_K_S", F::kQ3_K_S, T::kQ3_K, "3.41G, +1.6321 ppl @ Llama-3-8B"},
    {"Q3_K_M", F::kQ3_K_M, T::kQ3_K, "3.74G, +0.6569 ppl @ Llama-3-8B"},
    {"Q3_K_L", F::kQ3_K_L, T::kQ3_K, "4.03G, +0.5562 ppl @ Llama-3-8B"},
    {"Q4_K_S", F::kQ4_K_S, T::kQ4_K, "4.37G, +0.2689 ppl @ Llama-3-8B"},
    {"Q4_K_M", F::kQ4_K_M, T::kQ4_K, "4.58G, +0.1754 ppl @ Llama-3-8B"},
    {"Q5_K_S", F::kQ5_K_S, T::kQ5_K, "5.21G, +0.1049 ppl @ Llama-3-8B"},
    {"Q5_K_M", F::kQ5_K_M, T::kQ5_K, "5.33G, +0.0569 ppl @ Llama-3-8B"},
    {"Q6_K", F::kQ6_K, T::kQ6_K, "6.14G, +0.0217 ppl @ Llama-3-8B"},
    {"IQ4_NL", F::kIQ4_NL, T::kIQ4_NL, "4.50 bpw non-linear quantization"},
    {"IQ4_XS", F::kIQ4_XS, T::kIQ4_XS, "4.25 bpw non-linear quantization"},
    {"TQ1_0", F::kTQ1_0, T::kTQ1_0, "1.69 bpw ternarization"},
    {"TQ2_0", F::kTQ2_0, T::kTQ2_0, "2.06 bpw ternarization"},
    {"MXFP4_MOE", F::kMXFP4_MOE, T::kMXFP4, "MXFP4 for MoE experts, Q8_0 elsewhere"},
    {"F16", F::kF16, T::kF16, "14.00G, +0.0020 ppl @ Mistral-7B"},
    {"BF16", F::kBF16, T::kBF16, "14.00G, -0.0050 ppl @ Mistral-7B"},
    {"F32", F::kAllF32, T::kF32, "26.00G @ 7B"},
};

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) == std::toupper(static_cast<unsigned char>(y));
         });
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// llama-quantize's "use more bits" layers: the first and last eighth, and every third between.
bool use_more_bits(int i_layer, int n_layers) {
  return i_layer < n_layers / 8 || i_layer >= 7 * n_layers / 8 || (i_layer - n_layers / 8) % 3 == 2;
}

// "blk.N.xxx" -> N; -1 for tensors outside the blocks.
int block_index(std::string_view name) {
  constexpr std::string_view kPrefix = "blk.";
  if (name.substr(0, kPrefix.size()) != kPrefix) return -1;
  int layer = -1;
  const char* begin = name.data() + kPrefix.size();
  const auto [end, error] = std::from_chars(begin, name.data() + name.size(), layer);
  if (error != std::errc() || end == begin || *end != '.') return -1;
  return layer;
}

// Types used when a tensor's rows are not a multiple of the chosen type's block size.
std::optional<TensorType> fallback_type(TensorType type) {
  switch (type) {
    case T::kTQ1_0:
    case T::kTQ2_0: return T::kQ4_0;
    case T::kIQ2_XXS:
    case T::kIQ2_XS:
    case T::kIQ2_S:
    case T::kIQ3_XXS:
    case T::kIQ3_S:
    case T::kIQ1_S:
    case T::kIQ1_M:
    case T::kQ2_K:
    case T::kQ3_K:
    case T::kIQ4_XS: return T::kIQ4_NL;
    case T::kQ4_K: return T::kQ5_0;
    case T::kQ5_K: return T::kQ5_1;
    case T::kQ6_K: return T::kQ8_0;
    default: return std::nullopt;
  }
}

bool is_very_low_bit(FileType f) {
  return f == F::kIQ2_XXS || f == F::kIQ2_XS || f == F::kIQ1_S || f == F::kIQ2_S || f == F::kIQ2_M || f == F::kIQ1_M;
}

}  // namespace

std::span<const Preset> presets() {
  return kPresets;
}

std::optional<Preset> find_preset(std::string_view name) {
  for (const Preset& p : kPresets) {
    if (equal_ignoring_case(p.name, name)) return p;
  }
  return std::nullopt;
}

bool should_quantize(const TensorDesc& tensor, bool quantize_output_tensor) {
  const std::string_view name = tensor.name;
  if (!ends_with(name, "weight") || tensor.n_dims < 2) return false;
  if (!quantize_output_tensor && name == "output.weight") return false;
  // Kept in full precision by llama-quantize: norms, MoE routers, tiny or position tensors.
  constexpr std::array<std::string_view, 23> kKeep = {
      "_norm.weight",
      "ffn_gate_inp.weight",
      "altup",
      "laurel",
      "per_layer_model_proj",
      "ssm_conv1d.weight",
      "shortconv.conv.weight",
      "time_mix_first.weight",
      "time_mix_w0.weight",
      "time_mix_w1.weight",
      "time_mix_w2.weight",
      "time_mix_v0.weight",
      "time_mix_v1.weight",
      "time_mix_v2.weight",
      "time_mix_a0.weight",
      "time_mix_a1.weight",
      "time_mix_a2.weight",
      "time_mix_g1.weight",
      "time_mix_g2.weight",
      "time_mix_decay_w1.weight",
      "time_mix_decay_w2.weight",
      "time_mix_lerp_fused.weight",
      "attn_rel_b.weight",
  };
  for (std::string_view keep : kKeep) {
    if (contains(name, keep)) return false;
  }
  return name != "position_embd.weight" && name != "token_types.weight";
}

TypeSelector::Choice TypeSelector::choose(const TensorDesc& tensor) {
  const TensorType rule_type = mixing_rule(tensor, preset_.default_type);
  const quant::TypeTraits& traits = quant::type_traits(rule_type);
  if (tensor.shape[0] % traits.block_size == 0) return {rule_type, false};
  TensorType type = fallback_type(rule_type).value_or(T::kF16);
  if (tensor.shape[0] % quant::type_traits(type).block_size != 0) type = T::kF16;
  return {type, true};
}

int TypeSelector::layer_of(std::string_view name, int counter) const {
  // MoE models interleave expert tensors, so the counter is not the layer; the name is.
  if (facts_.n_expert > 1) return block_index(name);
  return counter;
}

TensorType TypeSelector::mixing_rule(const TensorDesc& tensor, TensorType type) {
  const std::string_view name = tensor.name;
  const FileType f = preset_.file_type;
  if (name == "output.weight" || (!facts_.has_output && name == "token_embd.weight")) {
    return output_rule(tensor, type);
  }
  if (f == F::kMXFP4_MOE) return tensor.n_dims >= 3 && tensor.shape[2] > 1 ? T::kMXFP4 : T::kQ8_0;
  if (name == "token_embd.weight" || name == "per_layer_token_embd.weight") return token_embedding_rule(type);
  if (is_very_low_bit(f)) return very_low_bit_rule(name, type);
  if (contains(name, "attn_v.weight")) return attn_v_rule(type);
  if (contains(name, "attn_k.weight")) {
    if (facts_.n_expert == 8) return T::kQ8_0;
    if (f == F::kIQ3_XS) return T::kIQ3_XXS;
    if (f == F::kIQ3_XXS) return T::kIQ2_S;
    return type;
  }
  if (contains(name, "attn_q.weight")) {
    if (f == F::kIQ3_XS) return T::kIQ3_XXS;
    if (f == F::kIQ3_XXS) return T::kIQ2_S;
    return type;
  }
  if (contains(name, "ffn_down")) return ffn_down_rule(name, type);
  if (contains(name, "attn_output.weight")) return attn_output_rule(type);
  if (contains(name, "attn_qkv.weight")) {
    if (f == F::kQ3_K_M || f == F::kQ3_K_L || f == F::kIQ3_M) return T::kQ4_K;
    if (f == F::kQ4_K_M) return T::kQ5_K;
    if (f == F::kQ5_K_M) return T::kQ6_K;
    return type;
  }
  const bool gate = contains(name, "ffn_gate");
  if (gate || contains(name, "ffn_up")) {
    int& counter = gate ? i_ffn_gate_ : i_ffn_up_;
    const int i_layer = layer_of(name, counter++);
    const int n = facts_.n_layer;
    if (f == F::kIQ3_XS && i_layer >= n / 8 && i_layer < 7 * n / 8) return T::kIQ3_XXS;
  }
  return type;
}

TensorType TypeSelector::output_rule(const TensorDesc& tensor, TensorType type) const {
  const FileType f = preset_.file_type;
  if (f == F::kMXFP4_MOE) return T::kQ8_0;
  if (facts_.architecture == "falcon" || tensor.shape[0] % quant::type_traits(type).block_size != 0) {
    return T::kQ8_0;
  }
  if (is_very_low_bit(f) || f == F::kIQ3_XXS) return T::kQ5_K;
  return type == T::kQ8_0 ? type : T::kQ6_K;
}

TensorType TypeSelector::token_embedding_rule(TensorType type) const {
  switch (preset_.file_type) {
    case F::kIQ2_XXS:
    case F::kIQ2_XS:
    case F::kIQ1_S:
    case F::kIQ1_M: return T::kQ2_K;
    case F::kIQ2_S:
    case F::kIQ2_M:
    case F::kIQ3_XXS: return T::kIQ3_S;
    case F::kTQ1_0:
    case F::kTQ2_0: return T::kQ4_K;
    default: return type;
  }
}

TensorType TypeSelector::very_low_bit_rule(std::string_view name, TensorType type) {
  const FileType f = preset_.file_type;
  const bool iq2_s_family = f == F::kIQ2_S || f == F::kIQ2_M;
  if (contains(name, "attn_v.weight")) {
    ++i_attention_wv_;
    if (facts_.n_gqa >= 4 || facts_.n_expert >= 4) return T::kQ4_K;
    return iq2_s_family ? T::kIQ3_S : T::kQ2_K;
  }
  if (facts_.n_expert == 8 && contains(name, "attn_k.weight")) return T::kQ4_K;
  if (contains(name, "ffn_down")) {
    const bool first_eighth = i_ffn_down_++ < facts_.n_layer / 8;
    return first_eighth ? (iq2_s_family ? T::kIQ3_S : T::kQ2_K) : type;
  }
  if (contains(name, "attn_output.weight")) {
    if (facts_.n_expert == 8) return T::kQ5_K;
    if (f == F::kIQ1_S || f == F::kIQ1_M) return T::kIQ2_XXS;
    if (iq2_s_family) return T::kIQ3_S;
  }
  return type;
}

TensorType TypeSelector::attn_v_rule(TensorType type) {
  const FileType f = preset_.file_type;
  const int i = i_attention_wv_++;
  const int gqa = facts_.n_gqa;
  if (facts_.n_expert == 8) return T::kQ8_0;  // small tensor, shared by 8 experts: worth the bytes
  switch (f) {
    case F::kQ2_K: return gqa >= 4 ? T::kQ4_K : T::kQ3_K;
    case F::kQ2_K_S: return gqa >= 4 ? T::kQ4_K : type;
    case F::kIQ3_XXS: return gqa >= 4 ? T::kQ4_K : (facts_.has_imatrix ? T::kIQ3_XXS : T::kIQ3_S);
    case F::kIQ3_XS:
    case F::kIQ3_S: return gqa >= 4 ? T::kQ4_K : type;
    case F::kIQ3_M: return T::kQ4_K;
    case F::kQ3_K_M: return i < 2 ? T::kQ5_K : T::kQ4_K;
    case F::kQ3_K_L: return T::kQ5_K;
    case F::kIQ4_NL:
    case F::kIQ4_XS: return gqa >= 4 ? T::kQ5_K : type;
    case F::kQ4_K_M:
    case F::kQ5_K_M: return use_more_bits(i, facts_.n_attention_wv) ? T::kQ6_K : type;
    case F::kQ4_K_S: return i < 4 ? T::kQ5_K : type;
    default: return type;
  }
}

TensorType TypeSelector::ffn_down_rule(std::string_view name, TensorType type) {
  const FileType f = preset_.file_type;
  const int i = layer_of(name, i_ffn_down_++);
  const int n = facts_.n_layer;
  const bool falcon = facts_.architecture == "falcon";
  switch (f) {
    case F::kQ2_K: return T::kQ3_K;
    case F::kQ2_K_S: return i < n / 8 ? T::kQ4_K : type;
    case F::kIQ3_XXS:
      if (!facts_.has_imatrix) return i < n / 8 ? T::kQ4_K : T::kQ3_K;
      return type;
    case F::kQ3_K_M:
      if (i < n / 16) return T::kQ5_K;
      return !falcon || use_more_bits(i, n) ? T::kQ4_K : T::kQ3_K;
    case F::kIQ3_M: return i < n / 8 || (facts_.n_expert == 8 && use_more_bits(i, n)) ? T::kQ4_K : type;
    case F::kQ3_K_L: return falcon ? T::kQ4_K : T::kQ5_K;
    case F::kQ4_K_M:
      if (falcon) return i < n / 16 ? T::kQ6_K : use_more_bits(i, n) ? T::kQ5_K : T::kQ4_K;
      return use_more_bits(i, n) ? T::kQ6_K : type;
    case F::kIQ4_NL:
    case F::kIQ4_XS: return i < n / 8 && !facts_.has_imatrix ? T::kQ5_K : type;
    case F::kQ5_K_M: return use_more_bits(i, n) ? T::kQ6_K : type;
    case F::kQ4_K_S: return !falcon && i < n / 8 ? T::kQ5_K : type;
    case F::kQ4_0:
    case F::kQ5_0:
      // First layers' ffn_down can go badly even with an imatrix: give them the min-offset type.
      if (facts_.has_imatrix && i < n / 8) return f == F::kQ4_0 ? T::kQ4_1 : T::kQ5_1;
      return type;
    default: return type;
  }
}

TensorType TypeSelector::attn_output_rule(TensorType type) const {
  const FileType f = preset_.file_type;
  if (facts_.architecture == "falcon") return f == F::kQ3_K_L ? T::kQ4_K : type;
  if (facts_.n_expert == 8) {
    switch (f) {
      case F::kQ2_K:
      case F::kIQ3_XS:
      case F::kIQ3_XXS:
      case F::kQ3_K_S:
      case F::kQ3_K_M:
      case F::kIQ4_NL:
      case F::kQ4_K_S:
      case F::kQ4_K_M:
      case F::kIQ3_S:
      case F::kIQ3_M:
      case F::kIQ4_XS: return T::kQ5_K;
      default: return type;
    }
  }
  switch (f) {
    case F::kQ2_K: return T::kQ3_K;
    case F::kIQ3_XXS: return T::kIQ3_S;
    case F::kQ3_K_M: return T::kQ4_K;
    case F::kQ3_K_L: return T::kQ5_K;
    case F::kIQ3_M: return T::kQ4_K;
    default: return type;
  }
}

std::vector<size_t> tensor_write_order(std::span<const std::string_view> names) {
  std::vector<size_t> order(names.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const int la = block_index(names[a]);
    const int lb = block_index(names[b]);
    return la != lb ? la < lb : names[a] < names[b];
  });
  return order;
}

}  // namespace tessera::model

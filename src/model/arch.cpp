#include "model/arch.h"

#include <array>

#include <fmt/format.h>

namespace tessera::model {
namespace {

using R = TensorRole;

struct RoleName {
  TensorRole role;
  std::string_view suffix;
  bool per_layer;
};

// Indexed by TensorRole; the static_assert below keeps the two in step.
constexpr std::array<RoleName, kTensorRoleCount> kRoleNames = {{
    {R::kTokenEmbd, "token_embd.weight", false},
    {R::kOutputNorm, "output_norm.weight", false},
    {R::kOutputNormB, "output_norm.bias", false},
    {R::kOutput, "output.weight", false},
    {R::kRopeFreqs, "rope_freqs.weight", false},
    {R::kRopeLong, "rope_factors_long.weight", false},
    {R::kRopeShort, "rope_factors_short.weight", false},
    {R::kAttnNorm, "attn_norm.weight", true},
    {R::kAttnNormB, "attn_norm.bias", true},
    {R::kAttnQ, "attn_q.weight", true},
    {R::kAttnK, "attn_k.weight", true},
    {R::kAttnV, "attn_v.weight", true},
    {R::kAttnQkv, "attn_qkv.weight", true},
    {R::kAttnQB, "attn_q.bias", true},
    {R::kAttnKB, "attn_k.bias", true},
    {R::kAttnVB, "attn_v.bias", true},
    {R::kAttnQkvB, "attn_qkv.bias", true},
    {R::kAttnOut, "attn_output.weight", true},
    {R::kAttnOutB, "attn_output.bias", true},
    {R::kAttnQNorm, "attn_q_norm.weight", true},
    {R::kAttnKNorm, "attn_k_norm.weight", true},
    {R::kAttnPostNorm, "post_attention_norm.weight", true},
    {R::kFfnNorm, "ffn_norm.weight", true},
    {R::kFfnNormB, "ffn_norm.bias", true},
    {R::kFfnGate, "ffn_gate.weight", true},
    {R::kFfnUp, "ffn_up.weight", true},
    {R::kFfnDown, "ffn_down.weight", true},
    {R::kFfnPostNorm, "post_ffw_norm.weight", true},
}};

constexpr bool roles_in_order() {
  for (size_t i = 0; i < kRoleNames.size(); ++i) {
    if (static_cast<size_t>(kRoleNames[i].role) != i) return false;
  }
  return true;
}
static_assert(roles_in_order(), "kRoleNames must follow the TensorRole order");

constexpr uint64_t bits(std::initializer_list<TensorRole> roles) {
  uint64_t mask = 0;
  for (TensorRole r : roles) mask |= role_bit(r);
  return mask;
}

// The llama-style block every row shares: separate Q/K/V, gated FFN.
constexpr uint64_t kBase = bits({R::kTokenEmbd, R::kOutputNorm, R::kAttnNorm, R::kAttnQ, R::kAttnK, R::kAttnV,
                                 R::kAttnOut, R::kFfnNorm, R::kFfnGate, R::kFfnUp, R::kFfnDown});
constexpr uint64_t kQkvBias = bits({R::kAttnQB, R::kAttnKB, R::kAttnVB});
constexpr uint64_t kQkNorm = bits({R::kAttnQNorm, R::kAttnKNorm});
constexpr uint64_t kPostNorms = bits({R::kAttnPostNorm, R::kFfnPostNorm});
constexpr uint64_t kTied = role_bit(R::kOutput);  // optional everywhere: absent = tied embeddings
constexpr uint64_t kPhi3 =
    bits({R::kTokenEmbd, R::kOutputNorm, R::kAttnNorm, R::kAttnQkv, R::kAttnOut, R::kFfnNorm, R::kFfnUp, R::kFfnDown});

//  arch, name, norm, ffn, rope, required, optional, embed_scale, fused_qkv, fused_gate_up,
//  swa_period, swa_rope_base
constexpr std::array<ArchInfo, static_cast<size_t>(Arch::kCount)> kArchTable = {{
    {Arch::kLlama, "llama", NormType::kRms, FfnType::kSwiglu, RopeStyle::kNormal, kBase,
     kTied | kQkvBias | role_bit(R::kAttnOutB) | role_bit(R::kRopeFreqs), false, false, false, -1, 0.0f},
    {Arch::kQwen2, "qwen2", NormType::kRms, FfnType::kSwiglu, RopeStyle::kNeox, kBase | kQkvBias, kTied, false, false,
     false, -1, 0.0f},
    {Arch::kQwen3, "qwen3", NormType::kRms, FfnType::kSwiglu, RopeStyle::kNeox, kBase | kQkNorm, kTied, false, false,
     false, -1, 0.0f},
    {Arch::kGemma2, "gemma2", NormType::kRms, FfnType::kGeglu, RopeStyle::kNeox, kBase | kPostNorms, kTied, true, false,
     false, 2, 0.0f},
    {Arch::kGemma3, "gemma3", NormType::kRms, FfnType::kGeglu, RopeStyle::kNeox, kBase | kPostNorms | kQkNorm, kTied,
     true, false, false, 6, 10000.0f},
    // phi3: the window (2047 in Phi-3-mini-4k) applies to every layer, as in transformers; current
    // llama.cpp ignores it, which only differs past 2047 tokens.
    {Arch::kPhi3, "phi3", NormType::kRms, FfnType::kSwiglu, RopeStyle::kNeox, kPhi3,
     kTied | role_bit(R::kAttnQkvB) | role_bit(R::kRopeLong) | role_bit(R::kRopeShort), false, true, true, 0, 0.0f},
    {Arch::kMistral3, "mistral3", NormType::kRms, FfnType::kSwiglu, RopeStyle::kNormal, kBase,
     kTied | kQkvBias | role_bit(R::kRopeFreqs), false, false, false, -1, 0.0f},
}};

constexpr bool arch_in_order() {
  for (size_t i = 0; i < kArchTable.size(); ++i) {
    if (static_cast<size_t>(kArchTable[i].arch) != i) return false;
  }
  return true;
}
static_assert(arch_in_order(), "kArchTable must follow the Arch order");

}  // namespace

std::string_view tensor_role_suffix(TensorRole role) {
  return kRoleNames[static_cast<size_t>(role)].suffix;
}

bool tensor_role_per_layer(TensorRole role) {
  return kRoleNames[static_cast<size_t>(role)].per_layer;
}

std::string tensor_name(TensorRole role, int layer) {
  const RoleName& r = kRoleNames[static_cast<size_t>(role)];
  if (!r.per_layer) return std::string(r.suffix);
  return fmt::format("blk.{}.{}", layer, r.suffix);
}

Result<const ArchInfo*> find_arch(std::string_view name) {
  std::string supported;
  for (const ArchInfo& info : kArchTable) {
    if (info.name == name) return &info;
    if (!supported.empty()) supported += ", ";
    supported += info.name;
  }
  return Status::error(fmt::format("unsupported architecture '{}' (supported: {})", name, supported));
}

const ArchInfo& arch_info(Arch arch) {
  return kArchTable[static_cast<size_t>(arch)];
}

}  // namespace tessera::model

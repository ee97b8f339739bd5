// Architectures as data (DESIGN.md): one row per supported `general.architecture` value, giving
// the variation flags the single forward pass reads, and one table of tensor names.
//
// Adding an architecture whose graph matches the llama-style block (norm → attention → residual →
// norm → gated FFN → residual, with optional biases, QK-norm, post-norms, fused projections) is
// adding a row to kArchTable in arch.cpp. Immutable tables: safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tessera/status.h"

namespace tessera::model {

enum class Arch : uint8_t { kLlama, kQwen2, kQwen3, kGemma2, kGemma3, kPhi3, kMistral3, kCount };

enum class NormType : uint8_t { kRms, kLayer };    // RMSNorm (x / rms * w) or LayerNorm (with bias)
enum class FfnType : uint8_t { kSwiglu, kGeglu };  // silu(gate) * up, or gelu_tanh(gate) * up
// kNormal rotates adjacent pairs (x[2i], x[2i+1]) — llama.cpp's GGUF convention for llama-style
// models, whose Q/K rows the converter permuted; kNeox rotates (x[i], x[i + n_rot/2]).
enum class RopeStyle : uint8_t { kNormal, kNeox };

// Every tensor a supported architecture may have. Per-layer roles are named "blk.N.<name>".
enum class TensorRole : uint8_t {
  // Whole-model tensors.
  kTokenEmbd,    // token_embd.weight      [n_embd, n_vocab] (ggml order)
  kOutputNorm,   // output_norm.weight     [n_embd]
  kOutputNormB,  // output_norm.bias       [n_embd]
  kOutput,       // output.weight          [n_embd, n_vocab]; absent = tied to token_embd
  kRopeFreqs,    // rope_freqs.weight      [n_rot / 2] per-frequency divisors (Llama 3.1 scaling)
  kRopeLong,     // rope_factors_long.weight  [n_rot / 2] phi3 LongRoPE divisors past the original context
  kRopeShort,    // rope_factors_short.weight [n_rot / 2] phi3 LongRoPE divisors within it
  // Per-layer tensors.
  kAttnNorm,   // attn_norm.weight       [n_embd]
  kAttnNormB,  // attn_norm.bias         [n_embd]
  // Head counts and n_ff below are the layer's own (they may differ per layer).
  kAttnQ,         // attn_q.weight          [n_embd, n_head * head_dim_k]
  kAttnK,         // attn_k.weight          [n_embd, n_head_kv * head_dim_k]
  kAttnV,         // attn_v.weight          [n_embd, n_head_kv * head_dim_v]
  kAttnQkv,       // attn_qkv.weight        [n_embd, q + k + v rows] (phi3: fused)
  kAttnQB,        // attn_q.bias
  kAttnKB,        // attn_k.bias
  kAttnVB,        // attn_v.bias
  kAttnQkvB,      // attn_qkv.bias
  kAttnOut,       // attn_output.weight     [n_head * head_dim_v, n_embd]
  kAttnOutB,      // attn_output.bias       [n_embd]
  kAttnQNorm,     // attn_q_norm.weight     [head_dim_k] (shared by all heads)
  kAttnKNorm,     // attn_k_norm.weight     [head_dim_k]
  kAttnPostNorm,  // post_attention_norm.weight [n_embd] (gemma2/3: norm of the attention output)
  kFfnNorm,       // ffn_norm.weight        [n_embd]
  kFfnNormB,      // ffn_norm.bias          [n_embd]
  kFfnGate,       // ffn_gate.weight        [n_embd, n_ff]
  kFfnUp,         // ffn_up.weight          [n_embd, n_ff], or [n_embd, 2 * n_ff] when fused (phi3)
  kFfnDown,       // ffn_down.weight        [n_ff, n_embd]
  kFfnPostNorm,   // post_ffw_norm.weight   [n_embd] (gemma2/3)
  kCount,
};
constexpr int kTensorRoleCount = static_cast<int>(TensorRole::kCount);

// GGUF name stem of a role ("token_embd.weight", "attn_q.weight").
std::string_view tensor_role_suffix(TensorRole role);
bool tensor_role_per_layer(TensorRole role);
// Full GGUF tensor name: "token_embd.weight" or "blk.<layer>.attn_q.weight".
std::string tensor_name(TensorRole role, int layer);

constexpr uint64_t role_bit(TensorRole role) {
  return uint64_t{1} << static_cast<int>(role);
}

struct ArchInfo {
  Arch arch;
  std::string_view name;  // the general.architecture value
  NormType norm;
  FfnType ffn;
  RopeStyle rope;
  uint64_t required;   // role_bit set of tensors that must be present
  uint64_t optional;   // role_bit set of tensors bound when present (biases, tied output)
  bool embed_scale;    // token embeddings multiplied by sqrt(n_embd) (gemma)
  bool fused_qkv;      // Q, K, V come from one attn_qkv matrix (phi3)
  bool fused_gate_up;  // ffn_up holds gate rows then up rows (phi3)
  // Sliding-window layer pattern: with period p > 0, layer il uses the window when
  // il % p < p - 1 (gemma2: p = 2, even layers local; gemma3: p = 6, five local then one
  // global). p = 0: every layer uses the window when the file gives one (phi3). p = -1: the
  // architecture has no sliding window and `{arch}.attention.sliding_window` is ignored.
  int swa_period;
  float swa_rope_base;  // rope base of the local layers (gemma3: 10000); 0 = the global base
};

// The row for `name`, or an error naming the architecture and listing the supported ones.
Result<const ArchInfo*> find_arch(std::string_view name);
const ArchInfo& arch_info(Arch arch);

}  // namespace tessera::model

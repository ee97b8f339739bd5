// Model hyper-parameters read from GGUF metadata (`{arch}.*` keys, as llama.cpp's converter
// writes them), with the architecture's defaults filled in. A plain value: copy freely.
#pragma once

#include <cstdint>
#include <vector>

#include "gguf/gguf_file.h"
#include "model/arch.h"
#include "tessera/status.h"

namespace tessera::model {

enum class RopeScaling : uint8_t { kNone, kLinear, kYarn };

// RoPE settings of one layer kind (global or sliding-window layers may differ: gemma3).
struct RopeParams {
  int n_rot = 0;  // rotated dimensions per head (<= head_dim_k), even
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;  // 1 / scaling factor (linear and YaRN)
  RopeScaling scaling = RopeScaling::kNone;
  // YaRN (used when scaling == kYarn): ggml's formulation.
  int n_ctx_orig = 0;       // the context the model was trained with before scaling
  float ext_factor = 0.0f;  // 0 disables the ramp; 1 for YaRN
  // Magnitude of cos/sin. With YaRN the rope op multiplies it by 1 + 0.1 ln(1 / freq_scale)
  // (ggml's formulation); without, it is used as is (phi3 LongRoPE's attention factor).
  float attn_factor = 1.0f;
  float beta_fast = 32.0f;
  float beta_slow = 1.0f;
};

struct Hparams {
  const ArchInfo* arch = nullptr;
  int64_t n_vocab = 0;      // rows of token_embd
  int64_t n_ctx_train = 0;  // {arch}.context_length
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  // Head counts and FFN widths may differ per layer (the GGUF keys may be arrays, OpenELM-style).
  // The scalars are the largest over the layers (what scratch buffers are sized for).
  int64_t n_ff = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  std::vector<int64_t> n_ff_layer;       // [n_layer] feed_forward_length
  std::vector<int64_t> n_head_layer;     // [n_layer] attention.head_count
  std::vector<int64_t> n_head_kv_layer;  // [n_layer] attention.head_count_kv, divides n_head_layer
  int64_t head_dim_k = 0;                // key_length (default n_embd / head count of layer 0)
  int64_t head_dim_v = 0;                // value_length (default n_embd / head count of layer 0)
  float norm_eps = 1e-5f;                // RMSNorm or LayerNorm epsilon
  float attn_scale = 0.0f;               // multiplies Q·K before softmax (default 1 / sqrt(head_dim_k))
  float attn_softcap = 0.0f;             // 0 = off; else scores become cap * tanh(score / cap)
  float final_softcap = 0.0f;            // same for the output logits
  float embed_scale = 1.0f;              // sqrt(n_embd) for gemma, else 1
  int64_t n_swa = 0;                     // sliding window in tokens; 0 = none
  std::vector<bool> swa_layers;          // [n_layer] true where the layer uses the sliding window
  RopeParams rope;                       // global (full-attention) layers
  RopeParams rope_swa;                   // sliding-window layers
  // rope.scaling.original_context_length (0 = absent): phi3 LongRoPE uses its long factors when
  // the context is larger than this, its short ones otherwise.
  int64_t n_ctx_orig = 0;
  // Llama-4-style attention temperature (mistral3: attention.temperature_scale): queries are
  // multiplied by 1 + attn_temp_scale * ln(1 + floor(pos / attn_temp_length)). 0 = off.
  float attn_temp_scale = 0.0f;
  int64_t attn_temp_length = 0;  // attention.temperature_length, else the original context

  int64_t n_head_at(int64_t il) const { return n_head_layer[static_cast<size_t>(il)]; }
  int64_t n_head_kv_at(int64_t il) const { return n_head_kv_layer[static_cast<size_t>(il)]; }
  int64_t n_ff_at(int64_t il) const { return n_ff_layer[static_cast<size_t>(il)]; }
  // Row widths of one layer's Q, K and V; without an argument, the largest over the layers.
  int64_t n_embd_q(int64_t il) const { return n_head_at(il) * head_dim_k; }
  int64_t n_embd_k_gqa(int64_t il) const { return n_head_kv_at(il) * head_dim_k; }
  int64_t n_embd_v_gqa(int64_t il) const { return n_head_kv_at(il) * head_dim_v; }
  int64_t n_embd_q() const { return n_head * head_dim_k; }
  int64_t n_embd_k_gqa() const { return n_head_kv * head_dim_k; }
  int64_t n_embd_v_gqa() const { return n_head_kv * head_dim_v; }
  bool is_swa(int64_t layer) const { return swa_layers[static_cast<size_t>(layer)]; }
  const RopeParams& rope_for(int64_t layer) const { return is_swa(layer) ? rope_swa : rope; }
};

// Reads and validates the hyper-parameters of `file`'s architecture. Errors name the key.
Result<Hparams> load_hparams(const gguf::GgufFile& file);

}  // namespace tessera::model

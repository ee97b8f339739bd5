// llama-quantize's presets (file types such as Q4_K_M) and its per-tensor mixing rules: which
// tensors get more bits, and the fallback for rows that the chosen block size does not divide.
// Following the same rules makes `tessera quantize` produce the same mix of types as
// llama-quantize for the same model (checked against a real Q4_K_M file in the tests).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "quant/type_traits.h"

namespace tessera::model {

// llama.cpp's llama_ftype ids, stored as general.file_type. Never renumber.
enum class FileType : uint32_t {
  kAllF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ8_0 = 7,
  kQ5_0 = 8,
  kQ5_1 = 9,
  kQ2_K = 10,
  kQ3_K_S = 11,
  kQ3_K_M = 12,
  kQ3_K_L = 13,
  kQ4_K_S = 14,
  kQ4_K_M = 15,
  kQ5_K_S = 16,
  kQ5_K_M = 17,
  kQ6_K = 18,
  kIQ2_XXS = 19,
  kIQ2_XS = 20,
  kQ2_K_S = 21,
  kIQ3_XS = 22,
  kIQ3_XXS = 23,
  kIQ1_S = 24,
  kIQ4_NL = 25,
  kIQ3_S = 26,
  kIQ3_M = 27,
  kIQ2_S = 28,
  kIQ2_M = 29,
  kIQ4_XS = 30,
  kIQ1_M = 31,
  kBF16 = 32,
  kTQ1_0 = 36,
  kTQ2_0 = 37,
  kMXFP4_MOE = 38,
};

struct Preset {
  std::string_view name;  // as llama-quantize spells it, e.g. "Q4_K_M"
  FileType file_type;
  quant::TensorType default_type;  // the type most tensors get
  std::string_view description;
};

// The presets `tessera quantize` accepts (COPY is handled by the caller: it keeps every type).
std::span<const Preset> presets();
// Case-insensitive lookup by name; nullopt for unknown names.
std::optional<Preset> find_preset(std::string_view name);

// What the mixing rules need to know about the model as a whole.
struct ModelFacts {
  std::string architecture;  // general.architecture
  int n_layer = 0;           // {arch}.block_count
  int n_gqa = 1;             // n_head / n_head_kv
  int n_expert = 0;          // {arch}.expert_count (0 for dense models)
  bool has_output = false;   // an output.weight tensor exists (else token_embd is tied to the output)
  int n_attention_wv = 0;    // number of attn_v / attn_qkv / attn_kv_b tensors
  bool has_imatrix = false;
};

struct TensorDesc {
  std::string_view name;
  uint32_t n_dims;
  uint64_t shape[4];  // ggml order: shape[0] is the row length
};

// Whether llama-quantize quantizes this tensor at all (2-D+ weights, but not norms, routers,
// positional embeddings or the small special tensors of some architectures).
bool should_quantize(const TensorDesc& tensor, bool quantize_output_tensor);

// Chooses each tensor's type for a preset. Stateful, like llama-quantize: call choose() for the
// quantized tensors in the order they are written (see tensor_write_order), once each.
class TypeSelector {
 public:
  TypeSelector(const Preset& preset, const ModelFacts& facts) : preset_(preset), facts_(facts) {}

  struct Choice {
    quant::TensorType type;
    bool fell_back;  // the mixing rule's type did not divide the rows; a fallback type was used
  };
  Choice choose(const TensorDesc& tensor);

 private:
  quant::TensorType mixing_rule(const TensorDesc& tensor, quant::TensorType type);
  quant::TensorType output_rule(const TensorDesc& tensor, quant::TensorType type) const;
  quant::TensorType token_embedding_rule(quant::TensorType type) const;
  quant::TensorType very_low_bit_rule(std::string_view name, quant::TensorType type);
  quant::TensorType attn_v_rule(quant::TensorType type);
  quant::TensorType ffn_down_rule(std::string_view name, quant::TensorType type);
  quant::TensorType attn_output_rule(quant::TensorType type) const;
  int layer_of(std::string_view name, int counter) const;

  Preset preset_;
  ModelFacts facts_;
  int i_attention_wv_ = 0;
  int i_ffn_down_ = 0;
  int i_ffn_gate_ = 0;
  int i_ffn_up_ = 0;
};

// The order llama.cpp's loader (and so llama-quantize) writes tensors in: by layer number
// ("blk.N."; tensors outside blocks first), then by name. Returns indices into `names`.
std::vector<size_t> tensor_write_order(std::span<const std::string_view> names);

}  // namespace tessera::model

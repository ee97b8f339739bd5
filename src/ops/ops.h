// Scalar reference ops over f32 rows (DESIGN.md: "Each kernel has a scalar reference"). These
// define the results; faster versions must match them within rounding. Stateless and
// thread-safe: callers split work by rows. Pointers name their shapes; rows are contiguous.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "quant/type_traits.h"

namespace tessera::ops {

// out[i] = x[i] / sqrt(mean(x^2) + eps) * w[i]   x, w, out: [n]; w may be null (no scaling).
// out may alias x.
void rmsnorm(const float* x, const float* w, float eps, int64_t n, float* out);

// out[i] = (x[i] - mean) / sqrt(var + eps) * w[i] + b[i]   x, out: [n]; w, b: [n] or null.
void layernorm(const float* x, const float* w, const float* b, float eps, int64_t n, float* out);

// In-place numerically stable softmax of x: [n].
void softmax(float* x, int64_t n);

// cap * tanh(x / cap) for each of x: [n]; cap must be > 0.
void softcap(float* x, int64_t n, float cap);

float silu(float x);       // x * sigmoid(x)
float gelu_tanh(float x);  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))

// out[i] = act(gate[i]) * up[i]   gate, up, out: [n]; out may alias gate or up.
void swiglu(const float* gate, const float* up, int64_t n, float* out);
void geglu(const float* gate, const float* up, int64_t n, float* out);

// --- RoPE --------------------------------------------------------------------------------------

// kNormal rotates adjacent pairs (x[2i], x[2i+1]); kNeox rotates (x[i], x[i + n_rot / 2]).
enum class RopeMode : uint8_t { kNormal, kNeox };

struct RopeConfig {
  RopeMode mode = RopeMode::kNormal;
  int n_rot = 0;  // rotated dims per head (even, <= head_dim); the rest pass through
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;  // position interpolation: theta *= freq_scale (1 / linear factor)
  // YaRN: with ext_factor != 0, dims below the correction range keep the unscaled frequency
  // (extrapolation), dims above it the scaled one, with a linear ramp in between; cos/sin are
  // multiplied by attn_factor * (1 + 0.1 ln(1 / freq_scale)).
  float ext_factor = 0.0f;
  float attn_factor = 1.0f;
  float beta_fast = 32.0f;
  float beta_slow = 1.0f;
  int n_ctx_orig = 0;
  const float* freq_factors = nullptr;  // [n_rot / 2] divisors of each frequency, or null
};

// cos and sin of every rotation angle at position `pos`: cos, sin: [n_rot / 2].
void rope_angles(const RopeConfig& cfg, int64_t pos, float* cos_out, float* sin_out);

// Rotates each head of x: [n_head, head_dim] by angles from rope_angles().
void rope_apply(const RopeConfig& cfg, const float* cos_v, const float* sin_v, float* x, int64_t n_head,
                int64_t head_dim);

// --- Attention ---------------------------------------------------------------------------------

// Element type of cached keys and values (-ctk / -ctv): f16 by default; q8_0 and q4_0 store
// 32-element blocks, so head dimensions must be multiples of 32 for them.
enum class KvType : uint8_t { kF32, kF16, kQ8_0, kQ4_0 };

// The tensor type holding `type`'s rows.
quant::TensorType kv_tensor_type(KvType type);

// One sequence's cached keys and values as seen by one query token.
struct KvView {
  KvType type = KvType::kF16;
  const uint8_t* k = nullptr;  // [n_cells] rows of k_row_bytes; kv head h at its h * head_dim_k-th element
  const uint8_t* v = nullptr;  // [n_cells] rows of v_row_bytes
  size_t k_row_bytes = 0;      // bytes of one cell row (n_head_kv * head_dim_k elements of `type`)
  size_t v_row_bytes = 0;
  std::span<const int32_t> cells;      // candidate cells of the query's sequence
  std::span<const int32_t> positions;  // [cells.size()] their positions
};

struct AttentionParams {
  int64_t n_head = 0;
  int64_t n_head_kv = 0;  // divides n_head: query head h reads kv head h / (n_head / n_head_kv)
  int64_t head_dim_k = 0;
  int64_t head_dim_v = 0;
  float scale = 1.0f;    // multiplies q·k
  float softcap = 0.0f;  // 0 = off; else scores become softcap * tanh(score / softcap)
  int64_t n_swa = 0;     // 0 = full causal; else a key at p_k is seen only when q_pos - p_k < n_swa
};

// True when a query at q_pos may attend to a key at k_pos (causal, optional sliding window).
inline bool attention_visible(int64_t q_pos, int64_t k_pos, int64_t n_swa) {
  return k_pos <= q_pos && (n_swa <= 0 || q_pos - k_pos < n_swa);
}

// Attention of one query token over the visible cells of `kv`, heads [head_begin, head_end).
// q: [n_head, head_dim_k]; out: [n_head, head_dim_v] (only the given heads are written);
// scratch: [attention_scratch_size()]. A head with no visible key gets zeros.
void attention(const AttentionParams& p, const float* q, int64_t q_pos, const KvView& kv, int64_t head_begin,
               int64_t head_end, float* scratch, float* out);
// Floats of scratch attention() needs for `n_cells` candidate cells.
inline int64_t attention_scratch_size(const AttentionParams& p, int64_t n_cells) {
  return n_cells + p.head_dim_k + p.head_dim_v;
}

// Blocked ("flash") attention of several query tokens of one sequence, for every query head that
// reads kv head `kv_head`: the tokens' query rows are taken together, keys and values are widened
// to f32 64 cells at a time and each block is applied with two small matrix products and an
// online softmax, so a cached row is decoded once per tile instead of once per query and head.
// Matches attention() within f32 rounding (same masking, scale and soft-capping).
//   q: query rows; token t's heads at q + t * q_stride ([n_head, head_dim_k] each)
//   tokens: the tile's token indices t; q_pos[t]: token t's position
//   out: token t's output heads at out + t * out_stride ([n_head, head_dim_v]); only this
//        group's heads are written. scratch: per-thread buffer, grown as needed.
void attention_tile(const AttentionParams& p, const KvView& kv, int64_t kv_head, std::span<const int32_t> tokens,
                    const float* q, int64_t q_stride, const int32_t* q_pos, float* out, int64_t out_stride,
                    std::vector<float>& scratch);

}  // namespace tessera::ops

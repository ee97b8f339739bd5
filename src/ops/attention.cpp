#include <algorithm>
#include <cmath>

#include "ops/ops.h"
#include "tessera/check.h"

namespace tessera::ops {

quant::TensorType kv_tensor_type(KvType type) {
  switch (type) {
    case KvType::kF32: return quant::TensorType::kF32;
    case KvType::kF16: return quant::TensorType::kF16;
    case KvType::kQ8_0: return quant::TensorType::kQ8_0;
    case KvType::kQ4_0: return quant::TensorType::kQ4_0;
  }
  TESSERA_CHECK(false, "unknown KV type");
  return quant::TensorType::kF32;
}

void attention(const AttentionParams& p, const float* q, int64_t q_pos, const KvView& kv, int64_t head_begin,
               int64_t head_end, float* scratch, float* out) {
  TESSERA_CHECK(p.n_head_kv > 0 && p.n_head % p.n_head_kv == 0, "n_head_kv must divide n_head");
  TESSERA_CHECK(kv.cells.size() == kv.positions.size(), "one position per cell");
  const quant::TensorType type = kv_tensor_type(kv.type);
  const quant::TypeTraits& traits = quant::type_traits(type);
  TESSERA_CHECK(p.head_dim_k % traits.block_size == 0 && p.head_dim_v % traits.block_size == 0,
                "head dimensions must be whole blocks of the KV type");
  const int64_t group = p.n_head / p.n_head_kv;  // query heads sharing one kv head (GQA)
  const auto n_cells = static_cast<int64_t>(kv.cells.size());
  float* scores = scratch;                // [n_cells]
  float* k_head = scratch + n_cells;      // [head_dim_k] one decoded key
  float* v_head = k_head + p.head_dim_k;  // [head_dim_v] one decoded value
  for (int64_t h = head_begin; h < head_end; ++h) {
    const float* qh = q + h * p.head_dim_k;
    // Byte offsets of this head's slice inside a cell row (whole blocks, checked above).
    const size_t k_off = *quant::row_bytes(type, static_cast<uint64_t>((h / group) * p.head_dim_k));
    const size_t v_off = *quant::row_bytes(type, static_cast<uint64_t>((h / group) * p.head_dim_v));
    // Masked cells are skipped entirely (their weight exp(-inf) is 0).
    float max_score = -INFINITY;
    for (int64_t j = 0; j < n_cells; ++j) {
      if (!attention_visible(q_pos, kv.positions[j], p.n_swa)) {
        scores[j] = -INFINITY;
        continue;
      }
      traits.dequantize(kv.k + static_cast<size_t>(kv.cells[j]) * kv.k_row_bytes + k_off, k_head, p.head_dim_k);
      float dot = 0;
      for (int64_t d = 0; d < p.head_dim_k; ++d) dot += qh[d] * k_head[d];
      float s = dot * p.scale;
      if (p.softcap > 0) s = p.softcap * std::tanh(s / p.softcap);
      scores[j] = s;
      max_score = std::max(max_score, s);
    }
    float* oh = out + h * p.head_dim_v;
    std::fill(oh, oh + p.head_dim_v, 0.0f);
    if (max_score == -INFINITY) continue;  // nothing visible
    double sum = 0;
    for (int64_t j = 0; j < n_cells; ++j) {
      const float w = scores[j] == -INFINITY ? 0.0f : std::exp(scores[j] - max_score);
      scores[j] = w;
      sum += w;
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t j = 0; j < n_cells; ++j) {
      if (scores[j] == 0.0f) continue;
      const float w = scores[j] * inv;
      traits.dequantize(kv.v + static_cast<size_t>(kv.cells[j]) * kv.v_row_bytes + v_off, v_head, p.head_dim_v);
      for (int64_t d = 0; d < p.head_dim_v; ++d) oh[d] += w * v_head[d];
    }
  }
}

}  // namespace tessera::ops

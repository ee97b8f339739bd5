#include <algorithm>
#include <cmath>

#include "ops/ops.h"
#include "ops/simd_kernels.h"
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

namespace {

constexpr int64_t kKeyBlock = 64;  // cells per block: one 64-column tile of the score product

// One cell's head slice widened to f32: `src` points at the slice inside the cell row.
void widen(const OpKernels& ak, const quant::TypeTraits& traits, KvType type, const uint8_t* src, float* dst,
           int64_t n) {
  if (type == KvType::kF16) {
    ak.f16_to_f32(reinterpret_cast<const uint16_t*>(src), dst, n);
  } else {
    traits.dequantize(src, dst, n);
  }
}

}  // namespace

void attention_tile(const AttentionParams& p, const KvView& kv, int64_t kv_head, std::span<const int32_t> tokens,
                    const float* q, int64_t q_stride, const int32_t* q_pos, float* out, int64_t out_stride,
                    std::vector<float>& scratch) {
  TESSERA_CHECK(p.n_head_kv > 0 && p.n_head % p.n_head_kv == 0, "n_head_kv must divide n_head");
  TESSERA_CHECK(kv.cells.size() == kv.positions.size(), "one position per cell");
  const OpKernels& ak = op_kernels();
  const quant::TensorType type = kv_tensor_type(kv.type);
  const quant::TypeTraits& traits = quant::type_traits(type);
  TESSERA_CHECK(p.head_dim_k % traits.block_size == 0 && p.head_dim_v % traits.block_size == 0,
                "head dimensions must be whole blocks of the KV type");
  const int64_t group = p.n_head / p.n_head_kv;
  const auto n_tok = static_cast<int64_t>(tokens.size());
  const int64_t rows = n_tok * group;  // row r = (token i = r / group, head kv_head * group + r % group)
  const int64_t dk = p.head_dim_k, dv = p.head_dim_v, tk = kKeyBlock;
  // Scratch: qs [rows, dk] scaled queries, s [rows, tk] scores then weights, kt [dk, tk] keys
  // transposed, vb [tk, dv] values, o [rows, dv] unnormalized outputs, mx / l [rows] running max
  // and sum, kb [tk, dk] the block's keys decoded (then transposed into kt).
  const size_t need = static_cast<size_t>(rows * dk + rows * tk + dk * tk + tk * dv + rows * dv + 2 * rows + tk * dk);
  if (scratch.size() < need) scratch.resize(need);
  float* qs = scratch.data();
  float* s = qs + rows * dk;
  float* kt = s + rows * tk;
  float* vb = kt + dk * tk;
  float* o = vb + tk * dv;
  float* mx = o + rows * dv;
  float* l = mx + rows;
  float* kb = l + rows;

  int64_t q_min = INT64_MAX, q_max = INT64_MIN;
  for (int64_t i = 0; i < n_tok; ++i) {
    const int64_t pos = q_pos[tokens[static_cast<size_t>(i)]];
    q_min = std::min(q_min, pos);
    q_max = std::max(q_max, pos);
    for (int64_t g = 0; g < group; ++g) {
      const float* src = q + tokens[static_cast<size_t>(i)] * q_stride + (kv_head * group + g) * dk;
      float* dst = qs + (i * group + g) * dk;
      for (int64_t d = 0; d < dk; ++d) dst[d] = src[d] * p.scale;
    }
  }
  std::fill(o, o + rows * dv, 0.0f);
  std::fill(mx, mx + rows, -INFINITY);
  std::fill(l, l + rows, 0.0f);
  const size_t k_off = *quant::row_bytes(type, static_cast<uint64_t>(kv_head * dk));
  const size_t v_off = *quant::row_bytes(type, static_cast<uint64_t>(kv_head * dv));
  const auto n_cells = static_cast<int64_t>(kv.cells.size());
  for (int64_t j0 = 0; j0 < n_cells; j0 += tk) {
    const int64_t nb = std::min(tk, n_cells - j0);
    int64_t p_min = INT64_MAX, p_max = INT64_MIN;
    for (int64_t j = 0; j < nb; ++j) {
      p_min = std::min<int64_t>(p_min, kv.positions[static_cast<size_t>(j0 + j)]);
      p_max = std::max<int64_t>(p_max, kv.positions[static_cast<size_t>(j0 + j)]);
    }
    if (p_min > q_max || (p.n_swa > 0 && q_min - p_max >= p.n_swa)) continue;  // no row sees this block
    for (int64_t j = 0; j < nb; ++j) {
      widen(ak, traits, kv.type,
            kv.k + static_cast<size_t>(kv.cells[static_cast<size_t>(j0 + j)]) * kv.k_row_bytes + k_off, kb + j * dk,
            dk);
    }
    // Transposed 16 dimensions at a time, so the kt rows being written stay in L1 (a whole
    // [dk, 64] block does not for dk = 256).
    constexpr int64_t kBand = 16;
    for (int64_t d0 = 0; d0 < dk; d0 += kBand) {
      const int64_t d1 = std::min(dk, d0 + kBand);
      for (int64_t j = 0; j < nb; ++j) {
        const float* src = kb + j * dk;
        for (int64_t d = d0; d < d1; ++d) kt[d * tk + j] = src[d];
      }
    }
    ak.sgemm(rows, nb, dk, qs, dk, kt, tk, s, tk, false);
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t pos = q_pos[tokens[static_cast<size_t>(r / group)]];
      float* sr = s + r * tk;
      float block_max = -INFINITY;
      for (int64_t j = 0; j < nb; ++j) {
        if (!attention_visible(pos, kv.positions[static_cast<size_t>(j0 + j)], p.n_swa)) {
          sr[j] = -INFINITY;
          continue;
        }
        if (p.softcap > 0) sr[j] = p.softcap * std::tanh(sr[j] / p.softcap);
        block_max = std::max(block_max, sr[j]);
      }
      if (block_max == -INFINITY) {  // nothing visible to this row here: weights 0
        std::fill(sr, sr + nb, 0.0f);
        continue;
      }
      const float new_max = std::max(mx[r], block_max);
      if (mx[r] != new_max) {
        const float corr = mx[r] == -INFINITY ? 0.0f : std::exp(mx[r] - new_max);
        l[r] *= corr;
        for (int64_t d = 0; d < dv; ++d) o[r * dv + d] *= corr;
        mx[r] = new_max;
      }
      l[r] += ak.exp_sub_sum(sr, nb, new_max);
    }
    for (int64_t j = 0; j < nb; ++j) {
      widen(ak, traits, kv.type,
            kv.v + static_cast<size_t>(kv.cells[static_cast<size_t>(j0 + j)]) * kv.v_row_bytes + v_off, vb + j * dv,
            dv);
    }
    ak.sgemm(rows, dv, nb, s, tk, vb, dv, o, dv, true);
  }
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t h = kv_head * group + r % group;
    float* dst = out + tokens[static_cast<size_t>(r / group)] * out_stride + h * dv;
    const float inv = l[r] > 0 ? 1.0f / l[r] : 0.0f;  // no visible key: zeros, as attention() gives
    for (int64_t d = 0; d < dv; ++d) dst[d] = o[r * dv + d] * inv;
  }
}

}  // namespace tessera::ops

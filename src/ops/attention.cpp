#include <algorithm>
#include <cmath>
#include <cstdint>

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

// Where one block's cached rows (one kv head's slice of each cell) are and how to widen them.
struct BlockRows {
  const OpKernels& ak;
  const quant::TypeTraits& traits;
  KvType type;
  const uint8_t* base;  // cache rows: cell c's slice at base + c * row_bytes + offset
  size_t row_bytes, offset;
  int64_t n_cols;  // head dimension

  const uint8_t* row(int32_t cell) const { return base + static_cast<size_t>(cell) * row_bytes + offset; }

  // out[j * ldo + d] = row of cells[j], element d.
  void widen(const int32_t* cells, int64_t n, float* out, int64_t ldo) const {
    if (type == KvType::kF16) {
      const uint16_t* rows[kKeyBlock];
      for (int64_t j = 0; j < n; ++j) rows[j] = reinterpret_cast<const uint16_t*>(row(cells[j]));
      ak.f16_rows_to_f32(rows, n, n_cols, out, ldo);
    } else {
      for (int64_t j = 0; j < n; ++j) traits.dequantize(row(cells[j]), out + j * ldo, n_cols);
    }
  }

  // out[d * ldo + j] = row of cells[j], element d; decoded: [n, n_cols] room for rows that are
  // neither f16 nor f32 (decoded first, then transposed).
  void widen_transposed(const int32_t* cells, int64_t n, float* out, int64_t ldo, float* decoded) const {
    if (type == KvType::kF16) {
      const uint16_t* rows[kKeyBlock];
      for (int64_t j = 0; j < n; ++j) rows[j] = reinterpret_cast<const uint16_t*>(row(cells[j]));
      ak.f16_rows_to_f32_transposed(rows, n, n_cols, out, ldo);
      return;
    }
    const float* rows[kKeyBlock];
    for (int64_t j = 0; j < n; ++j) {
      if (type == KvType::kF32) {
        rows[j] = reinterpret_cast<const float*>(row(cells[j]));
      } else {
        traits.dequantize(row(cells[j]), decoded + j * n_cols, n_cols);
        rows[j] = decoded + j * n_cols;
      }
    }
    ak.f32_rows_transposed(rows, n, n_cols, out, ldo);
  }
};

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
  // and sum, kb [tk, dk] quantized keys decoded (before being transposed into kt).
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
  const BlockRows keys{
      ak, traits, kv.type, kv.k, kv.k_row_bytes, *quant::row_bytes(type, static_cast<uint64_t>(kv_head * dk)), dk};
  const BlockRows values{
      ak, traits, kv.type, kv.v, kv.v_row_bytes, *quant::row_bytes(type, static_cast<uint64_t>(kv_head * dv)), dv};
  SoftmaxBlock sb;
  sb.s = s;
  sb.lds = tk;
  sb.rows = rows;
  sb.tokens = tokens;
  sb.q_pos = q_pos;
  sb.group = group;
  sb.n_swa = p.n_swa;
  sb.softcap = p.softcap;
  sb.row_max = mx;
  sb.row_sum = l;
  sb.o = o;
  sb.ldo = dv;
  sb.dv = dv;
  const auto n_cells = static_cast<int64_t>(kv.cells.size());
  for (int64_t j0 = 0; j0 < n_cells; j0 += tk) {
    const int64_t nb = std::min(tk, n_cells - j0);
    const int32_t* cells = kv.cells.data() + j0;
    const int32_t* key_pos = kv.positions.data() + j0;
    int32_t p_min = INT32_MAX, p_max = INT32_MIN;
    for (int64_t j = 0; j < nb; ++j) {
      p_min = std::min(p_min, key_pos[j]);
      p_max = std::max(p_max, key_pos[j]);
    }
    if (p_min > q_max || (p.n_swa > 0 && q_min - p_max >= p.n_swa)) continue;  // no row sees this block
    keys.widen_transposed(cells, nb, kt, tk, kb);
    ak.sgemm(rows, nb, dk, qs, dk, kt, tk, s, tk, false);
    sb.n = nb;
    sb.key_pos = key_pos;
    sb.key_min = p_min;
    sb.key_max = p_max;
    ak.online_softmax(sb);
    values.widen(cells, nb, vb, dv);
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

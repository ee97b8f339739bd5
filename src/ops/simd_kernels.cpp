#include "ops/simd_kernels.h"

#include <algorithm>
#include <cmath>

#include "ops/ops.h"
#include "quant/float16.h"

namespace tessera::ops {
namespace {

void sgemm_scalar(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                  int64_t ldc, bool accumulate) {
  for (int64_t i = 0; i < m; ++i) {
    float* ci = c + i * ldc;
    if (!accumulate) {
      for (int64_t j = 0; j < n; ++j) ci[j] = 0.0f;
    }
    for (int64_t p = 0; p < k; ++p) {
      const float av = a[i * lda + p];
      const float* bp = b + p * ldb;
      for (int64_t j = 0; j < n; ++j) ci[j] += av * bp[j];
    }
  }
}

void f16_to_f32_scalar(const uint16_t* x, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = quant::f16_to_f32(x[i]);
}

void f16_rows_to_f32_scalar(const uint16_t* const* rows, int64_t n_rows, int64_t n_cols, float* out, int64_t ldo) {
  for (int64_t j = 0; j < n_rows; ++j) f16_to_f32_scalar(rows[j], out + j * ldo, n_cols);
}

void f16_rows_to_f32_transposed_scalar(const uint16_t* const* rows, int64_t n_rows, int64_t n_cols, float* out,
                                       int64_t ldo) {
  for (int64_t j = 0; j < n_rows; ++j) {
    for (int64_t d = 0; d < n_cols; ++d) out[d * ldo + j] = quant::f16_to_f32(rows[j][d]);
  }
}

void f32_rows_transposed_scalar(const float* const* rows, int64_t n_rows, int64_t n_cols, float* out, int64_t ldo) {
  for (int64_t j = 0; j < n_rows; ++j) {
    for (int64_t d = 0; d < n_cols; ++d) out[d * ldo + j] = rows[j][d];
  }
}

float exp_sub_sum_scalar(float* x, int64_t n, float max) {
  float sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = x[i] == -INFINITY ? 0.0f : std::exp(x[i] - max);
    sum += x[i];
  }
  return sum;
}

// The reference tests every key against attention_visible(); the SIMD version skips the test for
// blocks a row sees whole (same results: the test only ever turns scores into -inf).
void online_softmax_scalar(const SoftmaxBlock& b) {
  for (int64_t r = 0; r < b.rows; ++r) {
    const int64_t pos = b.q_pos[b.tokens[static_cast<size_t>(r / b.group)]];
    float* sr = b.s + r * b.lds;
    float block_max = -INFINITY;
    for (int64_t j = 0; j < b.n; ++j) {
      if (!attention_visible(pos, b.key_pos[j], b.n_swa)) {
        sr[j] = -INFINITY;
        continue;
      }
      if (b.softcap > 0) sr[j] = b.softcap * std::tanh(sr[j] / b.softcap);
      block_max = std::max(block_max, sr[j]);
    }
    if (block_max == -INFINITY) {  // nothing visible to this row here: weights 0
      for (int64_t j = 0; j < b.n; ++j) sr[j] = 0.0f;
      continue;
    }
    const float old_max = b.row_max[r];
    const float new_max = std::max(old_max, block_max);
    if (old_max != new_max) {
      const float corr = old_max == -INFINITY ? 0.0f : std::exp(old_max - new_max);
      b.row_sum[r] *= corr;
      float* orow = b.o + r * b.ldo;
      for (int64_t d = 0; d < b.dv; ++d) orow[d] *= corr;
      b.row_max[r] = new_max;
    }
    b.row_sum[r] += exp_sub_sum_scalar(sr, b.n, new_max);
  }
}

OpKernels scalar_table() {
  OpKernels t;
  t.sgemm = sgemm_scalar;
  t.f16_to_f32 = f16_to_f32_scalar;
  t.f16_rows_to_f32 = f16_rows_to_f32_scalar;
  t.f16_rows_to_f32_transposed = f16_rows_to_f32_transposed_scalar;
  t.f32_rows_transposed = f32_rows_transposed_scalar;
  t.exp_sub_sum = exp_sub_sum_scalar;
  t.online_softmax = online_softmax_scalar;
  t.swiglu = swiglu;
  t.geglu = geglu;
  return t;
}

struct Tables {
  OpKernels scalar = scalar_table();
  OpKernels avx512;
  bool has_avx512 = false;
};

const Tables& tables() {
  static const Tables t = [] {
    Tables r;
#if defined(__x86_64__) || defined(_M_X64)
    if (quant::kernels_for(quant::Isa::kAvx512) != nullptr) {
      r.avx512 = r.scalar;
      detail::register_avx512_op_kernels(r.avx512);
      r.has_avx512 = true;
    }
#endif
    return r;
  }();
  return t;
}

}  // namespace

const OpKernels& op_kernels() {
  const Tables& t = tables();
  return t.has_avx512 ? t.avx512 : t.scalar;
}

const OpKernels* op_kernels_for(quant::Isa isa) {
  const Tables& t = tables();
  if (isa == quant::Isa::kScalar) return &t.scalar;
  if (isa == quant::Isa::kAvx512 && t.has_avx512) return &t.avx512;
  return nullptr;
}

}  // namespace tessera::ops

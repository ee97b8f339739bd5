#include "ops/simd_kernels.h"

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

float exp_sub_sum_scalar(float* x, int64_t n, float max) {
  float sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = x[i] == -INFINITY ? 0.0f : std::exp(x[i] - max);
    sum += x[i];
  }
  return sum;
}

OpKernels scalar_table() {
  OpKernels t;
  t.sgemm = sgemm_scalar;
  t.f16_to_f32 = f16_to_f32_scalar;
  t.exp_sub_sum = exp_sub_sum_scalar;
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

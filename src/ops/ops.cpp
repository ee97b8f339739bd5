#include "ops/ops.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "tessera/check.h"

namespace tessera::ops {

void rmsnorm(const float* x, const float* w, float eps, int64_t n, float* out) {
  // Accumulate in double: rows are up to ~16k wide and the sum of squares loses bits in f32.
  // Eight independent partial sums (a fixed order, so results do not depend on the caller) let
  // the compiler vectorize and keep the adds off one dependency chain.
  constexpr int kLanes = 8;
  double part[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) part[j] += static_cast<double>(x[i + j]) * x[i + j];
  }
  for (; i < n; ++i) part[0] += static_cast<double>(x[i]) * x[i];
  double sum_sq = 0;
  for (double v : part) sum_sq += v;
  const float inv = static_cast<float>(1.0 / std::sqrt(sum_sq / static_cast<double>(n) + eps));
  if (w == nullptr) {
    for (i = 0; i < n; ++i) out[i] = x[i] * inv;
  } else {
    for (i = 0; i < n; ++i) out[i] = x[i] * inv * w[i];
  }
}

void layernorm(const float* x, const float* w, const float* b, float eps, int64_t n, float* out) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  const double mean = sum / static_cast<double>(n);
  double var = 0;
  for (int64_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  const double inv = 1.0 / std::sqrt(var / static_cast<double>(n) + eps);
  for (int64_t i = 0; i < n; ++i) {
    const float y = static_cast<float>((x[i] - mean) * inv);
    out[i] = y * (w ? w[i] : 1.0f) + (b ? b[i] : 0.0f);
  }
}

void softmax(float* x, int64_t n) {
  if (n <= 0) return;
  const float max = *std::max_element(x, x + n);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void softcap(float* x, int64_t n, float cap) {
  TESSERA_CHECK(cap > 0, "soft-cap must be positive");
  for (int64_t i = 0; i < n; ++i) x[i] = cap * std::tanh(x[i] / cap);
}

float silu(float x) {
  return x / (1.0f + std::exp(-x));
}

float gelu_tanh(float x) {
  constexpr float kSqrt2OverPi = 0.79788456080286535588f;  // sqrt(2 / pi)
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
}

void swiglu(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = silu(gate[i]) * up[i];
}

void geglu(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = gelu_tanh(gate[i]) * up[i];
}

namespace {

// Dimension index (in [0, n_rot)) at which a frequency completes `n_rotations` turns over the
// original context: the YaRN paper's correction dimension.
double yarn_corr_dim(int n_rot, int n_ctx_orig, double n_rotations, double base) {
  return n_rot * std::log(n_ctx_orig / (n_rotations * 2 * std::numbers::pi)) / (2 * std::log(base));
}

}  // namespace

void rope_angles(const RopeConfig& cfg, int64_t pos, float* cos_out, float* sin_out) {
  const int half = cfg.n_rot / 2;
  double low = 0, high = 0;
  double mscale = cfg.attn_factor;
  if (cfg.ext_factor != 0.0f) {
    low = std::max(0.0, std::floor(yarn_corr_dim(cfg.n_rot, cfg.n_ctx_orig, cfg.beta_fast, cfg.freq_base)));
    high = std::min(static_cast<double>(cfg.n_rot - 1),
                    std::ceil(yarn_corr_dim(cfg.n_rot, cfg.n_ctx_orig, cfg.beta_slow, cfg.freq_base)));
    mscale *= 1.0 + 0.1 * std::log(1.0 / cfg.freq_scale);
  }
  for (int i = 0; i < half; ++i) {
    double theta_extrap = static_cast<double>(pos) * std::pow(static_cast<double>(cfg.freq_base), -2.0 * i / cfg.n_rot);
    if (cfg.freq_factors != nullptr) theta_extrap /= cfg.freq_factors[i];
    const double theta_interp = cfg.freq_scale * theta_extrap;
    double theta = theta_interp;
    if (cfg.ext_factor != 0.0f) {
      // 1 below the correction range (keep extrapolating), 0 above it (interpolate).
      const double ramp = 1.0 - std::clamp((i - low) / std::max(0.001, high - low), 0.0, 1.0);
      const double mix = ramp * cfg.ext_factor;
      theta = theta_interp * (1 - mix) + theta_extrap * mix;
    }
    cos_out[i] = static_cast<float>(std::cos(theta) * mscale);
    sin_out[i] = static_cast<float>(std::sin(theta) * mscale);
  }
}

void rope_apply(const RopeConfig& cfg, const float* cos_v, const float* sin_v, float* x, int64_t n_head,
                int64_t head_dim) {
  const int half = cfg.n_rot / 2;
  // Pair i is (a, b) = (x[2i], x[2i+1]) for kNormal and (x[i], x[i + half]) for kNeox.
  const int64_t stride_b = cfg.mode == RopeMode::kNormal ? 1 : half;
  const int64_t step = cfg.mode == RopeMode::kNormal ? 2 : 1;
  for (int64_t h = 0; h < n_head; ++h) {
    float* head = x + h * head_dim;
    for (int i = 0; i < half; ++i) {
      float* a = head + i * step;
      float* b = a + stride_b;
      const float x0 = *a;
      const float x1 = *b;
      *a = x0 * cos_v[i] - x1 * sin_v[i];
      *b = x0 * sin_v[i] + x1 * cos_v[i];
    }
  }
}

}  // namespace tessera::ops

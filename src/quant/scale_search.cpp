#include "quant/scale_search.h"

#include <cmath>
#include <initializer_list>

#include "quant/quant_impl.h"

namespace tessera::quant {
namespace {

using detail::clamp_int;
using detail::round_even;

constexpr int kSteps = 12;         // candidates on each side of the extreme-level choice
constexpr int kCodebookSteps = 8;  // the same for codebooks, in relative steps of the scale
constexpr float kCodebookStepSize = 0.015f;
constexpr float kStepSize = 0.1f;  // in levels
constexpr int kRefinements = 3;    // re-round / refit rounds on the best candidate

// Weighted least squares of x ~ s*L for the given levels; returns (sum w x L, sum w L^2).
void symmetric_sums(const float* x, const float* w, const int* L, int n, double& sxl, double& sll) {
  float xl = 0, ll = 0;  // float sums vectorise; n <= 256 terms
  for (int i = 0; i < n; ++i) {
    const float wl = w[i] * static_cast<float>(L[i]);
    xl += wl * x[i];
    ll += wl * static_cast<float>(L[i]);
  }
  sxl = xl;
  sll = ll;
}

void round_levels(const float* x, int n, float iscale, float shift, int lo, int hi, int* L) {
  for (int i = 0; i < n; ++i) L[i] = clamp_int(round_even((x[i] - shift) * iscale), lo, hi);
}

// Where the symmetric searches start: the element of largest magnitude (the first of equal ones)
// sets the candidate scales, and sum w x^2 is the error of the zero scale.
struct SignedPeak {
  float vmax = 0, amax = 0;  // that element, and its magnitude
  double sxx = 0;
};
SignedPeak signed_peak(const float* x, const float* w, int n) {
  SignedPeak p;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > p.amax) p.amax = std::fabs(x[i]), p.vmax = x[i];
    p.sxx += static_cast<double>(w[i]) * x[i] * x[i];
  }
  return p;
}

}  // namespace

void block_weights(const float* importance, int n, float* w) {
  double total = 0;
  if (importance) {
    for (int i = 0; i < n; ++i) total += importance[i];
  }
  for (int i = 0; i < n; ++i) w[i] = total > 0 ? importance[i] : 1.0f;
}

SymmetricFit fit_symmetric(const float* x, const float* w, int n, int lo, int hi) {
  const auto [vmax, amax, sxx] = signed_peak(x, w, n);
  SymmetricFit best{0.0f, static_cast<float>(sxx)};
  if (amax == 0) return best;
  int L[256];
  double best_gain = 0;  // sxl^2 / sll: the error reduction of the LSQ scale
  auto consider = [&](float iscale) {
    round_levels(x, n, iscale, 0.0f, lo, hi, L);
    double sxl, sll;
    symmetric_sums(x, w, L, n, sxl, sll);
    if (sll <= 0 || sxl * sxl / sll <= best_gain) return false;
    best_gain = sxl * sxl / sll;
    best.scale = static_cast<float>(sxl / sll);
    return true;
  };
  // The extreme element goes to the negative end (lo) or the positive end (hi), nudged by steps.
  for (int target : {lo, hi}) {
    for (int step = -kSteps; step <= kSteps; ++step) {
      const float magnitude = std::fabs(static_cast<float>(target)) + kStepSize * step;
      if (magnitude < 0.5f) continue;
      consider(std::copysign(magnitude, static_cast<float>(target)) / vmax);
    }
  }
  for (int r = 0; r < kRefinements && best.scale != 0; ++r) {
    if (!consider(1.0f / best.scale)) break;
  }
  best.error = static_cast<float>(std::fmax(0.0, sxx - best_gain));
  return best;
}

AffineFit fit_affine(const float* x, const float* w, int n, int nmax, bool offset_nonpositive) {
  float xmin = x[0], xmax = x[0];
  for (int i = 1; i < n; ++i) xmin = std::fmin(xmin, x[i]), xmax = std::fmax(xmax, x[i]);
  if (offset_nonpositive) xmin = std::fmin(xmin, 0.0f);
  AffineFit best{0.0f, xmin, 0.0f};
  auto error_of = [&](float a, float b, const int* L) {
    double e = 0;
    for (int i = 0; i < n; ++i) {
      const double diff = static_cast<double>(a) * L[i] + b - x[i];
      e += w[i] * diff * diff;
    }
    return e;
  };
  int L[256];
  for (int i = 0; i < n; ++i) L[i] = 0;
  double best_err = error_of(0.0f, xmin, L);
  if (xmax <= xmin) {
    best.error = static_cast<float>(best_err);
    return best;
  }
  double sw = 0, sx = 0, sxx = 0;
  for (int i = 0; i < n; ++i) {
    sw += w[i];
    sx += static_cast<double>(w[i]) * x[i];
    sxx += static_cast<double>(w[i]) * x[i] * x[i];
  }
  auto consider = [&](float iscale, float shift) {
    round_levels(x, n, iscale, shift, 0, nmax, L);
    float slf = 0, sllf = 0, slxf = 0;  // float sums vectorise; the formulas below run in double
    for (int i = 0; i < n; ++i) {
      const float wl = w[i] * static_cast<float>(L[i]);
      slf += wl;
      sllf += wl * static_cast<float>(L[i]);
      slxf += wl * x[i];
    }
    const double sl = slf, sll = sllf, slx = slxf;
    const double det = sw * sll - sl * sl;
    if (sll <= 0) return false;
    double a, b;
    if (det <= 1e-12 * sw * sll) {  // every level equal (e.g. a constant block): scale alone
      a = slx / sll, b = 0;
    } else {
      a = (sw * slx - sl * sx) / det;
      b = (sll * sx - sl * slx) / det;
      if (offset_nonpositive && b > 0) b = 0, a = slx / sll;
    }
    if (a <= 0) return false;
    // sum w (a L + b - x)^2 expanded over the sums: one pass per candidate instead of two.
    const double e = sxx + a * a * sll + b * b * sw - 2 * a * slx - 2 * b * sx + 2 * a * b * sl;
    if (e >= best_err) return false;
    best_err = e;
    best.scale = static_cast<float>(a);
    best.offset = static_cast<float>(b);
    return true;
  };
  for (int step = -kSteps; step <= kSteps; ++step) {
    const float levels = static_cast<float>(nmax) + kStepSize * step;
    if (levels < 0.5f) continue;
    consider(levels / (xmax - xmin), xmin);
  }
  for (int r = 0; r < kRefinements && best.scale > 0; ++r) {
    if (!consider(1.0f / best.scale, best.offset)) break;
  }
  best.error = static_cast<float>(best_err);
  return best;
}

int nearest_code(const int8_t* values, int count, float v) {
  // Codebooks are tiny (16 entries): count the midpoints below v, branch-free (ties go down).
  int index = 0;
  for (int k = 0; k + 1 < count; ++k) index += v > 0.5f * static_cast<float>(values[k] + values[k + 1]);
  return index;
}

SymmetricFit fit_codebook(const float* x, const float* w, int n, const int8_t* values, int count) {
  const auto [vmax, amax, sxx] = signed_peak(x, w, n);
  SymmetricFit best{0.0f, static_cast<float>(sxx)};
  if (amax == 0) return best;
  double best_gain = 0;
  auto consider = [&](float iscale) {
    double sxl = 0, sll = 0;
    for (int i = 0; i < n; ++i) {
      const float q = values[nearest_code(values, count, x[i] * iscale)];
      sxl += static_cast<double>(w[i]) * x[i] * q;
      sll += static_cast<double>(w[i]) * q * q;
    }
    if (sll <= 0 || sxl * sxl / sll <= best_gain) return false;
    best_gain = sxl * sxl / sll;
    best.scale = static_cast<float>(sxl / sll);
    return true;
  };
  for (float target : {static_cast<float>(values[0]), static_cast<float>(values[count - 1])}) {
    for (int step = -kCodebookSteps; step <= kCodebookSteps; ++step) {
      const float magnitude = std::fabs(target) * (1.0f + kCodebookStepSize * static_cast<float>(step));
      consider(std::copysign(magnitude, target) / vmax);
    }
  }
  for (int r = 0; r < kRefinements && best.scale != 0; ++r) {
    if (!consider(1.0f / best.scale)) break;
  }
  best.error = static_cast<float>(std::fmax(0.0, sxx - best_gain));
  return best;
}

}  // namespace tessera::quant

#include "quant/scale_search.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>

#include "quant/quant_impl.h"

namespace tessera::quant {
namespace {

using detail::clamp_int;
using detail::round_even;

constexpr float kCodebookStepSize = 0.015f;
constexpr float kStepSize = 0.1f;  // in levels
constexpr int kRefinements = 3;    // re-round / refit rounds on the best candidate

// Partial sums are kept in kLanes independent accumulators: without -ffast-math a single float sum
// is one serial chain of adds that the compiler may not reorder; independent lanes can overlap (and
// vectorise, with the baseline SSE2 these files are built for).
constexpr int kLanes = 8;

template <int N>
float lane_total(const float (&acc)[N]) {
  float t = 0;
  for (int k = 0; k < N; ++k) t += acc[k];
  return t;
}

// Sum of t[N] (N a power of two) by halving; destroys t.
template <int N>
float tree_total(float* t) {
  for (int h = N / 2; h >= 1; h /= 2) {
    for (int i = 0; i < h; ++i) t[i] += t[i + h];
  }
  return t[0];
}

// Weighted least squares of x ~ s*L, L = round(x * iscale) clamped to [lo, hi]: returns
// (sum w x L, sum w L^2). The levels are only needed for the winning candidate, so they stay floats.
// N = 0 is any n; the fixed sizes the k-quants use (16, 32) unroll completely.
template <int N>
void symmetric_sums(const float* x, const float* w, int n, float iscale, float lo, float hi, double& sxl,
                    double& sll) {
  if constexpr (N == 0) {
    float xl[kLanes] = {}, ll[kLanes] = {};
    for (int i = 0; i < n; ++i) {
      const float q = detail::round_level(x[i] * iscale, lo, hi);
      xl[i % kLanes] += w[i] * q * x[i];
      ll[i % kLanes] += w[i] * q * q;
    }
    sxl = lane_total(xl);
    sll = lane_total(ll);
  } else {
    // Element-wise products, then a halving tree of element-wise adds: no serial chain.
    float xl[N], ll[N];
    for (int i = 0; i < N; ++i) {
      const float q = detail::round_level(x[i] * iscale, lo, hi);
      const float wq = w[i] * q;
      xl[i] = wq * x[i];
      ll[i] = wq * q;
    }
    sxl = tree_total<N>(xl);
    sll = tree_total<N>(ll);
  }
}

// sum w L, sum w L^2, sum w L x for L = round((x - shift) * iscale) clamped to [0, nmax].
template <int N>
void affine_sums(const float* x, const float* w, int n, float iscale, float shift, float nmax, double& sl,
                 double& sll, double& slx) {
  if constexpr (N != 0) n = N;
  float l[kLanes] = {}, ll[kLanes] = {}, lx[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int k = 0; k < kLanes; ++k) {
      const float q = detail::round_level((x[i + k] - shift) * iscale, 0.0f, nmax);
      const float wq = w[i + k] * q;
      l[k] += wq, ll[k] += wq * q, lx[k] += wq * x[i + k];
    }
  }
  for (; i < n; ++i) {
    const float q = detail::round_level((x[i] - shift) * iscale, 0.0f, nmax);
    l[0] += w[i] * q, ll[0] += w[i] * q * q, lx[0] += w[i] * q * x[i];
  }
  sl = lane_total(l), sll = lane_total(ll), slx = lane_total(lx);
}

// The sums of symmetric_sums / affine_sums for many candidate inverse scales at once: the
// candidates run across the lanes, so each element is loaded once per kLanes candidates and no
// lane needs a horizontal sum. (Candidate counts are small: up to 2 * (2 * steps + 1).)
void symmetric_sums_batch(const float* x, const float* w, int n, const float* iscale, int count, float lo, float hi,
                          float* sxl, float* sll) {
  for (int c0 = 0; c0 < count; c0 += kLanes) {
    float is[kLanes], xl[kLanes] = {}, ll[kLanes] = {};
    for (int k = 0; k < kLanes; ++k) is[k] = c0 + k < count ? iscale[c0 + k] : 0.0f;
    for (int i = 0; i < n; ++i) {
      const float xi = x[i], wi = w[i];
      for (int k = 0; k < kLanes; ++k) {
        const float q = detail::round_level(xi * is[k], lo, hi);
        const float wq = wi * q;
        xl[k] += wq * xi;
        ll[k] += wq * q;
      }
    }
    for (int k = 0; k < kLanes && c0 + k < count; ++k) sxl[c0 + k] = xl[k], sll[c0 + k] = ll[k];
  }
}

void affine_sums_batch(const float* x, const float* w, int n, const float* iscale, int count, float shift, float nmax,
                       float* sl, float* sll, float* slx) {
  for (int c0 = 0; c0 < count; c0 += kLanes) {
    float is[kLanes], l[kLanes] = {}, ll[kLanes] = {}, lx[kLanes] = {};
    for (int k = 0; k < kLanes; ++k) is[k] = c0 + k < count ? iscale[c0 + k] : 0.0f;
    for (int i = 0; i < n; ++i) {
      const float xi = x[i], wi = w[i], xs = x[i] - shift;
      for (int k = 0; k < kLanes; ++k) {
        const float q = detail::round_level(xs * is[k], 0.0f, nmax);
        const float wq = wi * q;
        l[k] += wq, ll[k] += wq * q, lx[k] += wq * xi;
      }
    }
    for (int k = 0; k < kLanes && c0 + k < count; ++k) sl[c0 + k] = l[k], sll[c0 + k] = ll[k], slx[c0 + k] = lx[k];
  }
}

constexpr int kMaxSteps = 16;  // larger requests are capped (fixed-size candidate arrays)
constexpr int kMaxCandidates = 2 * (2 * kMaxSteps + 1);

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

SymmetricFit fit_symmetric(const float* x, const float* w, int n, int lo, int hi, int steps) {
  steps = std::min(steps, kMaxSteps);
  const auto [vmax, amax, sxx] = signed_peak(x, w, n);
  SymmetricFit best{0.0f, static_cast<float>(sxx)};
  if (amax == 0) return best;
  const float flo = static_cast<float>(lo), fhi = static_cast<float>(hi);
  double best_gain = 0;  // sxl^2 / sll: the error reduction of the LSQ scale
  auto consider = [&](float iscale) {
    double sxl, sll;
    if (n == 16) {
      symmetric_sums<16>(x, w, n, iscale, flo, fhi, sxl, sll);
    } else if (n == 32) {
      symmetric_sums<32>(x, w, n, iscale, flo, fhi, sxl, sll);
    } else {
      symmetric_sums<0>(x, w, n, iscale, flo, fhi, sxl, sll);
    }
    if (sll <= 0 || sxl * sxl / sll <= best_gain) return false;
    best_gain = sxl * sxl / sll;
    best.scale = static_cast<float>(sxl / sll);
    return true;
  };
  // The extreme element goes to the negative end (lo) or the positive end (hi), nudged by steps.
  float iscale[kMaxCandidates], sxl[kMaxCandidates], sll[kMaxCandidates];
  int count = 0;
  for (int target : {lo, hi}) {
    for (int step = -steps; step <= steps; ++step) {
      const float magnitude = std::fabs(static_cast<float>(target)) + kStepSize * step;
      if (magnitude < 0.5f) continue;
      iscale[count++] = std::copysign(magnitude, static_cast<float>(target)) / vmax;
    }
  }
  symmetric_sums_batch(x, w, n, iscale, count, flo, fhi, sxl, sll);
  for (int c = 0; c < count; ++c) {
    const double xl = sxl[c], ll = sll[c];
    if (ll > 0 && xl * xl > best_gain * ll) best_gain = xl * xl / ll, best.scale = static_cast<float>(xl / ll);
  }
  for (int r = 0; r < kRefinements && best.scale != 0; ++r) {
    if (!consider(1.0f / best.scale)) break;
  }
  best.error = static_cast<float>(std::fmax(0.0, sxx - best_gain));
  return best;
}

AffineFit fit_affine(const float* x, const float* w, int n, int nmax, bool offset_nonpositive, int steps) {
  steps = std::min(steps, kMaxSteps);
  float xmin = x[0], xmax = x[0];
  for (int i = 1; i < n; ++i) xmin = std::fmin(xmin, x[i]), xmax = std::fmax(xmax, x[i]);
  if (offset_nonpositive) xmin = std::fmin(xmin, 0.0f);
  AffineFit best{0.0f, xmin, 0.0f};
  double sw = 0, sx = 0, sxx = 0, best_err = 0;
  for (int i = 0; i < n; ++i) {
    sw += w[i];
    sx += static_cast<double>(w[i]) * x[i];
    sxx += static_cast<double>(w[i]) * x[i] * x[i];
    const double diff = static_cast<double>(xmin) - x[i];  // every level 0: y = xmin
    best_err += w[i] * diff * diff;
  }
  if (xmax <= xmin) {
    best.error = static_cast<float>(best_err);
    return best;
  }
  const float fmax_level = static_cast<float>(nmax);
  // Takes the LSQ (scale, offset) of one rounding, given its sums, if it beats the best so far.
  auto accept = [&](double sl, double sll, double slx) {
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
  auto consider = [&](float iscale, float shift) {
    double sl, sll, slx;
    if (n == 16) {
      affine_sums<16>(x, w, n, iscale, shift, fmax_level, sl, sll, slx);
    } else if (n == 32) {
      affine_sums<32>(x, w, n, iscale, shift, fmax_level, sl, sll, slx);
    } else {
      affine_sums<0>(x, w, n, iscale, shift, fmax_level, sl, sll, slx);
    }
    return accept(sl, sll, slx);
  };
  float iscale[kMaxCandidates], sl[kMaxCandidates], sll[kMaxCandidates], slx[kMaxCandidates];
  int count = 0;
  for (int step = -steps; step <= steps; ++step) {
    const float levels = static_cast<float>(nmax) + kStepSize * step;
    if (levels < 0.5f) continue;
    iscale[count++] = levels / (xmax - xmin);
  }
  affine_sums_batch(x, w, n, iscale, count, xmin, fmax_level, sl, sll, slx);
  for (int c = 0; c < count; ++c) accept(sl[c], sll[c], slx[c]);
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

void Codebook::nearest_values(const float* v, int n, float* q) const {
  // The value is built up as values[0] + the steps whose midpoint v exceeds: compares and adds
  // that vectorise, where indexing the table would not (same ties as nearest_code).
  if (n == kLanes) {  // the fixed width unrolls into vector compares
    for (int i = 0; i < kLanes; ++i) q[i] = static_cast<float>(values[0]);
    for (int k = 0; k + 1 < count; ++k) {
      for (int i = 0; i < kLanes; ++i) q[i] += v[i] > mid[k] ? step[k] : 0.0f;
    }
    return;
  }
  for (int i = 0; i < n; ++i) q[i] = static_cast<float>(values[0]);
  for (int k = 0; k + 1 < count; ++k) {
    for (int i = 0; i < n; ++i) q[i] += v[i] > mid[k] ? step[k] : 0.0f;
  }
}

float Codebook::error(const float* x, const float* w, int n, float d) const {
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  float acc[kLanes] = {};
  for (int i0 = 0; i0 < n; i0 += kLanes) {
    const int m = std::min(kLanes, n - i0);
    float v[kLanes], q[kLanes];
    for (int k = 0; k < m; ++k) v[k] = x[i0 + k] * id;
    nearest_values(v, m, q);
    for (int k = 0; k < m; ++k) {
      const float diff = d * q[k] - x[i0 + k];
      acc[k] += w[i0 + k] * diff * diff;
    }
  }
  return lane_total(acc);
}

SymmetricFit fit_codebook(const float* x, const float* w, int n, const Codebook& book, int steps) {
  const auto [vmax, amax, sxx] = signed_peak(x, w, n);
  SymmetricFit best{0.0f, static_cast<float>(sxx)};
  if (amax == 0) return best;
  double best_gain = 0;
  auto consider = [&](float iscale) {
    float xl[kLanes] = {}, ll[kLanes] = {};
    for (int i0 = 0; i0 < n; i0 += kLanes) {
      const int m = std::min(kLanes, n - i0);
      float v[kLanes], q[kLanes];
      for (int k = 0; k < m; ++k) v[k] = x[i0 + k] * iscale;
      book.nearest_values(v, m, q);
      for (int k = 0; k < m; ++k) {
        const float wq = w[i0 + k] * q[k];
        xl[k] += wq * x[i0 + k], ll[k] += wq * q[k];
      }
    }
    const double sxl = lane_total(xl), sll = lane_total(ll);
    if (sll <= 0 || sxl * sxl / sll <= best_gain) return false;
    best_gain = sxl * sxl / sll;
    best.scale = static_cast<float>(sxl / sll);
    return true;
  };
  for (float target : {static_cast<float>(book.values[0]), static_cast<float>(book.values[book.count - 1])}) {
    for (int step = -steps; step <= steps; ++step) {
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

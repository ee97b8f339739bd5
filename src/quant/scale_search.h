// Error-minimising scale searches shared by the quantizers (legacy, k-quants, i-quants, ternary).
// They fit a block of values x[n] with weights w[n] (importance, or all 1 for plain squared error)
// by integer levels times a scale (and an offset), minimising sum w * (x - y)^2. The searches try
// a fan of candidate inverse scales around the "max element on the extreme level" choice, refit
// the scale (and offset) by weighted least squares for each rounding, and keep the best.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>

#include "quant/float16.h"

namespace tessera::quant {

// The f16 value a searched scale is stored as. A non-zero scale never rounds to zero: it becomes
// the smallest subnormal of its sign instead, so blocks of tiny values keep their sign and size
// (the integer sub-scales and quants absorb the difference) rather than collapsing to 0.
inline float stored_scale(float scale) {
  uint16_t h = f32_to_f16(scale);
  if ((h & 0x7fff) == 0 && scale != 0.0f) h |= 1;
  return f16_to_f32(h);
}

// Candidates on each side of the extreme-level choice: the searches try 2 * steps + 1 inverse
// scales (per end for the symmetric ones), 0.1 level apart (codebooks: 1.5% of the scale apart).
// Callers that refine the result further (the k-quants re-tune their integer sub-block scales)
// pass fewer. At most 16 are used.
constexpr int kSearchSteps = 12;
constexpr int kCodebookSearchSteps = 4;

// A sorted signed codebook (values[count], count <= 16) with its midpoints precomputed.
struct Codebook {
  constexpr Codebook(const int8_t* v, int n) : values(v), count(n) {
    for (int k = 0; k + 1 < n; ++k) {
      mid[k] = 0.5f * static_cast<float>(values[k] + values[k + 1]);
      step[k] = static_cast<float>(values[k + 1] - values[k]);
    }
  }
  // q[i] = the value nearest to v[i] (ties go down, as nearest_code), for n <= 8 values.
  void nearest_values(const float* v, int n, float* q) const;
  // sum w (d * nearest(x / d) - x)^2 over x[n].
  float error(const float* x, const float* w, int n, float d) const;
  const int8_t* values;
  int count;
  float mid[15] = {}, step[15] = {};
};

struct SymmetricFit {
  float scale = 0.0f;  // y = scale * L, L integer in [lo, hi]
  float error = 0.0f;  // weighted squared error at the fitted scale
};

struct AffineFit {
  float scale = 0.0f;   // y = scale * L + offset, L integer in [0, nmax]
  float offset = 0.0f;  // <= 0 when fitted with offset_nonpositive
  float error = 0.0f;
};

// Best scale for levels [lo, hi] (lo < 0 < hi). `n` <= 256.
SymmetricFit fit_symmetric(const float* x, const float* w, int n, int lo, int hi, int steps = kSearchSteps);

// Best (scale, offset) for levels [0, nmax]. With offset_nonpositive the offset is kept <= 0 (the
// k-quants store it as a subtracted non-negative min). `n` <= 256.
AffineFit fit_affine(const float* x, const float* w, int n, int nmax, bool offset_nonpositive,
                     int steps = kSearchSteps);

// Best scale for a non-linear codebook `values[count]` (sorted ascending, signed): y = scale *
// values[idx]. Used by IQ4_NL / IQ4_XS. `n` <= 256.
SymmetricFit fit_codebook(const float* x, const float* w, int n, const Codebook& book,
                          int steps = kCodebookSearchSteps);

// Index of the codebook value nearest to v (values sorted ascending).
int nearest_code(const int8_t* values, int count, float v);

// Fills w[n] with importance[0..n) or, when importance is null or sums to zero over the block,
// with 1 (so a block the imatrix ignores is still quantized for plain error).
void block_weights(const float* importance, int n, float* w);

}  // namespace tessera::quant

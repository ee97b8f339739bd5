// Helpers shared by the ops unit tests.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace tessera::ops::test {

// n normally distributed floats (mean 0, standard deviation `scale`) from a fixed seed.
inline std::vector<float> random_vector(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

}  // namespace tessera::ops::test

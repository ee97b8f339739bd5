// Reference ops against the formulas, recomputed here independently in double precision.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <vector>

#include "ops/ops.h"
#include "ops/simd_kernels.h"
#include "ops_test_util.h"
#include "quant/float16.h"

namespace tessera::ops {
namespace {

using test::random_vector;

TEST(OpsTest, RmsNormMatchesFormula) {
  const std::vector<float> x = random_vector(257, 1, 3.0f);
  const std::vector<float> w = random_vector(257, 2);
  std::vector<float> out(x.size());
  rmsnorm(x.data(), w.data(), 1e-5f, 257, out.data());
  double ms = 0;
  for (float v : x) ms += double(v) * v;
  ms /= 257;
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(out[i], x[i] / std::sqrt(ms + 1e-5) * w[i], 1e-5) << i;
  // In place, no weight.
  std::vector<float> y = x;
  rmsnorm(y.data(), nullptr, 1e-5f, 257, y.data());
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(y[i], x[i] / std::sqrt(ms + 1e-5), 1e-5) << i;
}

TEST(OpsTest, LayerNormMatchesFormula) {
  const std::vector<float> x = random_vector(100, 3, 2.0f);
  const std::vector<float> w = random_vector(100, 4);
  const std::vector<float> b = random_vector(100, 5);
  std::vector<float> out(100);
  layernorm(x.data(), w.data(), b.data(), 1e-5f, 100, out.data());
  double mean = 0, var = 0;
  for (float v : x) mean += v;
  mean /= 100;
  for (float v : x) var += (v - mean) * (v - mean);
  var /= 100;
  double out_mean = 0;
  for (size_t i = 0; i < 100; ++i) {
    EXPECT_NEAR(out[i], (x[i] - mean) / std::sqrt(var + 1e-5) * w[i] + b[i], 1e-5) << i;
    out_mean += (out[i] - b[i]) / w[i];
  }
  EXPECT_NEAR(out_mean / 100, 0.0, 1e-4);
}

TEST(OpsTest, SoftmaxSumsToOneAndMatchesFormula) {
  std::vector<float> x = {1000.0f, 999.0f, 998.0f, -5.0f};  // large values: needs max subtraction
  const std::vector<double> ref = [] {
    std::vector<double> e = {1.0, std::exp(-1.0), std::exp(-2.0), std::exp(-1005.0)};
    double s = e[0] + e[1] + e[2] + e[3];
    for (double& v : e) v /= s;
    return e;
  }();
  softmax(x.data(), 4);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(x[i], ref[i], 1e-6);
}

TEST(OpsTest, ActivationsMatchFormulas) {
  for (double x : {-8.0, -2.5, -0.3, 0.0, 0.7, 3.0, 9.0}) {
    const double sig = 1.0 / (1.0 + std::exp(-x));
    EXPECT_NEAR(silu(static_cast<float>(x)), x * sig, 1e-6) << x;
    const double g = 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / std::numbers::pi) * (x + 0.044715 * x * x * x)));
    EXPECT_NEAR(gelu_tanh(static_cast<float>(x)), g, 1e-6) << x;
  }
  const std::vector<float> gate = random_vector(33, 6, 2.0f), up = random_vector(33, 7);
  std::vector<float> a(33), b(33);
  swiglu(gate.data(), up.data(), 33, a.data());
  geglu(gate.data(), up.data(), 33, b.data());
  for (int i = 0; i < 33; ++i) {
    const double g = gate[i];
    EXPECT_NEAR(a[i], g / (1 + std::exp(-g)) * up[i], 1e-5);
    EXPECT_NEAR(b[i], 0.5 * g * (1 + std::tanh(std::sqrt(2 / std::numbers::pi) * (g + 0.044715 * g * g * g))) * up[i],
                1e-5);
  }
}

TEST(OpsTest, SoftcapBoundsAndFormula) {
  std::vector<float> x = {-100.0f, -1.0f, 0.0f, 0.5f, 100.0f};
  const std::vector<float> orig = x;
  softcap(x.data(), 5, 30.0f);
  for (int i = 0; i < 5; ++i) {
    EXPECT_NEAR(x[i], 30.0 * std::tanh(orig[i] / 30.0), 1e-5);
    EXPECT_LT(std::abs(x[i]), 30.0f);
  }
}

// Rotation angle of pair i at `pos`, from the definitions (YaRN as in the paper / ggml).
double ref_theta(const RopeConfig& c, int64_t pos, int i, double* mscale) {
  const double base_freq = std::pow(double(c.freq_base), -2.0 * i / c.n_rot);
  const double extrap = pos * base_freq;
  const double interp = extrap * c.freq_scale;
  *mscale = c.attn_factor;
  if (c.ext_factor == 0) return interp;
  auto corr = [&](double rot) {
    return c.n_rot * std::log(c.n_ctx_orig / (rot * 2 * std::numbers::pi)) / (2 * std::log(double(c.freq_base)));
  };
  const double low = std::max(0.0, std::floor(corr(c.beta_fast)));
  const double high = std::min(double(c.n_rot - 1), std::ceil(corr(c.beta_slow)));
  double y = (i - low) / std::max(0.001, high - low);
  y = std::min(1.0, std::max(0.0, y));
  const double keep_extrap = (1 - y) * c.ext_factor;
  *mscale *= 1 + 0.1 * std::log(1 / double(c.freq_scale));
  return interp * (1 - keep_extrap) + extrap * keep_extrap;
}

void check_rope(const RopeConfig& c, int64_t head_dim, int64_t pos) {
  const int64_t n_head = 3;
  std::vector<float> x = random_vector(static_cast<size_t>(n_head * head_dim), 11);
  const std::vector<float> orig = x;
  std::vector<float> cs(c.n_rot / 2), sn(c.n_rot / 2);
  rope_angles(c, pos, cs.data(), sn.data());
  rope_apply(c, cs.data(), sn.data(), x.data(), n_head, head_dim);
  const int half = c.n_rot / 2;
  for (int64_t h = 0; h < n_head; ++h) {
    const float* o = orig.data() + h * head_dim;
    const float* r = x.data() + h * head_dim;
    for (int i = 0; i < half; ++i) {
      double ms;
      const double th = ref_theta(c, pos, i, &ms);
      const int a = c.mode == RopeMode::kNormal ? 2 * i : i;
      const int b = c.mode == RopeMode::kNormal ? 2 * i + 1 : i + half;
      EXPECT_NEAR(r[a], ms * (o[a] * std::cos(th) - o[b] * std::sin(th)), 2e-5) << "pair " << i;
      EXPECT_NEAR(r[b], ms * (o[a] * std::sin(th) + o[b] * std::cos(th)), 2e-5) << "pair " << i;
    }
    for (int64_t d = c.n_rot; d < head_dim; ++d) EXPECT_EQ(r[d], o[d]) << "unrotated dim " << d;
  }
}

TEST(OpsTest, RopeNormalAndNeoxMatchRotation) {
  RopeConfig c;
  c.n_rot = 16;
  for (RopeMode mode : {RopeMode::kNormal, RopeMode::kNeox}) {
    c.mode = mode;
    check_rope(c, 16, 0);
    check_rope(c, 16, 7);
    check_rope(c, 16, 1234);
  }
}

TEST(OpsTest, RopePartialRotationAndLinearScale) {
  RopeConfig c;
  c.mode = RopeMode::kNeox;
  c.n_rot = 8;  // of a 24-dim head: the last 16 dims pass through
  c.freq_base = 500000.0f;
  c.freq_scale = 0.25f;
  check_rope(c, 24, 99);
  c.mode = RopeMode::kNormal;
  check_rope(c, 24, 99);
}

TEST(OpsTest, RopeYarnMatchesFormula) {
  RopeConfig c;
  c.mode = RopeMode::kNeox;
  c.n_rot = 64;
  c.freq_base = 10000.0f;
  c.freq_scale = 0.25f;
  c.ext_factor = 1.0f;
  c.n_ctx_orig = 4096;
  check_rope(c, 64, 5000);
  // The highest-frequency pair keeps its unscaled angle; the lowest is fully interpolated; the
  // magnitude grows by 1 + 0.1 ln 4.
  std::vector<float> cs(32), sn(32);
  rope_angles(c, 100, cs.data(), sn.data());
  const double m = 1 + 0.1 * std::log(4.0);
  EXPECT_NEAR(std::atan2(sn[0], cs[0]), std::remainder(100.0, 2 * std::numbers::pi), 1e-4);
  EXPECT_NEAR(std::hypot(sn[0], cs[0]), m, 1e-5);
  const double low_freq = std::pow(10000.0, -62.0 / 64);
  EXPECT_NEAR(std::atan2(sn[31], cs[31]), 100 * low_freq * 0.25, 1e-5);
}

TEST(OpsTest, RopeFreqFactorsDivideAngles) {
  RopeConfig c;
  c.mode = RopeMode::kNormal;
  c.n_rot = 8;
  const float factors[4] = {1.0f, 2.0f, 4.0f, 8.0f};
  c.freq_factors = factors;
  std::vector<float> cs(4), sn(4);
  rope_angles(c, 3, cs.data(), sn.data());
  for (int i = 0; i < 4; ++i) {
    const double th = 3 * std::pow(10000.0, -2.0 * i / 8) / factors[i];
    EXPECT_NEAR(cs[i], std::cos(th), 1e-6);
    EXPECT_NEAR(sn[i], std::sin(th), 1e-6);
  }
}

// Naive attention in double: every head, scores over visible keys, softmax, weighted values.
struct AttnCase {
  int64_t n_head = 4, n_head_kv = 2, dk = 8, dv = 6;
  float scale = 0.35f, softcap = 0.0f;
  int64_t n_swa = 0;
  KvType type = KvType::kF32;
};

void check_attention(const AttnCase& t) {
  const int64_t n_cells = 9;
  const int64_t ks = t.n_head_kv * t.dk, vs = t.n_head_kv * t.dv;
  const std::vector<float> q = random_vector(static_cast<size_t>(t.n_head * t.dk), 21, 2.0f);
  std::vector<float> k = random_vector(static_cast<size_t>(n_cells * ks), 22);
  std::vector<float> v = random_vector(static_cast<size_t>(n_cells * vs), 23);
  // Rows in the cache's type; the oracle sees the same rounded values, decoded row by row.
  const quant::TypeTraits& traits = quant::type_traits(kv_tensor_type(t.type));
  const size_t k_row = *quant::row_bytes(traits.type, static_cast<uint64_t>(ks));
  const size_t v_row = *quant::row_bytes(traits.type, static_cast<uint64_t>(vs));
  std::vector<uint8_t> kq(n_cells * k_row), vq(n_cells * v_row);
  for (int64_t c = 0; c < n_cells; ++c) {
    traits.quantize(k.data() + c * ks, kq.data() + c * k_row, ks, nullptr);
    traits.quantize(v.data() + c * vs, vq.data() + c * v_row, vs, nullptr);
    traits.dequantize(kq.data() + c * k_row, k.data() + c * ks, ks);
    traits.dequantize(vq.data() + c * v_row, v.data() + c * vs, vs);
  }
  // The sequence owns cells 1, 3, 4, 6, 8 (out of order positions), the query sits at pos 6.
  const std::vector<int32_t> cells = {1, 3, 4, 6, 8};
  const std::vector<int32_t> positions = {0, 2, 7, 6, 4};
  const int64_t q_pos = 6;
  KvView kv;
  kv.type = t.type;
  kv.k = kq.data();
  kv.v = vq.data();
  kv.k_row_bytes = k_row;
  kv.v_row_bytes = v_row;
  kv.cells = cells;
  kv.positions = positions;
  AttentionParams p{t.n_head, t.n_head_kv, t.dk, t.dv, t.scale, t.softcap, t.n_swa};
  std::vector<float> out(static_cast<size_t>(t.n_head * t.dv), -1.0f);
  std::vector<float> scratch(static_cast<size_t>(attention_scratch_size(p, static_cast<int64_t>(cells.size()))));
  attention(p, q.data(), q_pos, kv, 0, t.n_head, scratch.data(), out.data());

  for (int64_t h = 0; h < t.n_head; ++h) {
    const int64_t g = h / (t.n_head / t.n_head_kv);
    std::vector<double> w;
    std::vector<int32_t> vis;
    for (size_t j = 0; j < cells.size(); ++j) {
      const int64_t kp = positions[j];
      if (kp > q_pos || (t.n_swa > 0 && q_pos - kp >= t.n_swa)) continue;
      double s = 0;
      for (int64_t d = 0; d < t.dk; ++d) s += double(q[h * t.dk + d]) * k[cells[j] * ks + g * t.dk + d];
      s *= t.scale;
      if (t.softcap > 0) s = t.softcap * std::tanh(s / t.softcap);
      w.push_back(s);
      vis.push_back(cells[j]);
    }
    double mx = -1e300, sum = 0;
    for (double s : w) mx = std::max(mx, s);
    for (double& s : w) sum += (s = std::exp(s - mx));
    for (int64_t d = 0; d < t.dv; ++d) {
      double o = 0;
      for (size_t j = 0; j < w.size(); ++j) o += w[j] / sum * v[vis[j] * vs + g * t.dv + d];
      EXPECT_NEAR(out[h * t.dv + d], o, 1e-5) << "head " << h << " dim " << d;
    }
  }
}

TEST(OpsTest, AttentionCausalGqa) {
  check_attention({});
}

TEST(OpsTest, AttentionSlidingWindow) {
  AttnCase t;
  t.n_swa = 3;  // sees positions 4..6 only
  check_attention(t);
}

TEST(OpsTest, AttentionSoftcapAndF16Cache) {
  AttnCase t;
  t.softcap = 1.5f;
  t.scale = 2.0f;
  t.type = KvType::kF16;
  t.n_head_kv = 1;
  check_attention(t);
}

TEST(OpsTest, AttentionQuantizedCaches) {
  for (KvType type : {KvType::kQ8_0, KvType::kQ4_0}) {
    AttnCase t;
    t.type = type;
    t.dk = 64;  // whole 32-element blocks per head
    t.dv = 32;
    check_attention(t);
  }
}

// Blocked attention over 150 cells (two full 64-cell blocks and a partial one, positions
// shuffled) for 7 query tokens at once, against the same naive double formula.
void check_attention_tile(const AttnCase& t) {
  const int64_t n_cells = 150, n_tok = 7;
  const int64_t ks = t.n_head_kv * t.dk, vs = t.n_head_kv * t.dv, qs = t.n_head * t.dk;
  const std::vector<float> q = random_vector(static_cast<size_t>(n_tok * qs), 31, 2.0f);
  std::vector<float> k = random_vector(static_cast<size_t>(n_cells * ks), 32);
  std::vector<float> v = random_vector(static_cast<size_t>(n_cells * vs), 33);
  const quant::TypeTraits& traits = quant::type_traits(kv_tensor_type(t.type));
  const size_t k_row = *quant::row_bytes(traits.type, static_cast<uint64_t>(ks));
  const size_t v_row = *quant::row_bytes(traits.type, static_cast<uint64_t>(vs));
  std::vector<uint8_t> kq(n_cells * k_row), vq(n_cells * v_row);
  for (int64_t c = 0; c < n_cells; ++c) {
    traits.quantize(k.data() + c * ks, kq.data() + c * k_row, ks, nullptr);
    traits.quantize(v.data() + c * vs, vq.data() + c * v_row, vs, nullptr);
    traits.dequantize(kq.data() + c * k_row, k.data() + c * ks, ks);
    traits.dequantize(vq.data() + c * v_row, v.data() + c * vs, vs);
  }
  // The sequence owns every other cell from 3 (73 cells), at positions 0..72 in shuffled order.
  std::vector<int32_t> cells, positions;
  for (int32_t c = 3; c < n_cells; c += 2) cells.push_back(c);
  for (size_t i = 0; i < cells.size(); ++i) positions.push_back(static_cast<int32_t>(i));
  std::shuffle(positions.begin(), positions.end(), std::mt19937(7));
  // Batch entries 0..8; the tile takes 7 of them (1 and 4 belong to another sequence).
  const std::vector<int32_t> q_pos = {0, -1, 5, 72, -1, 40, 63, 64, 0};
  const std::vector<int32_t> tokens = {0, 2, 3, 5, 6, 7, 8};
  std::vector<float> qb(static_cast<size_t>(9 * qs), 0.0f);
  for (int64_t i = 0; i < n_tok; ++i) std::copy_n(q.data() + i * qs, qs, qb.data() + tokens[i] * qs);
  KvView kv;
  kv.type = t.type;
  kv.k = kq.data();
  kv.v = vq.data();
  kv.k_row_bytes = k_row;
  kv.v_row_bytes = v_row;
  kv.cells = cells;
  kv.positions = positions;
  AttentionParams p{t.n_head, t.n_head_kv, t.dk, t.dv, t.scale, t.softcap, t.n_swa};
  const int64_t os = t.n_head * t.dv;
  std::vector<float> out(static_cast<size_t>(9 * os), -7.0f);
  std::vector<float> scratch;
  for (int64_t g = 0; g < t.n_head_kv; ++g) {
    attention_tile(p, kv, g, tokens, qb.data(), qs, q_pos.data(), out.data(), os, scratch);
  }
  for (int64_t i = 0; i < n_tok; ++i) {
    const int32_t tok = tokens[i];
    for (int64_t h = 0; h < t.n_head; ++h) {
      const int64_t g = h / (t.n_head / t.n_head_kv);
      std::vector<double> w;
      std::vector<int32_t> vis;
      for (size_t j = 0; j < cells.size(); ++j) {
        const int64_t kp = positions[j];
        if (kp > q_pos[tok] || (t.n_swa > 0 && q_pos[tok] - kp >= t.n_swa)) continue;
        double sc = 0;
        for (int64_t d = 0; d < t.dk; ++d) sc += double(qb[tok * qs + h * t.dk + d]) * k[cells[j] * ks + g * t.dk + d];
        sc *= t.scale;
        if (t.softcap > 0) sc = t.softcap * std::tanh(sc / t.softcap);
        w.push_back(sc);
        vis.push_back(cells[j]);
      }
      ASSERT_FALSE(w.empty());
      double mx = -1e300, sum = 0;
      for (double sc : w) mx = std::max(mx, sc);
      for (double& sc : w) sum += (sc = std::exp(sc - mx));
      for (int64_t d = 0; d < t.dv; ++d) {
        double o = 0;
        for (size_t j = 0; j < w.size(); ++j) o += w[j] / sum * v[vis[j] * vs + g * t.dv + d];
        EXPECT_NEAR(out[tok * os + h * t.dv + d], o, 2e-5) << "token " << tok << " head " << h << " dim " << d;
      }
    }
  }
  EXPECT_EQ(out[1 * os], -7.0f);  // entries outside the tile are untouched
  EXPECT_EQ(out[4 * os + os - 1], -7.0f);
}

TEST(OpsTest, AttentionTileCausalGqa) {
  check_attention_tile({});
}

TEST(OpsTest, AttentionTileSlidingWindowSoftcapF16) {
  AttnCase t;
  t.n_swa = 20;
  t.softcap = 1.5f;
  t.type = KvType::kF16;
  t.n_head = 8;
  t.n_head_kv = 1;
  t.dk = 40;  // not a multiple of 16: exercises the kernels' masked tails
  t.dv = 24;
  check_attention_tile(t);
}

TEST(OpsTest, AttentionTileQuantizedCache) {
  AttnCase t;
  t.type = KvType::kQ8_0;
  t.dk = 64;
  t.dv = 32;
  check_attention_tile(t);
}

// The SIMD attention kernels against the scalar reference table.
TEST(OpsTest, OpKernelsMatchScalar) {
  const OpKernels* scalar = op_kernels_for(quant::Isa::kScalar);
  const OpKernels* simd = op_kernels_for(quant::Isa::kAvx512);
  ASSERT_NE(scalar, nullptr);
  if (simd == nullptr) GTEST_SKIP() << "no AVX-512 on this CPU";
  for (int64_t m : {1, 3, 4, 9}) {
    for (int64_t n : {1, 16, 37, 64, 130}) {
      const int64_t k = 45, ldc = n + 3;
      const std::vector<float> a = random_vector(static_cast<size_t>(m * k), 41);
      const std::vector<float> b = random_vector(static_cast<size_t>(k * n), 42);
      for (bool acc : {false, true}) {
        std::vector<float> c1 = random_vector(static_cast<size_t>(m * ldc), 43), c2 = c1;
        scalar->sgemm(m, n, k, a.data(), k, b.data(), n, c1.data(), ldc, acc);
        simd->sgemm(m, n, k, a.data(), k, b.data(), n, c2.data(), ldc, acc);
        for (size_t i = 0; i < c1.size(); ++i) ASSERT_NEAR(c1[i], c2[i], 1e-4) << m << "x" << n << " at " << i;
      }
    }
  }
  std::vector<uint16_t> h(77);
  for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint16_t>(i * 841 + 3);  // normals, subnormals, inf, NaN
  std::vector<float> f1(h.size()), f2(h.size());
  scalar->f16_to_f32(h.data(), f1.data(), static_cast<int64_t>(h.size()));
  simd->f16_to_f32(h.data(), f2.data(), static_cast<int64_t>(h.size()));
  for (size_t i = 0; i < h.size(); ++i) {
    if (std::isnan(f1[i])) {
      EXPECT_TRUE(std::isnan(f2[i]));
    } else {
      EXPECT_EQ(f1[i], f2[i]) << h[i];
    }
  }
  std::vector<float> x = random_vector(53, 44, 30.0f);
  x[5] = -INFINITY;
  x[20] = -200.0f;
  std::vector<float> y = x;
  const float max = 60.0f;
  const float s1 = scalar->exp_sub_sum(x.data(), static_cast<int64_t>(x.size()), max);
  const float s2 = simd->exp_sub_sum(y.data(), static_cast<int64_t>(y.size()), max);
  EXPECT_NEAR(s2, s1, 1e-6 * s1);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(y[i], x[i], 1e-6 * x[i] + 1e-37) << x[i];
  EXPECT_EQ(y[5], 0.0f);

  std::vector<float> g = random_vector(45, 45, 4.0f), u = random_vector(45, 46);
  g[0] = -120.0f;  // saturated tails
  g[1] = 120.0f;
  for (auto act : {&OpKernels::swiglu, &OpKernels::geglu}) {
    std::vector<float> o1(g.size()), o2(g.size());
    (scalar->*act)(g.data(), u.data(), static_cast<int64_t>(g.size()), o1.data());
    (simd->*act)(g.data(), u.data(), static_cast<int64_t>(g.size()), o2.data());
    // Relative to |up| as well: in the far negative tail the reference's 1 + tanh(u) cancels.
    for (size_t i = 0; i < g.size(); ++i) {
      EXPECT_NEAR(o2[i], o1[i], 2e-6 * std::abs(o1[i]) + 1e-7 * std::abs(u[i])) << g[i];
    }
  }
}

TEST(OpsTest, AttentionVisibility) {
  EXPECT_TRUE(attention_visible(5, 5, 0));
  EXPECT_FALSE(attention_visible(5, 6, 0));
  EXPECT_TRUE(attention_visible(5, 2, 4));
  EXPECT_FALSE(attention_visible(5, 1, 4));  // 5 - 1 = 4 is outside a window of 4
}

}  // namespace
}  // namespace tessera::ops

// The blocked-attention building blocks of simd_kernels.h (row gathers with widening and
// transposition, the online softmax step of one key block), for every kernel table this CPU
// runs, against element-wise / double-precision recomputations of their contracts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ops/ops.h"
#include "ops/simd_kernels.h"
#include "ops_test_util.h"
#include "quant/float16.h"

namespace tessera::ops {
namespace {

std::vector<const OpKernels*> tables() {
  std::vector<const OpKernels*> t = {op_kernels_for(quant::Isa::kScalar)};
  if (const OpKernels* simd = op_kernels_for(quant::Isa::kAvx512)) t.push_back(simd);
  return t;
}

std::string isa_name(const OpKernels& k) {
  return k.isa == quant::Isa::kScalar ? "scalar" : "avx512";
}

using test::random_vector;

constexpr float kSentinel = -12345.0f;

// Rows of a [n_cells, stride] cache gathered in a scrambled cell order, as a key block's are.
TEST(OpsAttentionKernels, GatheredRowsWidenedAndTransposed) {
  const int64_t n_cells = 80, stride = 300;
  const std::vector<float> values = random_vector(static_cast<size_t>(n_cells * stride), 3, 4.0f);
  std::vector<uint16_t> half(values.size());
  for (size_t i = 0; i < values.size(); ++i) half[i] = quant::f32_to_f16(values[i]);
  std::vector<int32_t> order(n_cells);
  for (int32_t i = 0; i < n_cells; ++i) order[static_cast<size_t>(i)] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(9));
  for (const OpKernels* k : tables()) {
    for (int64_t n_rows : {1, 5, 16, 17, 37, 64}) {
      for (int64_t n_cols : {8, 16, 40, 64, 256}) {
        const int64_t col0 = 24;                      // a head slice starting inside the row
        const int64_t ld = n_cols + 3, ldt = 64 + 3;  // plain [n_rows, ld], transposed [n_cols, ldt]
        std::vector<const uint16_t*> hrows;
        std::vector<const float*> frows;
        for (int64_t j = 0; j < n_rows; ++j) {
          hrows.push_back(half.data() + order[static_cast<size_t>(j)] * stride + col0);
          frows.push_back(values.data() + order[static_cast<size_t>(j)] * stride + col0);
        }
        std::vector<float> plain(static_cast<size_t>(n_rows * ld), kSentinel);
        std::vector<float> th(static_cast<size_t>(n_cols * ldt), kSentinel), tf = th;
        k->f16_rows_to_f32(hrows.data(), n_rows, n_cols, plain.data(), ld);
        k->f16_rows_to_f32_transposed(hrows.data(), n_rows, n_cols, th.data(), ldt);
        k->f32_rows_transposed(frows.data(), n_rows, n_cols, tf.data(), ldt);
        const std::string where = isa_name(*k) + " " + std::to_string(n_rows) + "x" + std::to_string(n_cols);
        for (int64_t j = 0; j < n_rows; ++j) {
          for (int64_t d = 0; d < ld; ++d) {
            const float want = d < n_cols ? quant::f16_to_f32(hrows[static_cast<size_t>(j)][d]) : kSentinel;
            ASSERT_EQ(plain[static_cast<size_t>(j * ld + d)], want) << where << " row " << j << " col " << d;
          }
        }
        for (int64_t d = 0; d < n_cols; ++d) {
          for (int64_t j = 0; j < ldt; ++j) {
            const bool in = j < n_rows;
            const float want_h = in ? quant::f16_to_f32(hrows[static_cast<size_t>(j)][d]) : kSentinel;
            const float want_f = in ? frows[static_cast<size_t>(j)][d] : kSentinel;
            ASSERT_EQ(th[static_cast<size_t>(d * ldt + j)], want_h) << where << " f16 key " << j << " dim " << d;
            ASSERT_EQ(tf[static_cast<size_t>(d * ldt + j)], want_f) << where << " f32 key " << j << " dim " << d;
          }
        }
      }
    }
  }
}

// A block of keys and a tile of query rows with their running softmax state.
struct SoftmaxCase {
  int64_t n = 37, group = 2, dv = 40, n_swa = 0;
  float softcap = 0.0f;
  std::vector<int32_t> key_pos;               // [n]
  std::vector<int32_t> q_pos;                 // indexed by token
  std::vector<int32_t> tokens;                // the tile's tokens
  std::vector<float> s, row_max, row_sum, o;  // [rows, n], [rows], [rows], [rows, dv]

  int64_t rows() const { return static_cast<int64_t>(tokens.size()) * group; }

  SoftmaxBlock block() {
    SoftmaxBlock b;
    b.s = s.data();
    b.lds = n;
    b.rows = rows();
    b.n = n;
    b.tokens = tokens;
    b.q_pos = q_pos.data();
    b.group = group;
    b.key_pos = key_pos.data();
    b.key_min = *std::min_element(key_pos.begin(), key_pos.end());
    b.key_max = *std::max_element(key_pos.begin(), key_pos.end());
    b.n_swa = n_swa;
    b.softcap = softcap;
    b.row_max = row_max.data();
    b.row_sum = row_sum.data();
    b.o = o.data();
    b.ldo = dv;
    b.dv = dv;
    return b;
  }
};

// Keys at positions 100..136 in shuffled order; tokens that see none, part and all of them.
SoftmaxCase make_case(int64_t n_swa, float softcap) {
  SoftmaxCase c;
  c.n_swa = n_swa;
  c.softcap = softcap;
  for (int32_t j = 0; j < c.n; ++j) c.key_pos.push_back(100 + j);
  std::shuffle(c.key_pos.begin(), c.key_pos.end(), std::mt19937(4));
  c.q_pos = {90, 120, 136, 150, 300, 101};
  c.tokens = {0, 1, 2, 3, 4, 5};
  const int64_t rows = c.rows();
  c.s = random_vector(static_cast<size_t>(rows * c.n), 11, 3.0f);
  c.o = random_vector(static_cast<size_t>(rows * c.dv), 12);
  // Running state: fresh rows (-inf, 0), and rows whose max is below / above this block's scores.
  for (int64_t r = 0; r < rows; ++r) {
    const int kind = static_cast<int>(r % 3);
    c.row_max.push_back(kind == 0 ? -INFINITY : kind == 1 ? -2.0f : 20.0f);
    c.row_sum.push_back(kind == 0 ? 0.0f : 3.5f);
  }
  return c;
}

void check_online_softmax(int64_t n_swa, float softcap) {
  for (const OpKernels* k : tables()) {
    SoftmaxCase c = make_case(n_swa, softcap);
    const SoftmaxCase before = c;
    k->online_softmax(c.block());
    for (int64_t r = 0; r < c.rows(); ++r) {
      const int64_t pos = c.q_pos[static_cast<size_t>(c.tokens[static_cast<size_t>(r / c.group)])];
      const std::string where = isa_name(*k) + " row " + std::to_string(r) + " at " + std::to_string(pos);
      std::vector<double> sc(static_cast<size_t>(c.n));
      std::vector<bool> vis(static_cast<size_t>(c.n));
      double m = before.row_max[static_cast<size_t>(r)];
      bool any = false;
      for (int64_t j = 0; j < c.n; ++j) {
        const int64_t kp = c.key_pos[static_cast<size_t>(j)];
        vis[static_cast<size_t>(j)] = kp <= pos && (n_swa <= 0 || pos - kp < n_swa);
        double x = before.s[static_cast<size_t>(r * c.n + j)];
        if (softcap > 0) x = softcap * std::tanh(x / softcap);
        sc[static_cast<size_t>(j)] = x;
        if (vis[static_cast<size_t>(j)]) {
          m = std::max(m, x);
          any = true;
        }
      }
      const double m0 = before.row_max[static_cast<size_t>(r)];
      // Weights to within exp's and the scores' rounding; soft-capped scores carry the tanh
      // approximation's few ulp times the cap as well.
      const double tol = 2e-6 + 2.4e-7 * softcap;
      const double corr = !any || m == m0 ? 1.0 : (std::isinf(m0) ? 0.0 : std::exp(m0 - m));
      double sum = 0;
      for (int64_t j = 0; j < c.n; ++j) {
        const double w = any && vis[static_cast<size_t>(j)] ? std::exp(sc[static_cast<size_t>(j)] - m) : 0.0;
        sum += w;
        EXPECT_NEAR(c.s[static_cast<size_t>(r * c.n + j)], w, tol * w + 1e-30) << where << " key " << j;
      }
      if (!any) {
        EXPECT_EQ(c.row_max[static_cast<size_t>(r)], before.row_max[static_cast<size_t>(r)]) << where;
      } else {
        EXPECT_FLOAT_EQ(c.row_max[static_cast<size_t>(r)], static_cast<float>(m)) << where;
      }
      const double want_sum = before.row_sum[static_cast<size_t>(r)] * corr + sum;
      EXPECT_NEAR(c.row_sum[static_cast<size_t>(r)], want_sum, tol * want_sum) << where;
      for (int64_t d = 0; d < c.dv; ++d) {
        const double want = before.o[static_cast<size_t>(r * c.dv + d)] * corr;
        EXPECT_NEAR(c.o[static_cast<size_t>(r * c.dv + d)], want, 2e-6 * std::abs(want)) << where << " dim " << d;
      }
    }
  }
}

TEST(OpsAttentionKernels, OnlineSoftmaxCausal) {
  check_online_softmax(0, 0.0f);
}

TEST(OpsAttentionKernels, OnlineSoftmaxSlidingWindow) {
  check_online_softmax(30, 0.0f);  // token at 150 sees 121..136 only, at 300 none
}

TEST(OpsAttentionKernels, OnlineSoftmaxSoftcap) {
  check_online_softmax(0, 2.5f);  // scores of sd 3 reach tanh's flat tails
  check_online_softmax(40, 50.0f);
}

// The exactness contract: a row's weights and state are bitwise the same whether its block also
// holds keys it cannot see (the per-key mask) or only keys it sees (the whole-block shortcut),
// and whichever other rows share the call.
TEST(OpsAttentionKernels, OnlineSoftmaxRowIndependentOfBlockAndTile) {
  for (const OpKernels* k : tables()) {
    for (const auto& [n_swa, softcap] : {std::pair<int64_t, float>{0, 0.0f}, {100, 0.0f}, {0, 30.0f}}) {
      // Wide: 64 keys at positions 0..63, the row (token 0, position 36) sees the first 37.
      SoftmaxCase wide;
      wide.n = 64;
      wide.group = 1;
      wide.n_swa = n_swa;
      wide.softcap = softcap;
      for (int32_t j = 0; j < 64; ++j) wide.key_pos.push_back(j);
      wide.q_pos = {36, 63, 5};
      wide.tokens = {1, 0, 2};
      wide.s = random_vector(static_cast<size_t>(3 * 64), 21, 4.0f);
      wide.o = random_vector(static_cast<size_t>(3 * wide.dv), 22);
      wide.row_max = {1.0f, 1.0f, 1.0f};
      wide.row_sum = {2.0f, 2.0f, 2.0f};
      // Narrow: the same row alone over only the 37 keys it sees.
      SoftmaxCase narrow = wide;
      narrow.n = 37;
      narrow.key_pos.resize(37);
      narrow.tokens = {0};
      narrow.s.assign(wide.s.begin() + 64, wide.s.begin() + 64 + 37);  // wide row 1 is token 0
      narrow.o.assign(wide.o.begin() + wide.dv, wide.o.begin() + 2 * wide.dv);
      narrow.row_max = {1.0f};
      narrow.row_sum = {2.0f};
      k->online_softmax(wide.block());
      k->online_softmax(narrow.block());
      const std::string where = isa_name(*k) + " n_swa " + std::to_string(n_swa) + " cap " + std::to_string(softcap);
      for (int64_t j = 0; j < 37; ++j) ASSERT_EQ(wide.s[static_cast<size_t>(64 + j)], narrow.s[j]) << where << j;
      for (int64_t j = 37; j < 64; ++j) ASSERT_EQ(wide.s[static_cast<size_t>(64 + j)], 0.0f) << where << j;
      EXPECT_EQ(wide.row_max[1], narrow.row_max[0]) << where;
      EXPECT_EQ(wide.row_sum[1], narrow.row_sum[0]) << where;
      for (int64_t d = 0; d < wide.dv; ++d) ASSERT_EQ(wide.o[static_cast<size_t>(wide.dv + d)], narrow.o[d]) << where;
    }
  }
}

}  // namespace
}  // namespace tessera::ops

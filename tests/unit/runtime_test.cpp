// Thread pool and KV cache bookkeeping.
#include <gtest/gtest.h>

#include <atomic>
#include <numeric>
#include <vector>

#include "runtime/batch.h"
#include "runtime/kv_cache.h"
#include "runtime/thread_pool.h"

namespace tessera::runtime {
namespace {

TEST(ThreadPoolTest, SplitRangeCoversEveryItemOnce) {
  for (int64_t n : {0, 1, 5, 64, 1001}) {
    for (int nth : {1, 2, 3, 7}) {
      int64_t expected_begin = 0;
      for (int ith = 0; ith < nth; ++ith) {
        int64_t b, e;
        ThreadPool::split_range(n, ith, nth, b, e);
        EXPECT_EQ(b, expected_begin);
        EXPECT_LE(e - b, n / nth + 1);
        expected_begin = e;
      }
      EXPECT_EQ(expected_begin, n);
    }
  }
}

TEST(ThreadPoolTest, RunsEveryThreadOncePerJobManyTimes) {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    std::vector<int64_t> data(10007);
    for (int round = 0; round < 500; ++round) {
      std::atomic<int> calls{0};
      std::atomic<int> mask{0};
      pool.run([&](int ith, int nth) {
        EXPECT_EQ(nth, threads);
        calls.fetch_add(1);
        mask.fetch_or(1 << ith);
        int64_t b, e;
        ThreadPool::split_range(static_cast<int64_t>(data.size()), ith, nth, b, e);
        for (int64_t i = b; i < e; ++i) data[static_cast<size_t>(i)] += i;
      });
      // run() is a barrier: all work is visible when it returns.
      ASSERT_EQ(calls.load(), threads);
      ASSERT_EQ(mask.load(), (1 << threads) - 1);
    }
    for (size_t i = 0; i < data.size(); ++i) ASSERT_EQ(data[i], 500 * static_cast<int64_t>(i));
  }
}

Batch make_batch(int32_t seq, int32_t p0, int32_t n) {
  Batch b;
  for (int32_t i = 0; i < n; ++i) b.add(1, p0 + i, seq, i == n - 1);
  return b;
}

TEST(KvCacheTest, AllocateRecordsPositionsAndRejectsDuplicates) {
  KvCache kv(2, 8, 4, 4, ops::KvType::kF16);
  EXPECT_EQ(kv.bytes(), 2u * 8 * 4 * 2 * 2);
  Result<std::vector<int32_t>> slots = kv.allocate(make_batch(0, 0, 5));
  ASSERT_TRUE(slots.ok()) << slots.error();
  EXPECT_EQ(*slots, (std::vector<int32_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(kv.seq_pos_max(0), 4);
  EXPECT_EQ(kv.seq_pos_max(1), -1);
  EXPECT_EQ(kv.used_cells(), 5);

  Result<std::vector<int32_t>> dup = kv.allocate(make_batch(0, 4, 1));
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().find("already has position 4"), std::string::npos) << dup.error();
  Result<std::vector<int32_t>> full = kv.allocate(make_batch(1, 0, 4));
  ASSERT_FALSE(full.ok());
  EXPECT_NE(full.error().find("KV cache full"), std::string::npos) << full.error();
  EXPECT_EQ(kv.used_cells(), 5);  // failures change nothing
  Result<std::vector<int32_t>> bad_seq = kv.allocate(make_batch(64, 0, 1));
  EXPECT_FALSE(bad_seq.ok());
}

TEST(KvCacheTest, SeqRemoveFreesCellsForReuse) {
  KvCache kv(1, 6, 2, 2, ops::KvType::kF32);
  ASSERT_TRUE(kv.allocate(make_batch(0, 0, 6)).ok());
  kv.seq_rm(0, 3, -1);  // roll back positions 3..5
  EXPECT_EQ(kv.seq_pos_max(0), 2);
  EXPECT_EQ(kv.used_cells(), 3);
  Result<std::vector<int32_t>> again = kv.allocate(make_batch(0, 3, 3));
  ASSERT_TRUE(again.ok()) << again.error();
  std::vector<int32_t> cells, pos;
  kv.seq_cells(0, cells, pos);
  std::vector<int32_t> sorted = pos;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<int32_t>{0, 1, 2, 3, 4, 5}));
  kv.seq_rm(0, 1, 2);  // a hole in the middle
  kv.seq_cells(0, cells, pos);
  EXPECT_EQ(std::count(pos.begin(), pos.end(), 1), 0);
  EXPECT_EQ(pos.size(), 5u);
}

TEST(KvCacheTest, SeqCopySharesCellsUntilBothRemoveThem) {
  KvCache kv(1, 8, 2, 2, ops::KvType::kF16);
  ASSERT_TRUE(kv.allocate(make_batch(0, 0, 4)).ok());
  kv.seq_cp(0, 1, 0, 3);  // prefix 0..2 shared with sequence 1
  std::vector<int32_t> c0, p0, c1, p1;
  kv.seq_cells(1, c1, p1);
  EXPECT_EQ(p1, (std::vector<int32_t>{0, 1, 2}));
  kv.seq_cells(0, c0, p0);
  EXPECT_EQ(std::vector<int32_t>(c0.begin(), c0.begin() + 3), c1);  // the same cells, no copy
  EXPECT_EQ(kv.used_cells(), 4);
  // Sequence 1 continues independently at position 3.
  ASSERT_TRUE(kv.allocate(make_batch(1, 3, 1)).ok());
  EXPECT_EQ(kv.used_cells(), 5);
  kv.seq_rm(0, 0, -1);
  EXPECT_EQ(kv.used_cells(), 4);  // shared cells survive for sequence 1
  EXPECT_EQ(kv.seq_pos_max(1), 3);
  kv.seq_rm(-1, 0, -1);
  EXPECT_EQ(kv.used_cells(), 0);
}

}  // namespace
}  // namespace tessera::runtime

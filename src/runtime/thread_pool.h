// A persistent pool of worker threads (DESIGN.md: "no per-op thread creation"). run() hands one
// job to every thread — the caller is thread 0 — and returns when all have finished, so each op
// costs one wake-up and one barrier, not a thread start. Work is split by rows with split_range().
//
// Thread-safety: run() must be called from one thread at a time (the owner); the job runs
// concurrently on all threads. Workers sleep on a condition variable between jobs after a short
// spin, so an idle pool costs no CPU.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace tessera::runtime {

class ThreadPool {
 public:
  // n_threads >= 1 threads in all, including the caller of run().
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(ith, nth) on every thread (ith in [0, nth)) and waits for all of them.
  template <class Fn>
  void run(Fn&& fn) {
    using F = std::remove_reference_t<Fn>;  // lvalue callables deduce Fn as a reference
    run_impl(&fn, [](const void* f, int ith, int nth) { (*static_cast<const F*>(f))(ith, nth); });
  }

  // Thread ith's share [begin, end) of n items split into nth contiguous ranges.
  static void split_range(int64_t n, int ith, int nth, int64_t& begin, int64_t& end) {
    const int64_t per = n / nth;
    const int64_t extra = n % nth;
    begin = ith * per + std::min<int64_t>(ith, extra);
    end = begin + per + (ith < extra ? 1 : 0);
  }

 private:
  using Trampoline = void (*)(const void* fn, int ith, int nth);
  void run_impl(const void* fn, Trampoline call);
  void worker(int ith);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};  // bumped once per job
  std::atomic<int> pending_{0};          // workers still running the current job
  std::atomic<bool> stop_{false};
  const void* job_ = nullptr;  // the current job (published by generation_)
  Trampoline call_ = nullptr;
};

}  // namespace tessera::runtime

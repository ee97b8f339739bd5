#include "runtime/thread_pool.h"

#include "tessera/check.h"

namespace tessera::runtime {
namespace {

// Spins before sleeping: a forward pass issues jobs back to back, and a futex wake-up costs
// more than the small ops in between.
constexpr int kSpinIterations = 2000;

}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads) {
  TESSERA_CHECK(n_threads >= 1, "a thread pool needs at least one thread");
  workers_.reserve(static_cast<size_t>(n_threads - 1));
  for (int i = 1; i < n_threads; ++i) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stop_.store(true);
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::run_impl(const void* fn, Trampoline call) {
  if (n_threads_ == 1) {
    call(fn, 0, 1);
    return;
  }
  pending_.store(n_threads_ - 1, std::memory_order_relaxed);
  {
    std::lock_guard lock(mutex_);
    job_ = fn;
    call_ = call;
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  call(fn, 0, n_threads_);
  // Barrier: spin briefly, then yield; workers finish within one op of each other.
  for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
    if (spins > kSpinIterations) std::this_thread::yield();
  }
}

void ThreadPool::worker(int ith) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t gen = generation_.load(std::memory_order_acquire);
    for (int spins = 0; gen == seen && spins < kSpinIterations; ++spins) {
      gen = generation_.load(std::memory_order_acquire);
    }
    if (gen == seen) {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      gen = generation_.load(std::memory_order_acquire);
    }
    seen = gen;
    if (stop_.load()) return;
    const void* job;
    Trampoline call;
    {
      // The mutex orders these reads after the writer's; cheap next to any real job.
      std::lock_guard lock(mutex_);
      job = job_;
      call = call_;
    }
    call(job, ith, n_threads_);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace tessera::runtime

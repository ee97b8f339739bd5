// The slot scheduler: N parallel slots share one model and one KV cache (slot i is sequence i).
// A single loop thread runs one batched ForwardPass::decode per step holding, for every busy
// slot, either its next token (generation) or a chunk of its prompt (prompt processing), so new
// requests join between steps (continuous batching) and a long prompt never stalls the others.
//
// Requests wait in a bounded FIFO queue (full: 503). A slot keeps the tokens of its last request
// in the cache, and a new request goes to the idle slot sharing the longest prefix with it, which
// then processes only the new tokens. A request whose stream is cancelled (client gone) is
// dropped at the next step and its slot freed. Each slot owns n_ctx / n_slots cells: a request
// whose prompt plus max tokens does not fit is refused up front; one without max tokens ends
// with finish_reason "length" when its slot is full.
//
// Thread-safety: submit(), slots(), stats() and stop() may be called from any thread. The
// ForwardPass and Tokenizer are used by the loop thread only (the tokenizer is also read-only
// shared with the HTTP threads, which its own contract allows).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "model/forward.h"
#include "server/generation.h"
#include "tokenizer/tokenizer.h"

namespace tessera::server {

struct SchedulerParams {
  int n_slots = 1;              // -np
  int64_t n_step_tokens = 512;  // most tokens in one decode step (prompt chunks fill what generation leaves)
  size_t max_queue = 64;        // requests waiting for a slot before new ones get 503
};

struct SlotInfo {
  int id = 0;
  bool busy = false;
  int64_t n_ctx = 0;      // cells this slot may use
  int32_t n_cached = 0;   // tokens of this slot in the KV cache
  int32_t n_prompt = 0;   // prompt tokens of the current / last request
  int32_t n_decoded = 0;  // tokens generated for the current / last request
};

struct SchedulerStats {
  uint64_t prompt_tokens = 0;       // prompt tokens run through the model (cached ones excluded)
  uint64_t generated_tokens = 0;    // tokens sampled
  double prompt_seconds = 0.0;      // wall time of steps that processed prompt tokens
  double generation_seconds = 0.0;  // wall time of steps that generated tokens
  uint64_t requests_done = 0;
  uint64_t requests_cancelled = 0;
  uint64_t decode_steps = 0;
  size_t queue_length = 0;
  int slots_busy = 0;
};

class Scheduler {
 public:
  // `forward` and `tokenizer` must outlive the scheduler. Starts the loop thread.
  Scheduler(model::ForwardPass& forward, const tokenizer::Tokenizer& tokenizer, SchedulerParams params);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues all of `requests` (the choices of one API request) or none: an error when one does
  // not fit a slot's context (400) or the queue is full (503). Results go to `stream`.
  std::optional<ApiError> submit(std::vector<GenerationRequest> requests, std::shared_ptr<GenerationStream> stream);

  // Stops the loop; queued and running requests end with a 503 error. Idempotent.
  void stop();

  int64_t n_ctx_slot() const { return n_ctx_slot_; }
  int n_slots() const { return params_.n_slots; }
  std::vector<SlotInfo> slots() const;
  SchedulerStats stats() const;

 private:
  struct Task {
    GenerationRequest request;
    std::shared_ptr<GenerationStream> stream;
  };
  struct Slot;

  void loop();
  void assign_waiting_tasks();
  void start_task(Slot& slot, Task task);
  void drop_cancelled();
  bool step();
  void after_token(Slot& slot, std::span<const float> logits);
  void emit_text(Slot& slot, bool final);
  void finish(Slot& slot, const char* reason);
  void release(Slot& slot);
  void publish_slot_info();

  model::ForwardPass& forward_;
  const tokenizer::Tokenizer& tokenizer_;
  SchedulerParams params_;
  int64_t n_ctx_slot_;
  int64_t n_vocab_;
  std::vector<std::unique_ptr<Slot>> slots_;  // loop thread only
  uint64_t use_counter_ = 0;                  // loop thread only: least-recently-used order of slots

  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable wake_;
  std::deque<Task> queue_;
  std::vector<SlotInfo> slot_info_;
  SchedulerStats stats_;
  bool stopping_ = false;

  std::thread thread_;
};

}  // namespace tessera::server

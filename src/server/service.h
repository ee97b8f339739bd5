// Everything the routes need once the model is loaded, and the loading state /health reports.
// The HTTP transport starts before the model loads (so /health can answer 503 "loading");
// set_ready() publishes the loaded components, which are immutable afterwards except for the
// scheduler's own synchronised state.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "model/forward.h"
#include "server/chat_format.h"
#include "server/embedder.h"
#include "server/sampler_factory.h"
#include "server/scheduler.h"
#include "tokenizer/tokenizer.h"

namespace tessera::server {

struct LoadedModel {
  std::shared_ptr<const model::Model> model;
  std::unique_ptr<tokenizer::Tokenizer> tokenizer;
  std::unique_ptr<model::ForwardPass> forward;
  std::unique_ptr<ChatFormat> chat;
  std::unique_ptr<SamplerFactory> samplers;
  std::unique_ptr<Embedder> embedder;    // /v1/embeddings: its own ForwardPass, apart from the slots
  std::unique_ptr<Scheduler> scheduler;  // declared last: stopped and destroyed first
  std::string model_id;                  // what /v1/models lists ("--alias" or the file name)
  std::string model_path;
};

// Request counters for /metrics (the scheduler keeps the token counters).
struct RouteCounters {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> client_errors{0};  // 4xx answers
  std::atomic<uint64_t> server_errors{0};  // 5xx answers
};

class Service {
 public:
  enum class State { kLoading, kReady, kFailed };

  State state() const { return state_.load(std::memory_order_acquire); }
  // Valid only when state() == kReady.
  LoadedModel& loaded() { return loaded_; }

  void set_ready(LoadedModel m) {
    loaded_ = std::move(m);
    state_.store(State::kReady, std::memory_order_release);
  }
  void set_failed() { state_.store(State::kFailed, std::memory_order_release); }

  // A unique id suffix for response ids ("chatcmpl-...").
  uint64_t next_id() { return ++id_counter_; }

  RouteCounters counters;
  bool metrics_enabled = false;

 private:
  std::atomic<State> state_{State::kLoading};
  LoadedModel loaded_;
  std::atomic<uint64_t> id_counter_{0};
};

}  // namespace tessera::server

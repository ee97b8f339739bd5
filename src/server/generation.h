// What the routes hand the scheduler (a GenerationRequest per choice) and what comes back through
// a GenerationStream: text deltas with their token log-probabilities, then one final result or an
// error. The JSON edge (request_parser, routes) and the slot loop (scheduler) meet only here.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sampling/chain.h"
#include "sampling/params.h"
#include "server/api_error.h"

namespace tessera::server {

struct GenerationRequest {
  std::vector<int32_t> prompt;  // token ids, BOS included when the vocabulary adds one
  int32_t n_predict = -1;       // -1: until end of generation or the slot's context is full
  std::vector<std::string> stop;
  sampling::SamplerParams sampling;        // every llama.cpp sampling field
  std::string grammar;                     // GBNF (from grammar / json_schema / response_format); "" = none
  std::string grammar_field;               // the request field it came from, for errors
  std::shared_ptr<sampling::Chain> chain;  // built from `sampling` and `grammar` per choice (SamplerFactory)
  int32_t n_probs = 0;                     // top log-probabilities per generated token (0: none)
  bool want_logprobs = false;
  bool cache_prompt = true;  // reuse the slot's cached prefix
  int32_t index = 0;         // choice index (n > 1)
};

struct TokenLogprob {
  int32_t token = 0;
  std::string piece;  // the token's bytes (may be part of a UTF-8 character)
  float logprob = 0.0f;
  std::vector<std::pair<int32_t, float>> top;  // [n_probs] (token, logprob), most likely first
};

struct Timings {
  int32_t prompt_n = 0;  // prompt tokens processed (not counting the cached prefix)
  double prompt_ms = 0.0;
  int32_t predicted_n = 0;
  double predicted_ms = 0.0;
};

// One piece of streamed output: new text (possibly empty while a stop string is pending) and the
// tokens generated since the last delta.
struct Delta {
  int32_t index = 0;
  std::string text;
  std::vector<TokenLogprob> logprobs;
};

struct Completion {
  int32_t index = 0;
  std::string text;           // the whole generated text, stop string excluded
  std::string finish_reason;  // "stop" or "length"
  std::string stop_word;      // the stop string that ended it, if any
  int32_t n_prompt = 0;
  int32_t n_cached = 0;  // prompt tokens reused from the slot's cache
  int32_t n_generated = 0;
  int32_t slot = -1;
  Timings timings;
  std::vector<TokenLogprob> logprobs;  // every generated token, when asked for
};

// A thread-safe channel from the scheduler (producer) to one HTTP handler (consumer), shared by
// the n choices of one request. cancel() is the consumer telling the scheduler to stop (client gone).
class GenerationStream {
 public:
  struct Event {
    enum class Kind { kDelta, kDone, kError } kind;
    Delta delta;
    Completion done;
    ApiError error;
  };

  void push_delta(Delta d) { push(Event{Event::Kind::kDelta, std::move(d), {}, {}}); }
  void push_done(Completion c) { push(Event{Event::Kind::kDone, {}, std::move(c), {}}); }
  void push_error(ApiError e) { push(Event{Event::Kind::kError, {}, {}, std::move(e)}); }

  // The next event, or nullopt when none arrives within `timeout`.
  std::optional<Event> next(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!ready_.wait_for(lock, timeout, [&] { return !events_.empty(); })) return std::nullopt;
    Event e = std::move(events_.front());
    events_.pop_front();
    return e;
  }

  void cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }

 private:
  void push(Event e) {
    {
      std::lock_guard lock(mutex_);
      events_.push_back(std::move(e));
    }
    ready_.notify_one();
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Event> events_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace tessera::server

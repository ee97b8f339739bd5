#include "server/scheduler.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "sampling/logprobs.h"
#include "tokenizer/stream_decoder.h"

namespace tessera::server {
namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

// Length of the longest suffix of `text` (starting at or after `from`) that is a proper prefix
// of one of `stops`: text that must be held back because a stop string may be starting.
size_t partial_stop_suffix(const std::string& text, size_t from, const std::vector<std::string>& stops) {
  size_t longest = 0;
  for (const std::string& stop : stops) {
    const size_t max_len = std::min(stop.size() - 1, text.size() - from);
    for (size_t len = max_len; len > longest; --len) {
      if (text.compare(text.size() - len, len, stop, 0, len) == 0) {
        longest = len;
        break;
      }
    }
  }
  return longest;
}

}  // namespace

struct Scheduler::Slot {
  int id = 0;
  std::vector<int32_t> cache;  // tokens whose keys/values sequence `id` holds, at positions 0..n-1
  uint64_t last_used = 0;

  // The running request (busy), or the last one.
  bool busy = false;
  Task task;
  size_t n_prompt_done = 0;  // prompt tokens in `cache`
  int32_t n_cached = 0;      // of which reused from the previous request
  bool generating = false;   // prompt done; `next_token` waits to be decoded
  int32_t next_token = 0;
  int32_t n_generated = 0;
  std::shared_ptr<sampling::Chain> chain;  // this request's own chain
  std::optional<tokenizer::StreamDecoder> decoder;
  std::string text;                            // generated text so far
  size_t sent = 0;                             // bytes of `text` already streamed
  std::string stop_word;                       // the stop string found, if any
  std::vector<TokenLogprob> pending_logprobs;  // since the last delta
  std::vector<TokenLogprob> all_logprobs;
  Clock::time_point t_start, t_prompt_done;
};

Scheduler::Scheduler(model::ForwardPass& forward, const tokenizer::Tokenizer& tokenizer, SchedulerParams params)
    : forward_(forward), tokenizer_(tokenizer), params_(params) {
  params_.n_slots = std::clamp(params_.n_slots, 1, runtime::KvCache::kMaxSeqs);
  n_ctx_slot_ = forward_.kv_cache().n_ctx() / params_.n_slots;
  n_vocab_ = forward_.model().hparams().n_vocab;
  for (int i = 0; i < params_.n_slots; ++i) {
    slots_.push_back(std::make_unique<Slot>());
    slots_.back()->id = i;
  }
  slot_info_.resize(static_cast<size_t>(params_.n_slots));
  publish_slot_info();
  thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() {
  stop();
}

std::optional<ApiError> Scheduler::submit(std::vector<GenerationRequest> requests,
                                          std::shared_ptr<GenerationStream> stream) {
  for (const GenerationRequest& r : requests) {
    if (r.prompt.empty()) return ApiError::invalid("the prompt is empty (no tokens)", "prompt");
    const auto n_prompt = static_cast<int64_t>(r.prompt.size());
    const int64_t wanted = n_prompt + std::max<int32_t>(r.n_predict, 0);
    if (n_prompt >= n_ctx_slot_ || wanted > n_ctx_slot_) {
      return ApiError{400, "invalid_request_error",
                      fmt::format("this server's context is {} tokens per slot, but the request needs {} ({} in the "
                                  "prompt, {} to generate); shorten the prompt or lower max_tokens",
                                  n_ctx_slot_, std::max(wanted, n_prompt + 1), n_prompt, std::max(r.n_predict, 0)),
                      "context_length_exceeded", "messages"};
    }
  }
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return ApiError::unavailable("the server is shutting down");
    if (queue_.size() + requests.size() > params_.max_queue) {
      return ApiError::unavailable(fmt::format("the request queue is full ({} waiting for {} slots); retry later",
                                               queue_.size(), params_.n_slots));
    }
    for (GenerationRequest& r : requests) queue_.push_back(Task{std::move(r), stream});
    stats_.queue_length = queue_.size();
  }
  wake_.notify_one();
  return std::nullopt;
}

void Scheduler::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  const ApiError shutting_down = ApiError::unavailable("the server is shutting down");
  for (auto& slot : slots_) {
    if (slot->busy) {
      slot->task.stream->push_error(shutting_down);
      slot->busy = false;
    }
  }
  std::lock_guard lock(mutex_);
  for (Task& t : queue_) t.stream->push_error(shutting_down);
  queue_.clear();
}

std::vector<SlotInfo> Scheduler::slots() const {
  std::lock_guard lock(mutex_);
  return slot_info_;
}

SchedulerStats Scheduler::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void Scheduler::publish_slot_info() {
  std::lock_guard lock(mutex_);
  int busy = 0;
  for (const auto& s : slots_) {
    SlotInfo& info = slot_info_[static_cast<size_t>(s->id)];
    info.id = s->id;
    info.busy = s->busy;
    info.n_ctx = n_ctx_slot_;
    info.n_cached = static_cast<int32_t>(s->cache.size());
    info.n_prompt = static_cast<int32_t>(s->task.request.prompt.size());
    info.n_decoded = s->n_generated;
    busy += s->busy;
  }
  stats_.slots_busy = busy;
  stats_.queue_length = queue_.size();
}

void Scheduler::loop() {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      const auto any_busy = [&] {
        return std::any_of(slots_.begin(), slots_.end(), [](const auto& s) { return s->busy; });
      };
      wake_.wait(lock, [&] { return stopping_ || any_busy() || !queue_.empty(); });
      if (stopping_) return;
    }
    assign_waiting_tasks();
    drop_cancelled();
    if (!step()) {
      // Nothing to decode (every queued task was cancelled): wait for the next submit.
      publish_slot_info();
      continue;
    }
    publish_slot_info();
  }
}

void Scheduler::assign_waiting_tasks() {
  for (;;) {
    Task task;
    {
      std::lock_guard lock(mutex_);
      while (!queue_.empty() && queue_.front().stream->cancelled()) {
        queue_.pop_front();
        ++stats_.requests_cancelled;
      }
      if (queue_.empty()) return;
      const bool idle = std::any_of(slots_.begin(), slots_.end(), [](const auto& s) { return !s->busy; });
      if (!idle) return;
      task = std::move(queue_.front());
      queue_.pop_front();
      stats_.queue_length = queue_.size();
    }
    // The idle slot sharing the longest prefix with the prompt; ties: the least recently used.
    Slot* best = nullptr;
    size_t best_prefix = 0;
    for (auto& s : slots_) {
      if (s->busy) continue;
      const size_t prefix = task.request.cache_prompt ? common_prefix(s->cache, task.request.prompt) : 0;
      if (!best || prefix > best_prefix || (prefix == best_prefix && s->last_used < best->last_used)) {
        best = s.get();
        best_prefix = prefix;
      }
    }
    start_task(*best, std::move(task));
  }
}

void Scheduler::start_task(Slot& slot, Task task) {
  const std::vector<int32_t>& prompt = task.request.prompt;
  size_t keep = task.request.cache_prompt ? common_prefix(slot.cache, prompt) : 0;
  // The last prompt token is always decoded again: its logits give the first generated token.
  if (keep == prompt.size()) --keep;
  forward_.kv_cache().seq_rm(slot.id, static_cast<int32_t>(keep), -1);
  slot.cache.resize(keep);
  slot.busy = true;
  slot.last_used = ++use_counter_;
  slot.n_prompt_done = keep;
  slot.n_cached = static_cast<int32_t>(keep);
  slot.generating = false;
  slot.n_generated = 0;
  slot.chain = task.request.chain;
  slot.chain->accept_prompt(prompt);  // penalties and DRY see the prompt, as llama.cpp
  slot.decoder.emplace(tokenizer_);
  slot.text.clear();
  slot.sent = 0;
  slot.stop_word.clear();
  slot.pending_logprobs.clear();
  slot.all_logprobs.clear();
  slot.t_start = Clock::now();
  slot.task = std::move(task);
}

void Scheduler::drop_cancelled() {
  for (auto& s : slots_) {
    if (s->busy && s->task.stream->cancelled()) {
      release(*s);
      std::lock_guard lock(mutex_);
      ++stats_.requests_cancelled;
    }
  }
}

void Scheduler::release(Slot& slot) {
  slot.busy = false;
  slot.chain.reset();
  slot.decoder.reset();
  slot.task.stream.reset();
}

// One decode over every busy slot. Returns false when there was nothing to decode.
bool Scheduler::step() {
  runtime::Batch batch;
  struct Row {
    Slot* slot;
    size_t n_prompt_tokens;  // prompt tokens this step added for the slot (0: a generation step)
  };
  std::vector<Row> rows;  // one per batch entry with output, in batch order
  std::vector<std::pair<Slot*, size_t>> prompt_chunks;
  for (auto& s : slots_) {
    if (!s->busy || !s->generating) continue;
    batch.add(s->next_token, static_cast<int32_t>(s->cache.size()), s->id, true);
    rows.push_back({s.get(), 0});
  }
  const size_t n_gen = rows.size();
  int64_t budget = std::max<int64_t>(params_.n_step_tokens - static_cast<int64_t>(n_gen), 1);
  for (auto& s : slots_) {
    if (!s->busy || s->generating || budget <= 0) continue;
    const std::vector<int32_t>& prompt = s->task.request.prompt;
    const size_t n = std::min<size_t>(static_cast<size_t>(budget), prompt.size() - s->n_prompt_done);
    for (size_t i = 0; i < n; ++i) {
      const size_t p = s->n_prompt_done + i;
      batch.add(prompt[p], static_cast<int32_t>(p), s->id, p + 1 == prompt.size());
    }
    prompt_chunks.emplace_back(s.get(), n);
    if (s->n_prompt_done + n == prompt.size()) rows.push_back({s.get(), n});
    budget -= static_cast<int64_t>(n);
  }
  if (batch.size() == 0) return false;

  std::vector<float> logits;
  const Clock::time_point t0 = Clock::now();
  if (Status st = forward_.decode(batch, logits); !st) {
    // Unexpected (requests are checked against the slot's context): fail the slots in this batch
    // and forget their cache, leaving the other slots and the queue untouched.
    for (auto& s : slots_) {
      if (!s->busy) continue;
      s->task.stream->push_error(ApiError::internal(fmt::format("decoding failed: {}", st.message())));
      forward_.kv_cache().seq_rm(s->id, 0, -1);
      s->cache.clear();
      release(*s);
    }
    return true;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  size_t n_prompt_tokens = 0;
  for (auto& [slot, n] : prompt_chunks) {
    const std::vector<int32_t>& prompt = slot->task.request.prompt;
    slot->cache.insert(slot->cache.end(), prompt.begin() + static_cast<std::ptrdiff_t>(slot->n_prompt_done),
                       prompt.begin() + static_cast<std::ptrdiff_t>(slot->n_prompt_done + n));
    slot->n_prompt_done += n;
    n_prompt_tokens += n;
  }
  for (size_t r = 0; r < n_gen; ++r) rows[r].slot->cache.push_back(rows[r].slot->next_token);
  {
    std::lock_guard lock(mutex_);
    ++stats_.decode_steps;
    stats_.prompt_tokens += n_prompt_tokens;
    stats_.generated_tokens += rows.size();
    if (n_prompt_tokens > 0) stats_.prompt_seconds += seconds;
    if (n_gen > 0) stats_.generation_seconds += seconds;
  }
  for (size_t r = 0; r < rows.size(); ++r) {
    Slot& slot = *rows[r].slot;
    if (!slot.generating) {
      slot.generating = true;
      slot.t_prompt_done = Clock::now();
    }
    const std::span<const float> row(logits.data() + r * static_cast<size_t>(n_vocab_), static_cast<size_t>(n_vocab_));
    after_token(slot, row);
  }
  return true;
}

// Samples the slot's next token from `logits` and streams the text it completes.
void Scheduler::after_token(Slot& slot, std::span<const float> logits) {
  const GenerationRequest& req = slot.task.request;
  Result<int32_t> drawn = slot.chain->sample(logits);
  if (!drawn) {  // the grammar allows no token at all: nothing more can be generated
    finish(slot, "stop");
    return;
  }
  const int32_t token = *drawn;
  slot.chain->accept(token);
  if (req.want_logprobs) {
    const sampling::TokenLogprobs lp = sampling::token_logprobs(logits, token, req.n_probs);
    TokenLogprob out{token, tokenizer_.token_to_piece(token, true), lp.logprob, lp.top};
    slot.pending_logprobs.push_back(out);
    slot.all_logprobs.push_back(std::move(out));
  }
  if (tokenizer_.vocab().is_end_of_generation(token)) {  // never drawn with ignore_eos (the chain bans them)
    finish(slot, "stop");
    return;
  }
  ++slot.n_generated;
  slot.text += slot.decoder->push(token);
  if (!req.stop.empty()) {
    size_t best = std::string::npos;
    for (const std::string& stop : req.stop) {
      const size_t at = slot.text.find(stop, slot.sent);
      if (at < best) {
        best = at;
        slot.stop_word = stop;
      }
    }
    if (best != std::string::npos) {
      slot.text.resize(best);
      finish(slot, "stop");
      return;
    }
  }
  if (const sampling::Constraint* c = slot.chain->constraint(); c && c->is_complete()) {
    finish(slot, "stop");  // the grammar's sentence is complete: nothing may follow
    return;
  }
  const bool out_of_tokens = req.n_predict >= 0 && slot.n_generated >= req.n_predict;
  const bool out_of_context = static_cast<int64_t>(slot.cache.size()) + 1 >= n_ctx_slot_;
  if (out_of_tokens || out_of_context) {
    finish(slot, "length");
    return;
  }
  slot.next_token = token;
  emit_text(slot, false);
}

void Scheduler::emit_text(Slot& slot, bool final) {
  size_t end = slot.text.size();
  if (!final) end -= partial_stop_suffix(slot.text, slot.sent, slot.task.request.stop);
  if (end <= slot.sent && slot.pending_logprobs.empty()) return;
  Delta d;
  d.index = slot.task.request.index;
  if (end > slot.sent) d.text = slot.text.substr(slot.sent, end - slot.sent);
  slot.sent = std::max(slot.sent, end);
  d.logprobs = std::move(slot.pending_logprobs);
  slot.pending_logprobs.clear();
  slot.task.stream->push_delta(std::move(d));
}

void Scheduler::finish(Slot& slot, const char* reason) {
  if (slot.stop_word.empty()) slot.text += slot.decoder->finish();
  emit_text(slot, true);
  const Clock::time_point now = Clock::now();
  Completion c;
  c.index = slot.task.request.index;
  c.text = slot.text;
  c.finish_reason = reason;
  c.stop_word = slot.stop_word;
  c.n_prompt = static_cast<int32_t>(slot.task.request.prompt.size());
  c.n_cached = slot.n_cached;
  c.n_generated = slot.n_generated;
  c.slot = slot.id;
  c.timings.prompt_n = c.n_prompt - c.n_cached;
  c.timings.prompt_ms = ms_between(slot.t_start, slot.t_prompt_done);
  c.timings.predicted_n = c.n_generated;
  c.timings.predicted_ms = ms_between(slot.t_prompt_done, now);
  c.logprobs = std::move(slot.all_logprobs);
  slot.task.stream->push_done(std::move(c));
  release(slot);
  std::lock_guard lock(mutex_);
  ++stats_.requests_done;
}

}  // namespace tessera::server

#include "server/generation_response.h"

#include <chrono>

#include "server/connection_watch.h"

namespace tessera::server {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr std::chrono::milliseconds kWatchInterval = 50ms;  // how often a waiting handler looks at its client

// What one streaming response has seen so far; shared by the content provider's calls.
struct StreamState {
  std::shared_ptr<GenerationStream> stream;
  Formatter formatter;
  size_t n_choices = 0;
  std::vector<Completion> done;
  std::vector<bool> started;
  bool finished = false;
};

bool write_events(httplib::DataSink& sink, const std::vector<json>& events) {
  for (const json& e : events) {
    const std::string line = "data: " + dump_json(e) + "\n\n";
    if (!sink.write(line.data(), line.size())) return false;
  }
  return true;
}

// One call of the chunked content provider: waits for the next event and writes it. Returns
// false to end the response early (client gone).
bool pump(StreamState& st, httplib::DataSink& sink) {
  std::optional<GenerationStream::Event> ev = st.stream->next(100ms);
  if (!ev) {
    if (!sink.is_writable()) {
      st.stream->cancel();
      return false;
    }
    return true;
  }
  std::vector<json> out;
  const auto start = [&](int32_t index) {
    if (st.started[static_cast<size_t>(index)]) return;
    st.started[static_cast<size_t>(index)] = true;
    if (st.formatter.start_events) {
      for (json& j : st.formatter.start_events(index)) out.push_back(std::move(j));
    }
  };
  switch (ev->kind) {
    case GenerationStream::Event::Kind::kDelta:
      start(ev->delta.index);
      for (json& j : st.formatter.delta_events(ev->delta)) out.push_back(std::move(j));
      break;
    case GenerationStream::Event::Kind::kDone:
      start(ev->done.index);
      for (json& j : st.formatter.done_events(ev->done)) out.push_back(std::move(j));
      st.done.push_back(std::move(ev->done));
      if (st.done.size() == st.n_choices) {
        std::sort(st.done.begin(), st.done.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
        if (st.formatter.end_events) {
          for (json& j : st.formatter.end_events(st.done)) out.push_back(std::move(j));
        }
        st.finished = true;
      }
      break;
    case GenerationStream::Event::Kind::kError:
      out.push_back(ev->error.to_json());
      st.finished = true;
      break;
  }
  if (!write_events(sink, out)) {
    st.stream->cancel();
    return false;
  }
  if (st.finished) {
    if (st.formatter.done_marker) {
      static constexpr std::string_view kDone = "data: [DONE]\n\n";
      if (!sink.write(kDone.data(), kDone.size())) return false;
    }
    sink.done();
  }
  return true;
}

}  // namespace

std::string dump_json(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

void send_json(httplib::Response& res, const json& body, int status) {
  res.status = status;
  res.set_content(dump_json(body), "application/json; charset=utf-8");
}

void send_error(httplib::Response& res, const ApiError& error) {
  send_json(res, error.to_json(), error.status);
}

void answer_generation(Scheduler& scheduler, std::vector<GenerationRequest> requests, bool stream, Formatter formatter,
                       const httplib::Request& req, httplib::Response& res) {
  auto channel = std::make_shared<GenerationStream>();
  const size_t n_choices = requests.size();
  if (std::optional<ApiError> e = scheduler.submit(std::move(requests), channel)) {
    send_error(res, *e);
    return;
  }
  if (!stream) {
    // The client may leave while it waits for the whole answer: look at its socket every
    // kWatchInterval and cancel (which frees the slot at the scheduler's next step).
    const ConnectionWatch watch = ConnectionWatch::of(req);
    auto next_check = std::chrono::steady_clock::now() + kWatchInterval;
    std::vector<Completion> done;
    while (done.size() < n_choices) {
      std::optional<GenerationStream::Event> ev = channel->next(kWatchInterval);
      if (std::chrono::steady_clock::now() >= next_check) {
        next_check = std::chrono::steady_clock::now() + kWatchInterval;
        if (watch.closed()) {
          channel->cancel();
          send_error(res, ApiError::client_closed());
          return;
        }
      }
      if (!ev || ev->kind == GenerationStream::Event::Kind::kDelta) continue;
      if (ev->kind == GenerationStream::Event::Kind::kError) {
        channel->cancel();  // the other choices, if any
        send_error(res, ev->error);
        return;
      }
      done.push_back(std::move(ev->done));
    }
    std::sort(done.begin(), done.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
    send_json(res, formatter.body(done));
    return;
  }
  auto state = std::make_shared<StreamState>();
  state->stream = channel;
  state->formatter = std::move(formatter);
  state->n_choices = n_choices;
  state->started.assign(n_choices, false);
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream", [state](size_t, httplib::DataSink& sink) { return pump(*state, sink); },
      // Whatever ended the response (done, write failure, server stop): stop generating.
      [channel](bool) { channel->cancel(); });
}

}  // namespace tessera::server

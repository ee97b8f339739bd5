// Runs a generation through the scheduler and writes the HTTP answer: one JSON body, or a
// Server-Sent Events stream ("data: {...}\n\n" per event, optionally ending "data: [DONE]").
// The routes say how results look (a Formatter); this file owns the waiting, the streaming and
// the cancellation when the client goes away (a failed write while streaming, or a closed socket
// while waiting for a non-streaming answer, cancels the generation, which frees its slot at the
// scheduler's next step).
#pragma once

#include <httplib.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "server/generation.h"
#include "server/scheduler.h"

namespace tessera::server {

struct Formatter {
  // The non-streaming body, from every choice's completion (in index order).
  std::function<nlohmann::json(const std::vector<Completion>&)> body;
  // Streaming: events for the first delta of a choice (e.g. the chat "role" chunk), may be empty.
  std::function<std::vector<nlohmann::json>(int32_t index)> start_events;
  // Streaming: events for one delta.
  std::function<std::vector<nlohmann::json>(const Delta&)> delta_events;
  // Streaming: events when one choice finishes.
  std::function<std::vector<nlohmann::json>(const Completion&)> done_events;
  // Streaming: events after every choice has finished (e.g. the usage chunk).
  std::function<std::vector<nlohmann::json>(const std::vector<Completion>&)> end_events;
  bool done_marker = true;  // end the stream with "data: [DONE]" (OpenAI), not for llama.cpp's /completion
};

// Sends `requests` (the choices of one API request) and answers on `res`. A client that closes
// its connection (`req`'s socket) cancels the generation, streaming or not.
void answer_generation(Scheduler& scheduler, std::vector<GenerationRequest> requests, bool stream, Formatter formatter,
                       const httplib::Request& req, httplib::Response& res);

// Sets `res` to `error`'s status and OpenAI error body.
void send_error(httplib::Response& res, const ApiError& error);
// Sets `res` to 200 with `body` (invalid UTF-8 in strings is replaced, never an exception).
void send_json(httplib::Response& res, const nlohmann::json& body, int status = 200);
std::string dump_json(const nlohmann::json& value);

}  // namespace tessera::server

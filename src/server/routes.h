// The HTTP endpoints: JSON <-> the scheduler's structs at the edge, nothing else.
//   OpenAI (routes_openai.cpp): POST /v1/chat/completions, /v1/completions, /v1/embeddings; GET /v1/models.
//   llama.cpp's native API (routes_native.cpp): GET /health /props /slots /metrics;
//   POST /completion /tokenize /detokenize /apply-template.
// Every handler answers a model that is still loading with 503 and bad input with a 4xx OpenAI
// error object.
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "server/generation_response.h"
#include "server/request_parser.h"
#include "server/service.h"

namespace tessera::server {

void register_openai_routes(httplib::Server& http, Service& service);
void register_native_routes(httplib::Server& http, Service& service);

// Helpers shared by the two route files.
namespace route {

// The loaded model, or nullptr after answering 503 (loading) / 500 (failed to load).
LoadedModel* ready_model(Service& service, httplib::Response& res);
// The request body as a JSON object, or nullopt after answering 400.
std::optional<nlohmann::json> json_body(const httplib::Request& req, httplib::Response& res);
// The n choices of a request: copies of `parsed.base` with `prompt`, index i, seed + i and a
// sampler chain each. Sets `error` (bad sampling parameters or grammar) and returns none.
std::vector<GenerationRequest> choices(const ParsedGeneration& parsed, const std::vector<int32_t>& prompt,
                                       const LoadedModel& model, std::optional<ApiError>& error);
// Submits the choices and answers, or answers the error of building them.
void generate(LoadedModel& model, const ParsedGeneration& parsed, const std::vector<int32_t>& prompt,
              Formatter formatter, const httplib::Request& req, httplib::Response& res);
// A token's bytes as a JSON array of numbers (OpenAI's and llama.cpp's "bytes").
nlohmann::json bytes_json(const std::string& piece);
// llama.cpp's "timings" object.
nlohmann::json timings_json(const Completion& c);
// OpenAI "usage" (prompt counted once for all choices).
nlohmann::json usage_json(const std::vector<Completion>& done);
int64_t unix_time();
// POST /v1/embeddings (routes_embeddings.cpp).
void embeddings(Service& service, const httplib::Request& req, httplib::Response& res);

}  // namespace route
}  // namespace tessera::server

// llama.cpp's native endpoints: /health /props /slots /metrics /completion /tokenize /detokenize
// /apply-template, plus the helpers both route files share.
#include <fmt/format.h>

#include <chrono>

#include "server/routes.h"

namespace tessera::server {
namespace {

using nlohmann::json;

json native_probs(const std::vector<TokenLogprob>& lps, const tokenizer::Tokenizer& tok) {
  json out = json::array();
  for (const TokenLogprob& lp : lps) {
    json top = json::array();
    for (const auto& [id, logprob] : lp.top) {
      const std::string piece = tok.token_to_piece(id, true);
      top.push_back({{"id", id}, {"token", piece}, {"bytes", route::bytes_json(piece)}, {"logprob", logprob}});
    }
    out.push_back({{"id", lp.token},
                   {"token", lp.piece},
                   {"bytes", route::bytes_json(lp.piece)},
                   {"logprob", lp.logprob},
                   {"top_logprobs", top}});
  }
  return out;
}

json native_result(const Completion& c, const LoadedModel& m, bool want_probs) {
  json out = {{"content", c.text},
              {"index", c.index},
              {"id_slot", c.slot},
              {"stop", true},
              {"model", m.model_id},
              {"tokens_predicted", c.n_generated},
              {"tokens_evaluated", c.n_prompt},
              {"tokens_cached", c.n_cached},
              {"stop_type", c.finish_reason == "length" ? "limit" : (c.stop_word.empty() ? "eos" : "word")},
              {"stopping_word", c.stop_word},
              {"truncated", false},
              {"timings", route::timings_json(c)}};
  if (want_probs) out["completion_probabilities"] = native_probs(c.logprobs, *m.tokenizer);
  return out;
}

void completion(Service& service, const httplib::Request& req, httplib::Response& res) {
  LoadedModel* m = route::ready_model(service, res);
  if (!m) return;
  std::optional<json> body = route::json_body(req, res);
  if (!body) return;
  ParsedGeneration parsed;
  std::vector<int32_t> prompt;
  if (auto e = parse_prompt(*body, Api::kNative, *m->tokenizer, prompt)) return send_error(res, *e);
  if (auto e = parse_generation_fields(*body, Api::kNative, m->model->hparams().n_vocab, parsed)) {
    return send_error(res, *e);
  }
  const bool probs = parsed.base.want_logprobs;
  Formatter f;
  f.body = [m, probs](const std::vector<Completion>& done) {
    if (done.size() == 1) return native_result(done[0], *m, probs);
    json all = json::array();
    for (const Completion& c : done) all.push_back(native_result(c, *m, probs));
    return all;
  };
  f.delta_events = [m, probs](const Delta& d) {
    if (d.text.empty() && !probs) return std::vector<json>{};
    json out = {{"content", d.text}, {"index", d.index}, {"stop", false}};
    if (probs) out["completion_probabilities"] = native_probs(d.logprobs, *m->tokenizer);
    return std::vector<json>{out};
  };
  f.done_events = [m](const Completion& c) {
    json out = native_result(c, *m, false);
    out["content"] = "";
    return std::vector<json>{out};
  };
  f.done_marker = false;
  route::generate(*m, parsed, prompt, std::move(f), req, res);
}

void tokenize(Service& service, const httplib::Request& req, httplib::Response& res) {
  LoadedModel* m = route::ready_model(service, res);
  if (!m) return;
  std::optional<json> body = route::json_body(req, res);
  if (!body) return;
  const json content = body->value("content", json());
  if (!content.is_string()) {
    return send_error(res, ApiError::invalid(fmt::format("'content' must be a string, not {}", json_type_name(content)),
                                             "content", "invalid_type"));
  }
  const json add_special = body->value("add_special", json(false));
  const json with_pieces = body->value("with_pieces", json(false));
  const json parse_special = body->value("parse_special", json(true));
  if (!add_special.is_boolean() || !with_pieces.is_boolean() || !parse_special.is_boolean()) {
    return send_error(res, ApiError::invalid("'add_special', 'parse_special' and 'with_pieces' must be booleans", "",
                                             "invalid_type"));
  }
  const std::vector<int32_t> ids = m->tokenizer->tokenize(
      content.get<std::string>(), {.add_special = add_special.get<bool>(), .parse_special = parse_special.get<bool>()});
  json tokens = json::array();
  for (int32_t id : ids) {
    if (!with_pieces.get<bool>()) {
      tokens.push_back(id);
      continue;
    }
    const std::string piece = m->tokenizer->token_to_piece(id, true);
    tokens.push_back({{"id", id}, {"piece", piece}});
  }
  send_json(res, {{"tokens", tokens}});
}

void detokenize(Service& service, const httplib::Request& req, httplib::Response& res) {
  LoadedModel* m = route::ready_model(service, res);
  if (!m) return;
  std::optional<json> body = route::json_body(req, res);
  if (!body) return;
  const json tokens = body->value("tokens", json::array());
  if (!tokens.is_array()) return send_error(res, ApiError::invalid("'tokens' must be an array", "tokens"));
  std::vector<int32_t> ids;
  const auto n_vocab = static_cast<int64_t>(m->tokenizer->vocab().size());
  for (const json& t : tokens) {
    if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= n_vocab) {
      return send_error(
          res, ApiError::invalid(
                   fmt::format("'tokens' must hold token ids in [0, {}), found {}", n_vocab, dump_json(t)), "tokens"));
    }
    ids.push_back(static_cast<int32_t>(t.get<int64_t>()));
  }
  send_json(res, {{"content", m->tokenizer->detokenize(ids)}});
}

void apply_template(Service& service, const httplib::Request& req, httplib::Response& res) {
  LoadedModel* m = route::ready_model(service, res);
  if (!m) return;
  std::optional<json> body = route::json_body(req, res);
  if (!body) return;
  const auto ordered = nlohmann::ordered_json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  nlohmann::ordered_json messages, kwargs = nlohmann::ordered_json::object();
  std::optional<nlohmann::ordered_json> tools;
  if (auto e = parse_messages(ordered, messages)) return send_error(res, *e);
  ToolChoice choice;
  if (auto e = parse_tools(ordered, tools, kwargs, choice)) return send_error(res, *e);
  Result<std::string> prompt = m->chat->render(messages, tools, kwargs, true);
  if (!prompt) {
    return send_error(res, ApiError::invalid(fmt::format("the chat template failed: {}", prompt.error()), "messages",
                                             "template_error"));
  }
  send_json(res, {{"prompt", *prompt}});
}

void props(Service& service, httplib::Response& res) {
  LoadedModel* m = route::ready_model(service, res);
  if (!m) return;
  const sampling::SamplerParams defaults;
  send_json(res, {{"default_generation_settings",
                   {{"n_ctx", m->scheduler->n_ctx_slot()},
                    {"params",
                     {{"temperature", defaults.temperature},
                      {"top_k", defaults.top_k},
                      {"top_p", defaults.top_p},
                      {"min_p", defaults.min_p},
                      {"repeat_penalty", defaults.repeat_penalty},
                      {"repeat_last_n", defaults.repeat_last_n},
                      {"n_predict", -1}}}}},
                  {"total_slots", m->scheduler->n_slots()},
                  {"model_path", m->model_path},
                  {"model_alias", m->model_id},
                  {"chat_template", m->chat->template_source()},
                  {"chat_format", m->chat->name()},
                  {"build_info", "tessera"}});
}

void slots(Service& service, httplib::Response& res) {
  LoadedModel* m = route::ready_model(service, res);
  if (!m) return;
  json out = json::array();
  for (const SlotInfo& s : m->scheduler->slots()) {
    out.push_back({{"id", s.id},
                   {"is_processing", s.busy},
                   {"n_ctx", s.n_ctx},
                   {"n_cached", s.n_cached},
                   {"n_prompt_tokens", s.n_prompt},
                   {"n_decoded", s.n_decoded}});
  }
  send_json(res, out);
}

void metrics(Service& service, httplib::Response& res) {
  if (!service.metrics_enabled) {
    return send_error(res, ApiError::not_implemented("metrics are off; start the server with --metrics"));
  }
  LoadedModel* m = route::ready_model(service, res);
  if (!m) return;
  const SchedulerStats s = m->scheduler->stats();
  std::string out;
  const auto metric = [&out](const char* name, const char* type, const char* help, double value) {
    out += fmt::format("# HELP tessera_{0} {1}\n# TYPE tessera_{0} {2}\ntessera_{0} {3}\n", name, help, type, value);
  };
  metric("requests_total", "counter", "HTTP requests received.", double(service.counters.requests.load()));
  metric("requests_client_errors_total", "counter", "Requests answered with a 4xx status.",
         double(service.counters.client_errors.load()));
  metric("requests_server_errors_total", "counter", "Requests answered with a 5xx status.",
         double(service.counters.server_errors.load()));
  metric("generations_completed_total", "counter", "Generations finished.", double(s.requests_done));
  metric("generations_cancelled_total", "counter", "Generations cancelled (client gone).",
         double(s.requests_cancelled));
  metric("prompt_tokens_total", "counter", "Prompt tokens processed (cached tokens excluded).",
         double(s.prompt_tokens));
  metric("tokens_predicted_total", "counter", "Tokens generated.", double(s.generated_tokens));
  metric("prompt_seconds_total", "counter", "Wall time of decode steps with prompt tokens.", s.prompt_seconds);
  metric("predicted_seconds_total", "counter", "Wall time of decode steps with generated tokens.",
         s.generation_seconds);
  metric("prompt_tokens_seconds", "gauge", "Average prompt throughput in tokens/s.",
         s.prompt_seconds > 0 ? double(s.prompt_tokens) / s.prompt_seconds : 0.0);
  metric("predicted_tokens_seconds", "gauge", "Average generation throughput in tokens/s.",
         s.generation_seconds > 0 ? double(s.generated_tokens) / s.generation_seconds : 0.0);
  metric("decode_steps_total", "counter", "Batched forward passes.", double(s.decode_steps));
  metric("slots_busy", "gauge", "Slots processing a request.", double(s.slots_busy));
  metric("slots_total", "gauge", "Parallel slots (-np).", double(m->scheduler->n_slots()));
  metric("queue_length", "gauge", "Requests waiting for a slot.", double(s.queue_length));
  res.set_content(out, "text/plain; version=0.0.4");
}

}  // namespace

namespace route {

LoadedModel* ready_model(Service& service, httplib::Response& res) {
  switch (service.state()) {
    case Service::State::kReady: return &service.loaded();
    case Service::State::kLoading: send_error(res, ApiError::unavailable("Loading model")); return nullptr;
    case Service::State::kFailed: send_error(res, ApiError::internal("the model failed to load")); return nullptr;
  }
  return nullptr;
}

std::optional<json> json_body(const httplib::Request& req, httplib::Response& res) {
  json body;
  if (std::optional<ApiError> e = parse_json_object(req.body, body)) {
    send_error(res, *e);
    return std::nullopt;
  }
  return body;
}

std::vector<GenerationRequest> choices(const ParsedGeneration& parsed, const std::vector<int32_t>& prompt,
                                       const LoadedModel& model, std::optional<ApiError>& error) {
  std::vector<GenerationRequest> out;
  for (int32_t i = 0; i < parsed.n_choices; ++i) {
    GenerationRequest r = parsed.base;
    r.prompt = prompt;
    r.index = i;
    r.sampling.seed += static_cast<uint32_t>(i);
    r.chain = model.samplers->make(r.sampling, r.grammar, r.grammar_field, error);
    if (!r.chain) return {};
    out.push_back(std::move(r));
  }
  return out;
}

void generate(LoadedModel& model, const ParsedGeneration& parsed, const std::vector<int32_t>& prompt,
              Formatter formatter, const httplib::Request& req, httplib::Response& res) {
  std::optional<ApiError> error;
  std::vector<GenerationRequest> requests = choices(parsed, prompt, model, error);
  if (error) return send_error(res, *error);
  answer_generation(*model.scheduler, std::move(requests), parsed.stream, std::move(formatter), req, res);
}

json bytes_json(const std::string& piece) {
  json bytes = json::array();
  for (unsigned char c : piece) bytes.push_back(c);
  return bytes;
}

json timings_json(const Completion& c) {
  const Timings& t = c.timings;
  const auto per_token = [](double ms, int32_t n) { return n > 0 ? ms / n : 0.0; };
  const auto per_second = [](double ms, int32_t n) { return ms > 0 ? 1e3 * n / ms : 0.0; };
  return {{"cache_n", c.n_cached},
          {"prompt_n", t.prompt_n},
          {"prompt_ms", t.prompt_ms},
          {"prompt_per_token_ms", per_token(t.prompt_ms, t.prompt_n)},
          {"prompt_per_second", per_second(t.prompt_ms, t.prompt_n)},
          {"predicted_n", t.predicted_n},
          {"predicted_ms", t.predicted_ms},
          {"predicted_per_token_ms", per_token(t.predicted_ms, t.predicted_n)},
          {"predicted_per_second", per_second(t.predicted_ms, t.predicted_n)}};
}

json usage_json(const std::vector<Completion>& done) {
  int64_t completion = 0;
  for (const Completion& c : done) completion += c.n_generated;
  const int32_t prompt = done.empty() ? 0 : done.front().n_prompt;
  const int32_t cached = done.empty() ? 0 : done.front().n_cached;
  return {{"prompt_tokens", prompt},
          {"completion_tokens", completion},
          {"total_tokens", prompt + completion},
          {"prompt_tokens_details", {{"cached_tokens", cached}}}};
}

int64_t unix_time() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace route

void register_native_routes(httplib::Server& http, Service& service) {
  http.Get("/health", [&service](const httplib::Request&, httplib::Response& res) {
    if (route::ready_model(service, res)) send_json(res, {{"status", "ok"}});
  });
  http.Get("/v1/health", [&service](const httplib::Request&, httplib::Response& res) {
    if (route::ready_model(service, res)) send_json(res, {{"status", "ok"}});
  });
  const auto post = [&](const char* path, void (*fn)(Service&, const httplib::Request&, httplib::Response&)) {
    http.Post(path, [&service, fn](const httplib::Request& req, httplib::Response& res) { fn(service, req, res); });
  };
  post("/completion", completion);
  post("/tokenize", tokenize);
  post("/detokenize", detokenize);
  post("/apply-template", apply_template);
  http.Get("/props", [&service](const httplib::Request&, httplib::Response& res) { props(service, res); });
  http.Get("/slots", [&service](const httplib::Request&, httplib::Response& res) { slots(service, res); });
  http.Get("/metrics", [&service](const httplib::Request&, httplib::Response& res) { metrics(service, res); });
}

}  // namespace tessera::server

// OpenAI-compatible endpoints: /v1/chat/completions, /v1/completions, /v1/models, /v1/embeddings.
#include <fmt/format.h>

#include "server/routes.h"

namespace tessera::server {
namespace {

using nlohmann::json;

// Chat's logprobs: {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}]}.
json chat_logprobs(const std::vector<TokenLogprob>& lps, const tokenizer::Tokenizer& tok) {
  json content = json::array();
  for (const TokenLogprob& lp : lps) {
    json top = json::array();
    for (const auto& [id, logprob] : lp.top) {
      const std::string piece = tok.token_to_piece(id, true);
      top.push_back({{"token", piece}, {"logprob", logprob}, {"bytes", route::bytes_json(piece)}});
    }
    content.push_back(
        {{"token", lp.piece}, {"logprob", lp.logprob}, {"bytes", route::bytes_json(lp.piece)}, {"top_logprobs", top}});
  }
  return {{"content", content}};
}

// Completions' (legacy) logprobs: parallel arrays.
json text_logprobs(const std::vector<TokenLogprob>& lps, const tokenizer::Tokenizer& tok, size_t text_offset) {
  json tokens = json::array(), token_logprobs = json::array(), top = json::array(), offsets = json::array();
  for (const TokenLogprob& lp : lps) {
    tokens.push_back(lp.piece);
    token_logprobs.push_back(lp.logprob);
    json alternatives = json::object();
    for (const auto& [id, logprob] : lp.top) alternatives[tok.token_to_piece(id, true)] = logprob;
    top.push_back(alternatives);
    offsets.push_back(text_offset);
    text_offset += lp.piece.size();
  }
  return {{"tokens", tokens}, {"token_logprobs", token_logprobs}, {"top_logprobs", top}, {"text_offset", offsets}};
}

struct Envelope {
  std::string id;
  std::string object;
  int64_t created;
  std::string model;

  json make() const { return {{"id", id}, {"object", object}, {"created", created}, {"model", model}}; }
};

// A streamed delta's JSON: content, reasoning_content and tool calls (OpenAI's streaming shape,
// each tool call whole in one chunk with its index among the reply's calls).
json delta_json(const chat::ParsedMessage& d, size_t& n_calls) {
  json delta = json::object();
  if (!d.content.empty()) delta["content"] = d.content;
  if (!d.reasoning_content.empty()) delta["reasoning_content"] = d.reasoning_content;
  if (!d.tool_calls.empty()) {
    json calls = json::array();
    for (const chat::ToolCall& c : d.tool_calls) {
      calls.push_back({{"index", n_calls++},
                       {"id", c.id},
                       {"type", "function"},
                       {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
    }
    delta["tool_calls"] = calls;
  }
  return delta;
}

std::string chat_finish_reason(const Completion& c, const chat::ParsedMessage& m) {
  return c.finish_reason == "stop" && !m.tool_calls.empty() ? "tool_calls" : c.finish_reason;
}

Formatter chat_formatter(const Envelope& env, const ParsedGeneration& parsed, const tokenizer::Tokenizer& tok,
                         const ChatFormat& chat, bool tools) {
  const bool logprobs = parsed.base.want_logprobs;
  Envelope chunk = env;
  chunk.object = "chat.completion.chunk";
  Formatter f;
  f.body = [env, logprobs, &tok, &chat, tools](const std::vector<Completion>& done) {
    json out = env.make();
    json choices = json::array();
    for (const Completion& c : done) {
      chat::ChatOutputParser parser = chat.parser(tools);
      parser.feed(c.text);
      parser.finish();
      choices.push_back({{"index", c.index},
                         {"message", json::parse(parser.message().to_json().dump())},
                         {"logprobs", logprobs ? chat_logprobs(c.logprobs, tok) : json(nullptr)},
                         {"finish_reason", chat_finish_reason(c, parser.message())}});
    }
    out["choices"] = choices;
    out["usage"] = route::usage_json(done);
    out["timings"] = route::timings_json(done.front());
    out["system_fingerprint"] = "tessera";
    return out;
  };
  // Per choice: its output parser and how many tool calls it has streamed. Only the handler's
  // thread calls these functions, one at a time.
  struct ChoiceState {
    chat::ChatOutputParser parser;
    size_t n_calls = 0;
  };
  auto states = std::make_shared<std::vector<ChoiceState>>();
  for (int32_t i = 0; i < parsed.n_choices; ++i) states->push_back({chat.parser(tools), 0});
  const auto chunk_with = [chunk](int32_t index, json delta, json finish, json lp) {
    json out = chunk.make();
    json choice = {{"index", index}, {"delta", std::move(delta)}, {"finish_reason", std::move(finish)}};
    if (!lp.is_null()) choice["logprobs"] = std::move(lp);
    out["choices"] = json::array({std::move(choice)});
    return out;
  };
  f.start_events = [chunk_with](int32_t index) {
    return std::vector<json>{chunk_with(index, {{"role", "assistant"}, {"content", ""}}, nullptr, nullptr)};
  };
  f.delta_events = [chunk_with, logprobs, &tok, states](const Delta& d) {
    ChoiceState& st = (*states)[static_cast<size_t>(d.index)];
    json delta = delta_json(st.parser.feed(d.text), st.n_calls);
    if (delta.empty() && !logprobs) return std::vector<json>{};
    return std::vector<json>{
        chunk_with(d.index, std::move(delta), nullptr, logprobs ? chat_logprobs(d.logprobs, tok) : json())};
  };
  f.done_events = [chunk_with, states](const Completion& c) {
    ChoiceState& st = (*states)[static_cast<size_t>(c.index)];
    std::vector<json> out;
    json rest = delta_json(st.parser.finish(), st.n_calls);
    if (!rest.empty()) out.push_back(chunk_with(c.index, std::move(rest), nullptr, nullptr));
    out.push_back(chunk_with(c.index, json::object(), chat_finish_reason(c, st.parser.message()), nullptr));
    return out;
  };
  const bool usage = parsed.include_usage;
  f.end_events = [chunk, usage](const std::vector<Completion>& done) {
    if (!usage) return std::vector<json>{};
    json out = chunk.make();
    out["choices"] = json::array();
    out["usage"] = route::usage_json(done);
    out["timings"] = route::timings_json(done.front());
    return std::vector<json>{out};
  };
  return f;
}

Formatter text_formatter(const Envelope& env, const ParsedGeneration& parsed, const tokenizer::Tokenizer& tok) {
  const bool logprobs = parsed.base.want_logprobs;
  Formatter f;
  f.body = [env, logprobs, &tok](const std::vector<Completion>& done) {
    json out = env.make();
    json choices = json::array();
    for (const Completion& c : done) {
      choices.push_back({{"index", c.index},
                         {"text", c.text},
                         {"logprobs", logprobs ? text_logprobs(c.logprobs, tok, 0) : json(nullptr)},
                         {"finish_reason", c.finish_reason}});
    }
    out["choices"] = choices;
    out["usage"] = route::usage_json(done);
    out["timings"] = route::timings_json(done.front());
    return out;
  };
  const auto chunk_with = [env](int32_t index, const std::string& text, json finish, json lp) {
    json out = env.make();
    out["choices"] =
        json::array({{{"index", index}, {"text", text}, {"logprobs", std::move(lp)}, {"finish_reason", finish}}});
    return out;
  };
  f.delta_events = [chunk_with, logprobs, &tok](const Delta& d) {
    if (d.text.empty() && !logprobs) return std::vector<json>{};
    return std::vector<json>{
        chunk_with(d.index, d.text, nullptr, logprobs ? text_logprobs(d.logprobs, tok, 0) : json(nullptr))};
  };
  f.done_events = [chunk_with](const Completion& c) {
    return std::vector<json>{chunk_with(c.index, "", c.finish_reason, nullptr)};
  };
  const bool usage = parsed.include_usage;
  f.end_events = [env, usage](const std::vector<Completion>& done) {
    if (!usage) return std::vector<json>{};
    json out = env.make();
    out["choices"] = json::array();
    out["usage"] = route::usage_json(done);
    return std::vector<json>{out};
  };
  return f;
}

// tool_choice "required" or a named function: the reply is constrained to tool calls in the
// template's format (the grammar replaces none: a request's own grammar cannot be combined).
std::optional<ApiError> force_tool_call(const ToolChoice& choice, const std::optional<nlohmann::ordered_json>& tools,
                                        const ChatFormat& chat, GenerationRequest& request) {
  if (!choice.forced() || !tools) return std::nullopt;
  if (!request.grammar.empty()) {
    return ApiError::invalid(fmt::format("a forced 'tool_choice' cannot be combined with '{}'", request.grammar_field),
                             "tool_choice");
  }
  Result<std::string> gbnf = forced_tool_call_gbnf(*tools, choice, chat.tool_format());
  if (!gbnf) return ApiError::invalid(fmt::format("'tools': {}", gbnf.error()), "tools", "invalid_schema");
  request.grammar = std::move(*gbnf);
  request.grammar_field = "tools";
  return std::nullopt;
}

void chat_completions(Service& service, const httplib::Request& req, httplib::Response& res) {
  LoadedModel* m = route::ready_model(service, res);
  if (!m) return;
  std::optional<json> body = route::json_body(req, res);
  if (!body) return;
  // Messages and tools reach the template in the client's key order, as in Python.
  const auto ordered = nlohmann::ordered_json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  nlohmann::ordered_json messages, kwargs = nlohmann::ordered_json::object();
  std::optional<nlohmann::ordered_json> tools;
  ParsedGeneration parsed;
  if (auto e = parse_messages(ordered, messages)) return send_error(res, *e);
  ToolChoice choice;
  if (auto e = parse_tools(ordered, tools, kwargs, choice)) return send_error(res, *e);
  if (auto e = parse_generation_fields(*body, Api::kChat, m->model->hparams().n_vocab, parsed)) {
    return send_error(res, *e);
  }
  if (auto e = force_tool_call(choice, tools, *m->chat, parsed.base)) return send_error(res, *e);
  Result<std::string> prompt_text = m->chat->render(messages, tools, kwargs, true);
  if (!prompt_text) {
    return send_error(res, ApiError::invalid(fmt::format("the chat template failed: {}", prompt_text.error()),
                                             "messages", "template_error"));
  }
  const std::vector<int32_t> prompt =
      m->tokenizer->tokenize(*prompt_text, {.add_special = true, .parse_special = true});
  const Envelope env{fmt::format("chatcmpl-{}", service.next_id()), "chat.completion", route::unix_time(), m->model_id};
  route::generate(*m, parsed, prompt, chat_formatter(env, parsed, *m->tokenizer, *m->chat, tools.has_value()), req,
                  res);
}

void completions(Service& service, const httplib::Request& req, httplib::Response& res) {
  LoadedModel* m = route::ready_model(service, res);
  if (!m) return;
  std::optional<json> body = route::json_body(req, res);
  if (!body) return;
  ParsedGeneration parsed;
  std::vector<int32_t> prompt;
  if (auto e = parse_prompt(*body, Api::kCompletions, *m->tokenizer, prompt)) return send_error(res, *e);
  if (!body->contains("max_tokens") && !body->contains("max_completion_tokens")) parsed.base.n_predict = 16;
  if (auto e = parse_generation_fields(*body, Api::kCompletions, m->model->hparams().n_vocab, parsed)) {
    return send_error(res, *e);
  }
  const Envelope env{fmt::format("cmpl-{}", service.next_id()), "text_completion", route::unix_time(), m->model_id};
  route::generate(*m, parsed, prompt, text_formatter(env, parsed, *m->tokenizer), req, res);
}

void models(Service& service, httplib::Response& res) {
  LoadedModel* m = route::ready_model(service, res);
  if (!m) return;
  json model = {{"id", m->model_id},
                {"object", "model"},
                {"created", route::unix_time()},
                {"owned_by", "tessera"},
                {"meta",
                 {{"n_vocab", m->model->hparams().n_vocab},
                  {"n_ctx_train", m->model->hparams().n_ctx_train},
                  {"n_params", nullptr}}}};
  send_json(res, {{"object", "list"}, {"data", json::array({model})}});
}

}  // namespace

void register_openai_routes(httplib::Server& http, Service& service) {
  const auto chat = [&service](const httplib::Request& req, httplib::Response& res) {
    chat_completions(service, req, res);
  };
  const auto text = [&service](const httplib::Request& req, httplib::Response& res) { completions(service, req, res); };
  http.Post("/v1/chat/completions", chat);
  http.Post("/chat/completions", chat);
  http.Post("/v1/completions", text);
  http.Post("/completions", text);
  http.Get("/v1/models", [&service](const httplib::Request&, httplib::Response& res) { models(service, res); });
  http.Get("/models", [&service](const httplib::Request&, httplib::Response& res) { models(service, res); });
  const auto embeddings = [&service](const httplib::Request& req, httplib::Response& res) {
    route::embeddings(service, req, res);
  };
  http.Post("/v1/embeddings", embeddings);
  http.Post("/embeddings", embeddings);
}

}  // namespace tessera::server

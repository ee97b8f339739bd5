#include "server/request_parser.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <random>

#include "grammar/json_schema.h"

namespace tessera::server {
namespace {

using nlohmann::json;

const json* field(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

ApiError wrong_type(const char* key, const char* expected, const json& value) {
  return ApiError::invalid(fmt::format("'{}' must be {}, not {}", key, expected, json_type_name(value)), key,
                           "invalid_type");
}

// Reads an optional number in [lo, hi]; integer targets need an integral value.
template <class T>
std::optional<ApiError> read_number(const json& body, const char* key, T& out, double lo, double hi) {
  const json* v = field(body, key);
  if (!v) return std::nullopt;
  if (!v->is_number()) return wrong_type(key, std::is_integral_v<T> ? "an integer" : "a number", *v);
  const double d = v->get<double>();
  if constexpr (std::is_integral_v<T>) {
    if (!v->is_number_integer() && std::floor(d) != d) return wrong_type(key, "an integer", *v);
  }
  if (!std::isfinite(d) || d < lo || d > hi) {
    return ApiError::invalid(fmt::format("'{}' is {}, outside [{}, {}]", key, v->dump(), lo, hi), key);
  }
  out = static_cast<T>(d);
  return std::nullopt;
}

std::optional<ApiError> read_bool(const json& body, const char* key, bool& out) {
  const json* v = field(body, key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) return wrong_type(key, "a boolean", *v);
  out = v->get<bool>();
  return std::nullopt;
}

std::optional<ApiError> read_stop(const json& body, std::vector<std::string>& out) {
  const json* v = field(body, "stop");
  if (!v) return std::nullopt;
  if (v->is_string()) {
    if (!v->get<std::string>().empty()) out.push_back(v->get<std::string>());
    return std::nullopt;
  }
  if (!v->is_array()) return wrong_type("stop", "a string or an array of strings", *v);
  for (const json& s : *v) {
    if (!s.is_string()) return wrong_type("stop", "a string or an array of strings", s);
    if (!s.get<std::string>().empty()) out.push_back(s.get<std::string>());
  }
  return std::nullopt;
}

// One logit_bias entry: token id (as a number or a decimal string) and a bias (number, or false
// for "never", as llama.cpp accepts).
std::optional<ApiError> add_logit_bias(const json& key, const json& value, int64_t n_vocab,
                                       sampling::SamplerParams& s) {
  int64_t id = -1;
  if (key.is_number_integer()) {
    id = key.get<int64_t>();
  } else if (key.is_string()) {
    const std::string text = key.get<std::string>();
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
      return ApiError::invalid(fmt::format("logit_bias key '{}' is not a token id", text), "logit_bias");
    }
  } else {
    return wrong_type("logit_bias", "an object of token id -> bias", key);
  }
  if (id < 0 || id >= n_vocab) {
    return ApiError::invalid(fmt::format("logit_bias token {} is outside the vocabulary [0, {})", id, n_vocab),
                             "logit_bias");
  }
  float bias = 0.0f;
  if (value.is_boolean() && !value.get<bool>()) {
    bias = -std::numeric_limits<float>::infinity();
  } else if (value.is_number() && std::isfinite(value.get<double>())) {
    bias = value.get<float>();
  } else {
    return ApiError::invalid(
        fmt::format("logit_bias value for token {} must be a number, not {}", id, json_type_name(value)), "logit_bias",
        "invalid_type");
  }
  s.logit_bias.push_back({static_cast<int32_t>(id), bias});
  return std::nullopt;
}

std::optional<ApiError> read_logit_bias(const json& body, int64_t n_vocab, sampling::SamplerParams& s) {
  const json* v = field(body, "logit_bias");
  if (!v) return std::nullopt;
  if (v->is_object()) {
    for (const auto& [k, value] : v->items()) {
      if (auto e = add_logit_bias(json(k), value, n_vocab, s)) return e;
    }
    return std::nullopt;
  }
  if (v->is_array()) {  // llama.cpp's [[id, bias], ...]
    for (const json& pair : *v) {
      if (!pair.is_array() || pair.size() != 2) return wrong_type("logit_bias", "[token, bias] pairs", pair);
      if (auto e = add_logit_bias(pair[0], pair[1], n_vocab, s)) return e;
    }
    return std::nullopt;
  }
  return wrong_type("logit_bias", "an object of token id -> bias", *v);
}

std::optional<ApiError> read_strings(const json& body, const char* key, std::vector<std::string>& out) {
  const json* v = field(body, key);
  if (!v) return std::nullopt;
  if (!v->is_array()) return wrong_type(key, "an array of strings", *v);
  out.clear();
  for (const json& x : *v) {
    if (!x.is_string()) return wrong_type(key, "an array of strings", x);
    out.push_back(x.get<std::string>());
  }
  return std::nullopt;
}

// "samplers": stage names as an array or a ';'-separated string (llama.cpp accepts both).
std::optional<ApiError> read_samplers(const json& body, sampling::SamplerParams& s) {
  const json* v = field(body, "samplers");
  if (!v) return std::nullopt;
  std::string names;
  if (v->is_string()) {
    names = v->get<std::string>();
  } else if (v->is_array()) {
    for (const json& x : *v) {
      if (!x.is_string()) return wrong_type("samplers", "an array of stage names", x);
      if (!names.empty()) names += ';';
      names += x.get<std::string>();
    }
  } else {
    return wrong_type("samplers", "an array of stage names", *v);
  }
  Result<std::vector<sampling::StageType>> order = sampling::parse_stage_names(names);
  if (!order) return ApiError::invalid(fmt::format("'samplers': {}", order.error()), "samplers");
  s.order = std::move(*order);
  return std::nullopt;
}

std::optional<ApiError> read_sampling(const json& body, int64_t n_vocab, sampling::SamplerParams& s) {
  constexpr double kInt32Max = std::numeric_limits<int32_t>::max();
  constexpr double kBig = 1e9;
  std::optional<ApiError> e;
  // Floats: llama.cpp accepts any value (negative temperature: greedy); OpenAI's ranges where it has them.
  if ((e = read_number(body, "temperature", s.temperature, 0.0, 100.0))) return e;
  if ((e = read_number(body, "top_p", s.top_p, 0.0, 1.0))) return e;
  if ((e = read_number(body, "top_k", s.top_k, -1.0, kInt32Max))) return e;
  if ((e = read_number(body, "min_p", s.min_p, 0.0, 1.0))) return e;
  if ((e = read_number(body, "min_keep", s.min_keep, 0.0, kInt32Max))) return e;
  if ((e = read_number(body, "typical_p", s.typical_p, 0.0, kBig))) return e;
  if ((e = read_number(body, "top_n_sigma", s.top_n_sigma, -kBig, kBig))) return e;
  if ((e = read_number(body, "xtc_probability", s.xtc_probability, 0.0, 1.0))) return e;
  if ((e = read_number(body, "xtc_threshold", s.xtc_threshold, 0.0, 1.0))) return e;
  if ((e = read_number(body, "dynatemp_range", s.dynatemp_range, 0.0, kBig))) return e;
  if ((e = read_number(body, "dynatemp_exponent", s.dynatemp_exponent, 0.0, kBig))) return e;
  if ((e = read_number(body, "presence_penalty", s.presence_penalty, -2.0, 2.0))) return e;
  if ((e = read_number(body, "frequency_penalty", s.frequency_penalty, -2.0, 2.0))) return e;
  if ((e = read_number(body, "repeat_penalty", s.repeat_penalty, 0.0, kBig))) return e;
  if ((e = read_number(body, "repeat_last_n", s.repeat_last_n, -1.0, kInt32Max))) return e;
  if ((e = read_number(body, "dry_multiplier", s.dry_multiplier, 0.0, kBig))) return e;
  if ((e = read_number(body, "dry_base", s.dry_base, 0.0, kBig))) return e;
  if ((e = read_number(body, "dry_allowed_length", s.dry_allowed_length, 0.0, kInt32Max))) return e;
  if ((e = read_number(body, "dry_penalty_last_n", s.dry_penalty_last_n, -1.0, kInt32Max))) return e;
  if ((e = read_strings(body, "dry_sequence_breakers", s.dry_sequence_breakers))) return e;
  if ((e = read_number(body, "mirostat", s.mirostat, 0.0, 2.0))) return e;
  if ((e = read_number(body, "mirostat_tau", s.mirostat_tau, 0.0, kBig))) return e;
  if ((e = read_number(body, "mirostat_eta", s.mirostat_eta, 0.0, kBig))) return e;
  if ((e = read_bool(body, "ignore_eos", s.ignore_eos))) return e;
  if ((e = read_samplers(body, s))) return e;
  int64_t seed = -1;
  if ((e = read_number(body, "seed", seed, -9.2e18, 9.2e18))) return e;
  s.seed = seed == -1 ? std::random_device{}() : static_cast<uint32_t>(seed);
  if ((e = read_logit_bias(body, n_vocab, s))) return e;
  if (Status st = s.validate(); !st) return ApiError::invalid(st.message());
  return std::nullopt;
}

// The grammar of a request, as GBNF: "grammar" (GBNF), "json_schema" (llama.cpp), or OpenAI's
// "response_format" ({"type": "json_object"} or {"type": "json_schema", "json_schema": {"schema": ...}}).
std::optional<ApiError> read_grammar(const json& body, GenerationRequest& r) {
  if (const json* g = field(body, "grammar")) {
    if (!g->is_string()) return wrong_type("grammar", "a string (GBNF)", *g);
    r.grammar = g->get<std::string>();
    r.grammar_field = "grammar";
  }
  const json* schema = field(body, "json_schema");
  std::string schema_field = "json_schema";
  if (const json* rf = field(body, "response_format")) {
    if (!rf->is_object() || !rf->contains("type") || !(*rf)["type"].is_string()) {
      return wrong_type("response_format", "an object with a \"type\"", *rf);
    }
    const std::string type = (*rf)["type"].get<std::string>();
    if (type == "json_object") {
      r.grammar = grammar::json_object_gbnf();
      r.grammar_field = "response_format";
    } else if (type == "json_schema") {
      const json* js = field(*rf, "json_schema");
      schema = js && js->is_object() ? field(*js, "schema") : nullptr;
      if (!schema) schema = js;  // llama.cpp also accepts the schema itself there
      if (!schema) return ApiError::invalid("'response_format.json_schema.schema' is required", "response_format");
      schema_field = "response_format";
    } else if (type != "text") {
      return ApiError::invalid(
          fmt::format("'response_format.type' '{}' is not one of text, json_object, json_schema", type),
          "response_format");
    }
  }
  if (schema) {
    if (!schema->is_object() && !schema->is_boolean()) return wrong_type(schema_field.c_str(), "an object", *schema);
    Result<std::string> gbnf = grammar::json_schema_to_gbnf(*schema);
    if (!gbnf) {
      return ApiError::invalid(fmt::format("'{}': {}", schema_field, gbnf.error()), schema_field, "invalid_schema");
    }
    r.grammar = std::move(*gbnf);
    r.grammar_field = schema_field;
  }
  return std::nullopt;
}

std::optional<ApiError> read_length(const json& body, Api api, GenerationRequest& r) {
  constexpr double kInt32Max = std::numeric_limits<int32_t>::max();
  std::optional<ApiError> e;
  // OpenAI: max_tokens >= 1 (max_completion_tokens is the newer spelling); llama.cpp's n_predict
  // allows -1 (until the end).
  if ((e = read_number(body, "max_tokens", r.n_predict, api == Api::kNative ? -1.0 : 1.0, kInt32Max))) return e;
  if ((e = read_number(body, "max_completion_tokens", r.n_predict, 1.0, kInt32Max))) return e;
  if ((e = read_number(body, "n_predict", r.n_predict, -1.0, kInt32Max))) return e;
  return std::nullopt;
}

std::optional<ApiError> read_logprobs(const json& body, Api api, GenerationRequest& r) {
  std::optional<ApiError> e;
  if (api == Api::kChat) {
    if ((e = read_bool(body, "logprobs", r.want_logprobs))) return e;
    if ((e = read_number(body, "top_logprobs", r.n_probs, 0.0, 20.0))) return e;
    if (r.n_probs > 0 && !r.want_logprobs) {
      return ApiError::invalid("'top_logprobs' needs 'logprobs': true", "top_logprobs");
    }
  } else {
    const char* key = api == Api::kCompletions ? "logprobs" : "n_probs";
    if ((e = read_number(body, key, r.n_probs, 0.0, 20.0))) return e;
    r.want_logprobs = field(body, key) != nullptr && (api == Api::kCompletions || r.n_probs > 0);
  }
  return std::nullopt;
}

}  // namespace

std::string json_type_name(const json& value) {
  return value_type_name(value.type());
}
std::string json_type_name(const nlohmann::ordered_json& value) {
  return value_type_name(value.type());
}

std::string value_type_name(nlohmann::detail::value_t type) {
  switch (type) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    case json::value_t::number_float: return "a number";
    default: return "an integer";
  }
}

std::optional<ApiError> parse_json_object(const std::string& text, json& out) {
  out = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (out.is_discarded()) {
    // Parse again with exceptions only to learn where the syntax breaks.
    std::string where = "the body is not valid JSON";
    try {
      const json again = json::parse(text);
      (void)again;
    } catch (const json::parse_error& e) {
      where = fmt::format("the body is not valid JSON: byte {}: {}", e.byte, e.what());
    }
    return ApiError::invalid(where, "", "invalid_json");
  }
  if (!out.is_object()) {
    return ApiError::invalid(fmt::format("the body must be a JSON object, not {}", json_type_name(out)), "",
                             "invalid_json");
  }
  return std::nullopt;
}

std::optional<ApiError> parse_generation_fields(const json& body, Api api, int64_t n_vocab, ParsedGeneration& out) {
  GenerationRequest& r = out.base;
  std::optional<ApiError> e;
  if ((e = read_sampling(body, n_vocab, r.sampling))) return e;
  if ((e = read_grammar(body, r))) return e;
  if ((e = read_length(body, api, r))) return e;
  if ((e = read_stop(body, r.stop))) return e;
  if ((e = read_logprobs(body, api, r))) return e;
  if ((e = read_bool(body, "cache_prompt", r.cache_prompt))) return e;
  if ((e = read_number(body, "n", out.n_choices, 1.0, 16.0))) return e;
  if ((e = read_bool(body, "stream", out.stream))) return e;
  if (const json* so = field(body, "stream_options")) {
    if (!so->is_object()) return wrong_type("stream_options", "an object", *so);
    if ((e = read_bool(*so, "include_usage", out.include_usage))) return e;
  }
  if (const json* m = field(body, "model")) {
    if (!m->is_string()) return wrong_type("model", "a string", *m);
    out.model = m->get<std::string>();
  }
  return std::nullopt;
}

std::optional<ApiError> parse_messages(const nlohmann::ordered_json& body, nlohmann::ordered_json& out) {
  const auto v = body.find("messages");
  if (v == body.end() || v->is_null()) {
    return ApiError::invalid("'messages' is required", "messages", "missing_required_parameter");
  }
  if (!v->is_array()) {
    return ApiError::invalid(fmt::format("'messages' must be an array, not {}", json_type_name(*v)), "messages",
                             "invalid_type");
  }
  if (v->empty()) return ApiError::invalid("'messages' must not be empty", "messages");
  out = nlohmann::ordered_json::array();
  for (size_t i = 0; i < v->size(); ++i) {
    const nlohmann::ordered_json& m = (*v)[i];
    const std::string where = fmt::format("messages[{}]", i);
    if (!m.is_object()) return ApiError::invalid(fmt::format("{} must be an object", where), "messages");
    const auto role = m.find("role");
    if (role == m.end() || !role->is_string()) {
      return ApiError::invalid(fmt::format("{}.role must be a string", where), "messages");
    }
    const std::string r = role->get<std::string>();
    if (r != "system" && r != "developer" && r != "user" && r != "assistant" && r != "tool") {
      return ApiError::invalid(
          fmt::format("{}.role '{}' is not one of system, developer, user, assistant, tool", where, r), "messages");
    }
    const auto content = m.find("content");
    const bool has_tool_calls = m.contains("tool_calls") && m["tool_calls"].is_array() && !m["tool_calls"].empty();
    if (content != m.end() && content->is_array()) {
      for (const auto& part : *content) {
        if (!part.is_object() || !part.contains("type") || part["type"] != "text" || !part.contains("text") ||
            !part["text"].is_string()) {
          return ApiError::invalid(fmt::format("{}.content parts must be {{\"type\": \"text\", \"text\": "
                                               "string}} (this model takes no images)",
                                               where),
                                   "messages");
        }
      }
    } else if (!(content != m.end() && content->is_string()) &&
               !(r == "assistant" && has_tool_calls && (content == m.end() || content->is_null()))) {
      return ApiError::invalid(fmt::format("{}.content must be a string or an array of text parts{}", where,
                                           content == m.end() ? " (missing)" : ""),
                               "messages");
    }
    if (m.contains("tool_calls") && !m["tool_calls"].is_null()) {
      if (r != "assistant" || !m["tool_calls"].is_array()) {
        return ApiError::invalid(fmt::format("{}.tool_calls must be an array on an assistant message", where),
                                 "messages");
      }
      for (const auto& call : m["tool_calls"]) {
        if (!call.is_object() || !call.contains("function") || !call["function"].is_object() ||
            !call["function"].contains("name") || !call["function"]["name"].is_string()) {
          return ApiError::invalid(fmt::format("{}.tool_calls entries need function.name", where), "messages");
        }
      }
    }
    out.push_back(m);
  }
  return std::nullopt;
}

std::optional<ApiError> parse_tools(const nlohmann::ordered_json& body, std::optional<nlohmann::ordered_json>& tools,
                                    nlohmann::ordered_json& kwargs, ToolChoice& choice) {
  tools.reset();
  if (const auto k = body.find("chat_template_kwargs"); k != body.end() && !k->is_null()) {
    if (!k->is_object()) {
      return ApiError::invalid("'chat_template_kwargs' must be an object", "chat_template_kwargs", "invalid_type");
    }
    kwargs = *k;
  }
  const auto t = body.find("tools");
  if (t == body.end() || t->is_null()) return parse_tool_choice(body, nlohmann::ordered_json(), choice);
  if (!t->is_array()) return ApiError::invalid("'tools' must be an array", "tools", "invalid_type");
  for (size_t i = 0; i < t->size(); ++i) {
    const auto& tool = (*t)[i];
    if (!tool.is_object() || !tool.contains("function") || !tool["function"].is_object() ||
        !tool["function"].contains("name") || !tool["function"]["name"].is_string()) {
      return ApiError::invalid(fmt::format("tools[{}] must be {{\"type\": \"function\", \"function\": "
                                           "{{\"name\": ..., \"parameters\": ...}}}}",
                                           i),
                               "tools");
    }
  }
  if (auto e = parse_tool_choice(body, *t, choice)) return e;
  if (choice.mode == ToolChoice::Mode::kNone) return std::nullopt;  // as if no tools were offered
  if (!t->empty()) tools = *t;
  return std::nullopt;
}

std::optional<ApiError> parse_prompt(const json& body, Api api, const tokenizer::Tokenizer& tokenizer,
                                     std::vector<int32_t>& out) {
  const char* key = api == Api::kNative && !body.contains("prompt") ? "content" : "prompt";
  const json* v = field(body, key);
  if (!v) return ApiError::invalid(fmt::format("'{}' is required", key), key, "missing_required_parameter");
  const json* p = v;
  if (p->is_array() && p->size() == 1 && ((*p)[0].is_string() || (*p)[0].is_array())) p = &(*p)[0];
  const auto n_vocab = static_cast<int64_t>(tokenizer.vocab().size());
  if (p->is_string()) {
    out = tokenizer.tokenize(p->get<std::string>(), {.add_special = true, .parse_special = true});
    return std::nullopt;
  }
  if (p->is_array()) {
    for (const json& t : *p) {
      if (!t.is_number_integer()) {
        return ApiError::invalid(fmt::format("'{}' must be a string or an array of token ids (one prompt; "
                                             "several prompts in one request are not supported)",
                                             key),
                                 key, "invalid_type");
      }
      const auto id = t.get<int64_t>();
      if (id < 0 || id >= n_vocab) {
        return ApiError::invalid(fmt::format("prompt token {} is outside the vocabulary [0, {})", id, n_vocab), key);
      }
      out.push_back(static_cast<int32_t>(id));
    }
    return std::nullopt;
  }
  return wrong_type(key, "a string or an array of token ids", *p);
}

}  // namespace tessera::server

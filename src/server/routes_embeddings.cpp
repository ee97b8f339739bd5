// POST /v1/embeddings (and /embeddings): OpenAI's request and response shapes around Embedder.
//   {"input": "text" | ["text", ...] | [id, ...] | [[id, ...], ...], "encoding_format": "float" | "base64"}
//   -> {"object": "list", "data": [{"object": "embedding", "index", "embedding"}], "model",
//       "usage": {"prompt_tokens", "total_tokens"}}
#include <fmt/format.h>

#include <cstring>

#include "server/connection_watch.h"
#include "server/routes.h"

namespace tessera::server {
namespace {

using nlohmann::json;

// Standard base64 (RFC 4648, padded) of raw bytes: how OpenAI sends "base64" embeddings, the
// little-endian float32 array (the openai Python client asks for it by default).
std::string base64(const unsigned char* data, size_t n) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  for (size_t i = 0; i < n; i += 3) {
    const uint32_t b =
        static_cast<uint32_t>(data[i]) << 16 | (i + 1 < n ? data[i + 1] << 8 : 0) | (i + 2 < n ? data[i + 2] : 0);
    out += kAlphabet[b >> 18 & 63];
    out += kAlphabet[b >> 12 & 63];
    out += i + 1 < n ? kAlphabet[b >> 6 & 63] : '=';
    out += i + 2 < n ? kAlphabet[b & 63] : '=';
  }
  return out;
}

// One token-id array of the request, checked against the vocabulary.
std::optional<ApiError> token_ids(const json& ids, int64_t n_vocab, std::vector<int32_t>& out) {
  for (const json& id : ids) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= n_vocab) {
      return ApiError::invalid(fmt::format("'input' token {} is not a token id in [0, {})", id.dump(), n_vocab),
                               "input");
    }
    out.push_back(id.get<int32_t>());
  }
  return std::nullopt;
}

// "input" as token lists: a string, an array of strings, a token-id array or an array of those.
std::optional<ApiError> parse_inputs(const json& input, const LoadedModel& m, std::vector<std::vector<int32_t>>& out) {
  const int64_t n_vocab = m.model->hparams().n_vocab;
  const auto empty = [] { return ApiError::invalid("'input' must not be empty", "input", "empty_input"); };
  if (input.is_string()) {
    if (input.get<std::string>().empty()) return empty();
    out.push_back(m.tokenizer->tokenize(input.get<std::string>(), {.add_special = true, .parse_special = true}));
    return std::nullopt;
  }
  if (!input.is_array()) {
    return ApiError::invalid("'input' must be a string, an array of strings or an array of token ids", "input",
                             "invalid_type");
  }
  if (input.empty()) return empty();
  if (input[0].is_number()) {
    out.emplace_back();
    return token_ids(input, n_vocab, out.back());
  }
  for (const json& item : input) {
    if (item.is_string()) {
      if (item.get<std::string>().empty()) return empty();
      out.push_back(m.tokenizer->tokenize(item.get<std::string>(), {.add_special = true, .parse_special = true}));
    } else if (item.is_array()) {
      if (item.empty()) return empty();
      out.emplace_back();
      if (auto e = token_ids(item, n_vocab, out.back())) return e;
    } else {
      return ApiError::invalid("each 'input' item must be a string or an array of token ids", "input", "invalid_type");
    }
  }
  return std::nullopt;
}

}  // namespace

void route::embeddings(Service& service, const httplib::Request& req, httplib::Response& res) {
  LoadedModel* m = route::ready_model(service, res);
  if (!m) return;
  std::optional<json> body = route::json_body(req, res);
  if (!body) return;
  if (!body->contains("input")) return send_error(res, ApiError::invalid("'input' is required", "input", "missing"));
  const json format = body->value("encoding_format", json("float"));
  if (!format.is_string() || (format != "float" && format != "base64")) {
    return send_error(res, ApiError::invalid("'encoding_format' must be \"float\" or \"base64\"", "encoding_format"));
  }
  std::vector<std::vector<int32_t>> inputs;
  if (auto e = parse_inputs((*body)["input"], *m, inputs)) return send_error(res, *e);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (static_cast<int64_t>(inputs[i].size()) > m->embedder->n_ctx()) {
      return send_error(res, ApiError::invalid(fmt::format("input {} has {} tokens, more than the context of {}", i,
                                                           inputs[i].size(), m->embedder->n_ctx()),
                                               "input", "context_length_exceeded"));
    }
  }
  json data = json::array();
  size_t n_tokens = 0;
  // Many inputs take a while (one forward pass each, under the embedder's lock): stop at the
  // next input when the client has gone, so other embedding requests do not wait for nothing.
  const ConnectionWatch watch = ConnectionWatch::of(req);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (i > 0 && watch.closed()) {
      return send_error(res, ApiError::client_closed());
    }
    Result<std::vector<float>> v = m->embedder->embed(inputs[i]);
    if (!v) return send_error(res, ApiError::internal(fmt::format("input {}: {}", i, v.error())));
    n_tokens += inputs[i].size();
    json embedding;
    if (format == "base64") {
      embedding = base64(reinterpret_cast<const unsigned char*>(v->data()), v->size() * sizeof(float));
    } else {
      embedding = *v;
    }
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", std::move(embedding)}});
  }
  send_json(res, {{"object", "list"},
                  {"data", std::move(data)},
                  {"model", m->model_id},
                  {"usage", {{"prompt_tokens", n_tokens}, {"total_tokens", n_tokens}}}});
}

}  // namespace tessera::server

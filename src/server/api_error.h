// An error as the OpenAI API reports it: an HTTP status plus
// {"error": {"message": ..., "type": ..., "code": ...}}. Every failing route answers with one.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace tessera::server {

struct ApiError {
  int status = 400;
  std::string type = "invalid_request_error";  // invalid_request_error, authentication_error, server_error, ...
  std::string message;
  std::string code;   // machine-readable, e.g. "context_length_exceeded"; empty: JSON null
  std::string param;  // the request field at fault; empty: JSON null

  nlohmann::json to_json() const {
    nlohmann::json error = {{"message", message}, {"type", type}};
    error["code"] = code.empty() ? nlohmann::json(nullptr) : nlohmann::json(code);
    error["param"] = param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param);
    return {{"error", std::move(error)}};
  }

  static ApiError invalid(std::string message, std::string param = {}, std::string code = "invalid_value") {
    return ApiError{400, "invalid_request_error", std::move(message), std::move(code), std::move(param)};
  }
  static ApiError unavailable(std::string message) {
    return ApiError{503, "unavailable_error", std::move(message), "service_unavailable", {}};
  }
  static ApiError internal(std::string message) {
    return ApiError{500, "server_error", std::move(message), "internal_error", {}};
  }
  static ApiError not_found(std::string message) {
    return ApiError{404, "invalid_request_error", std::move(message), "not_found", {}};
  }
  // The client closed its connection before the answer (nginx's 499: only the access log sees it).
  static ApiError client_closed() {
    return ApiError{499, "invalid_request_error", "the client closed the connection", "client_closed", {}};
  }
  static ApiError not_implemented(std::string message) {
    return ApiError{501, "not_implemented_error", std::move(message), "not_implemented", {}};
  }
};

}  // namespace tessera::server

#include "server/http_transport.h"

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>

#include "server/generation_response.h"
#include "server/routes.h"

namespace tessera::server {
namespace {

using Clock = std::chrono::steady_clock;

bool is_public_path(const std::string& path) {
  return path == "/health" || path == "/v1/health";
}

ApiError transport_error(int status) {
  switch (status) {
    case 404: return ApiError::not_found("no such endpoint");
    case 405: return ApiError{405, "invalid_request_error", "method not allowed for this endpoint", "", ""};
    case 413:
      return ApiError{413, "invalid_request_error",
                      "the request body exceeds the server's size limit (--max-body-bytes)", "request_too_large", ""};
    case 400: return ApiError::invalid("malformed HTTP request", "", "bad_request");
    default:
      return ApiError{status, status >= 500 ? "server_error" : "invalid_request_error",
                      fmt::format("HTTP error {}", status), "", ""};
  }
}

}  // namespace

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Walks the expected value's length whatever `a` holds, so the time reveals neither the
  // position of the first difference nor (beyond the key's own length) anything about `a`.
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  for (size_t i = 0; i < b.size(); ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0u;
    diff |= x ^ static_cast<unsigned char>(b[i]);
  }
  return diff == 0;
}

HttpServer::HttpServer(HttpOptions options, Service& service)
    : options_(std::move(options)), service_(service), http_(std::make_unique<httplib::Server>()) {
  httplib::Server& http = *http_;
  const size_t threads = options_.threads_http > 0 ? static_cast<size_t>(options_.threads_http) : 80;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_read_timeout(options_.timeout_s);
  http.set_write_timeout(options_.timeout_s);
  http.set_payload_max_length(options_.max_body_bytes);
  http.set_keep_alive_timeout(5);

  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard lock(started_mutex_);
      started_[&req] = Clock::now();
    }
    service_.counters.requests.fetch_add(1);
    const std::string origin = req.get_header_value("Origin");
    const auto& allowed = options_.cors_origins;
    if (!origin.empty() && (std::find(allowed.begin(), allowed.end(), "*") != allowed.end() ||
                            std::find(allowed.begin(), allowed.end(), origin) != allowed.end())) {
      res.set_header("Access-Control-Allow-Origin", origin);
      res.set_header("Vary", "Origin");
      if (req.method == "OPTIONS") {
        res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
        res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Api-Key");
        res.set_header("Access-Control-Max-Age", "600");
        res.status = 204;
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    if (!is_public_path(req.path) && !authorized(req)) {
      send_error(res, ApiError{401, "authentication_error", "invalid or missing API key (Authorization: Bearer KEY)",
                               "invalid_api_key", ""});
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  register_openai_routes(http, service_);
  register_native_routes(http, service_);
  http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, transport_error(res.status));
    return httplib::Server::HandlerResponse::Handled;
  }));
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_error(res, ApiError::internal(fmt::format("internal error: {}", what)));
  });
  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    log_request(req, res.status, res.body.size());
  });
}

HttpServer::~HttpServer() = default;

bool HttpServer::authorized(const httplib::Request& req) const {
  if (options_.api_key.empty()) return true;
  std::string given = req.get_header_value("Authorization");
  static constexpr std::string_view kBearer = "Bearer ";
  if (given.compare(0, kBearer.size(), kBearer) == 0) {
    given.erase(0, kBearer.size());
  } else {
    given = req.get_header_value("X-Api-Key");
  }
  return constant_time_equal(given, options_.api_key);
}

void HttpServer::log_request(const httplib::Request& req, int status, size_t response_bytes) {
  double ms = 0.0;
  {
    std::lock_guard lock(started_mutex_);
    if (auto it = started_.find(&req); it != started_.end()) {
      ms = std::chrono::duration<double, std::milli>(Clock::now() - it->second).count();
      started_.erase(it);
    }
  }
  if (status >= 500) {
    service_.counters.server_errors.fetch_add(1);
  } else if (status >= 400) {
    service_.counters.client_errors.fetch_add(1);
  }
  // One JSON object per line: easy to grep and to feed to log tools. Paths are escaped by dump.
  const nlohmann::json line = {{"event", "request"},
                               {"remote", req.remote_addr},
                               {"method", req.method},
                               {"path", req.path},
                               {"status", status},
                               {"ms", std::round(ms * 10) / 10},
                               {"request_bytes", req.body.size()},
                               {"response_bytes", response_bytes}};
  fmt::print(stderr, "{}\n", dump_json(line));
}

Status HttpServer::bind() {
  if (options_.port == 0) {
    port_ = http_->bind_to_any_port(options_.host);
    if (port_ <= 0) return Status::error(fmt::format("cannot listen on {} (any port)", options_.host));
  } else {
    if (!http_->bind_to_port(options_.host, options_.port)) {
      return Status::error(fmt::format("cannot listen on {}:{} (address in use, or not an address of this machine)",
                                       options_.host, options_.port));
    }
    port_ = options_.port;
  }
  return Status();
}

void HttpServer::run() {
  http_->listen_after_bind();
}

void HttpServer::stop() {
  http_->stop();
}

}  // namespace tessera::server

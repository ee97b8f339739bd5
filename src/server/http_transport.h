// The HTTP side of `tessera serve`: cpp-httplib's server with the operational policy around the
// routes — Bearer API key (constant-time compare; /health stays public), CORS, read/write
// timeouts, a bounded HTTP thread pool, a request body size limit, OpenAI-shaped bodies for
// transport errors (404, 413, ...) and one structured access-log line per request on stderr.
//
// Thread-safety: bind() and run() from one thread; stop() from any thread (e.g. a signal waiter).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/service.h"
#include "tessera/status.h"

namespace httplib {
class Server;
struct Request;
}  // namespace httplib

namespace tessera::server {

struct HttpOptions {
  std::string host = "127.0.0.1";         // --host
  int port = 8080;                        // --port; 0: any free port (see HttpServer::port())
  std::string api_key;                    // --api-key; empty: no authentication
  std::vector<std::string> cors_origins;  // --cors-origins; "*" allows any; empty: no CORS headers
  int timeout_s = 600;                    // -to/--timeout: read and write timeout per request
  int threads_http = 0;                   // --threads-http; 0: enough for every slot and queued request
  size_t max_body_bytes = 8u << 20;       // --max-body-bytes
};

class HttpServer {
 public:
  HttpServer(HttpOptions options, Service& service);
  ~HttpServer();

  // Binds the listening socket; fails with a message naming host and port.
  Status bind();
  // Serves until stop(); returns once the listener and every handler thread have finished.
  void run();
  void stop();
  int port() const { return port_; }

 private:
  bool authorized(const httplib::Request& req) const;
  void log_request(const httplib::Request& req, int status, size_t response_bytes);

  HttpOptions options_;
  Service& service_;
  std::unique_ptr<httplib::Server> http_;
  int port_ = 0;
  std::mutex started_mutex_;  // guards started_
  std::unordered_map<const httplib::Request*, std::chrono::steady_clock::time_point> started_;
};

// Equal strings, in time that depends only on the lengths (no early exit on the first difference).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace tessera::server

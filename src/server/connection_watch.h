// Notices that the client of a request has gone away while its handler is still busy (a
// non-streaming generation): cpp-httplib 0.11 gives a handler neither its socket nor a
// disconnect signal, so the watch finds the connection's socket itself, once per request, and
// then peeks at it.
//
// Finding the socket: the handler's thread keeps the connection open until it returns, and a
// live TCP connection is identified by its (peer address, peer port, local port). The watch scans
// the process's open descriptors (/proc/self/fd) for the socket whose getpeername/getsockname
// match the request's remote_addr, remote_port and local_port. No descriptor is ever written to
// or closed.
//
// Peer gone: as newer cpp-httplib's is_connection_closed does, a socket that is readable and
// whose recv(MSG_PEEK) returns 0 (orderly close or shutdown of the peer's sending side) or fails,
// or that reports POLLHUP / POLLERR, counts as closed; unread bytes (a next request) do not.
//
// Thread-safety: one watch per handler thread; closed() only reads the descriptor.
#pragma once

#include <string>

namespace httplib {
struct Request;
}

namespace tessera::server {

class ConnectionWatch {
 public:
  // The watch for `req`'s connection; when the socket cannot be found (not Linux, an address
  // format that does not match), closed() always answers false.
  static ConnectionWatch of(const httplib::Request& req);
  // The socket of the connection from `peer_addr`:`peer_port` to local port `local_port`, or -1.
  static int find_socket(const std::string& peer_addr, int peer_port, int local_port);

  bool found() const { return fd_ >= 0; }
  // True once the peer has closed the connection (or it failed).
  bool closed() const;

 private:
  explicit ConnectionWatch(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace tessera::server

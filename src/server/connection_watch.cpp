#include "server/connection_watch.h"

#include <dirent.h>
#include <httplib.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>

namespace tessera::server {
namespace {

// The numeric host and port of an address, spelled as cpp-httplib spells Request::remote_addr
// (getnameinfo with NI_NUMERICHOST).
bool numeric_name(const sockaddr_storage& addr, socklen_t len, std::string& host, int& port) {
  char host_buf[NI_MAXHOST];
  char port_buf[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host_buf, sizeof(host_buf), port_buf, sizeof(port_buf),
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return false;
  }
  host = host_buf;
  const std::string_view p(port_buf);
  return std::from_chars(p.data(), p.data() + p.size(), port).ec == std::errc();
}

bool matches(int fd, const std::string& peer_addr, int peer_port, int local_port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return false;  // not a connected socket
  if (addr.ss_family != AF_INET && addr.ss_family != AF_INET6) return false;
  std::string host;
  int port = -1;
  if (!numeric_name(addr, len, host, port) || port != peer_port || host != peer_addr) return false;
  if (local_port < 0) return true;
  len = sizeof(addr);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return false;
  return numeric_name(addr, len, host, port) && port == local_port;
}

}  // namespace

int ConnectionWatch::find_socket(const std::string& peer_addr, int peer_port, int local_port) {
  if (peer_addr.empty() || peer_port < 0) return -1;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int found = -1;
  while (const dirent* entry = readdir(dir)) {
    const std::string_view name(entry->d_name);
    int fd = -1;
    if (std::from_chars(name.data(), name.data() + name.size(), fd).ec != std::errc() || fd == dirfd(dir)) continue;
    if (matches(fd, peer_addr, peer_port, local_port)) {
      found = fd;
      break;
    }
  }
  closedir(dir);
  return found;
}

ConnectionWatch ConnectionWatch::of(const httplib::Request& req) {
  return ConnectionWatch(find_socket(req.remote_addr, req.remote_port, req.local_port));
}

bool ConnectionWatch::closed() const {
  if (fd_ < 0) return false;
  pollfd p{fd_, POLLIN | POLLRDHUP, 0};
  const int ready = poll(&p, 1, 0);
  if (ready == 0) return false;  // nothing to read, no hang-up: the client is waiting
  if (ready < 0) return errno == EBADF;
  if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) return true;
  char byte = 0;
  const ssize_t n = recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return false;  // the next pipelined request: still there
  if (n == 0) return true;  // orderly close
  return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

}  // namespace tessera::server

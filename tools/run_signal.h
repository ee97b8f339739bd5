// Ctrl-C during `tessera run`: the first SIGINT asks generation to stop (it finishes the token
// in flight, prints the timings and exits cleanly); a second one kills the process as usual.
//
// The handler can only set a flag; that one sig_atomic_t is the only mutable global of the
// tools, and it lives here.
#pragma once

#include <csignal>

namespace tessera::tools {

class InterruptGuard {
 public:
  InterruptGuard();   // installs the handler and clears the flag
  ~InterruptGuard();  // restores the previous handler
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

  static bool interrupted();
  static void clear();

 private:
  struct sigaction previous_ = {};
};

}  // namespace tessera::tools

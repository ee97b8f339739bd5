#include "tessera/check.h"

#include <cstdio>
#include <cstdlib>

namespace tessera::detail {

void check_failed(const char* file, int line, const char* condition, const char* message) {
  std::fprintf(stderr, "tessera: internal error at %s:%d: check '%s' failed: %s\n", file, line, condition, message);
  std::abort();
}

}  // namespace tessera::detail

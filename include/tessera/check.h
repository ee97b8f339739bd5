// Always-on invariant checks. A failed check is a bug in Tessera, not bad input: bad input is
// reported through Status/Result instead. The check prints file:line and aborts.
#pragma once

namespace tessera::detail {
[[noreturn]] void check_failed(const char* file, int line, const char* condition, const char* message);
}  // namespace tessera::detail

#define TESSERA_CHECK(condition, message)                                         \
  do {                                                                            \
    if (!(condition)) {                                                           \
      ::tessera::detail::check_failed(__FILE__, __LINE__, #condition, (message)); \
    }                                                                             \
  } while (0)

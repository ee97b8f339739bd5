// The error the Jinja engine raises internally. It never leaves src/chat: Template::parse and
// Template::render catch it and return a Status naming the line and column.
#pragma once

#include <string>
#include <utility>

namespace tessera::chat::jinja {

struct SourcePos {
  int line = 0;    // 1-based; 0 = unknown
  int column = 0;  // 1-based
};

struct JinjaError {
  std::string message;
  SourcePos pos;
};

[[noreturn]] inline void fail(std::string message, SourcePos pos = {}) {
  throw JinjaError{std::move(message), pos};
}

}  // namespace tessera::chat::jinja

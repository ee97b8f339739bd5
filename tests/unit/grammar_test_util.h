// Helpers for the grammar tests: compile GBNF text and run strings through a matcher.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

#include "grammar/grammar.h"
#include "grammar/matcher.h"

namespace tessera::grammar::testing {

inline std::shared_ptr<const Grammar> compile(std::string_view text) {
  Result<Grammar> g = parse_gbnf(text);
  EXPECT_TRUE(g.ok()) << (g.ok() ? "" : g.error()) << "\n" << text;
  if (!g.ok()) return nullptr;
  return std::make_shared<const Grammar>(std::move(*g));
}

// True when `text` (UTF-8 bytes) is a complete sentence of the grammar.
inline bool accepts(Matcher& m, std::string_view text) {
  ByteState s = m.step_bytes({m.initial(), 0, 0, 0}, text);
  return !s.dead() && s.need == 0 && m.can_end(s.state);
}

// True when `text` can be extended to a sentence (a live prefix).
inline bool is_prefix(Matcher& m, std::string_view text) {
  return !m.step_bytes({m.initial(), 0, 0, 0}, text).dead();
}

}  // namespace tessera::grammar::testing

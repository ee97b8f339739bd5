// libFuzzer target: GBNF text -> parser, then (when it compiles) a short random walk and a byte
// walk through the matcher, and the input as a JSON schema. Any crash, sanitizer report or
// invariant failure is a bug: bad grammars and schemas must come back as errors.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "grammar/grammar.h"
#include "grammar/json_schema.h"
#include "grammar/matcher.h"
#include "grammar/random_walk.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  tessera::Result<tessera::grammar::Grammar> g = tessera::grammar::parse_gbnf(text);
  if (g.ok()) {
    tessera::grammar::Matcher m(std::make_shared<const tessera::grammar::Grammar>(std::move(*g)));
    tessera::grammar::RandomWalkOptions options;
    options.max_length = 256;
    (void)tessera::grammar::random_sentence(m, options);
    tessera::grammar::ByteState s{m.initial(), 0, 0, 0};
    (void)m.step_bytes(s, text.substr(0, 64));
  }
  (void)tessera::grammar::json_schema_to_gbnf(text);
  return 0;
}

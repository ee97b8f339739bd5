// Random sentences of a grammar, drawn by walking the matcher one code point at a time: the
// cheap way to test that everything a grammar allows is valid (e.g. that every sentence of a
// JSON-schema grammar validates), with no model involved.
//
// Each step picks one of the allowed character ranges uniformly, then a code point in it (mostly
// printable ASCII where the range has some). Past `soft_length` the walk heads for the end: it
// stops as soon as the output is complete and takes the characters with the shortest completion.
#pragma once

#include <cstdint>
#include <string>

#include "grammar/matcher.h"
#include "tessera/status.h"

namespace tessera::grammar {

struct RandomWalkOptions {
  uint64_t seed = 0;
  size_t soft_length = 64;        // code points before heading for the end
  size_t max_length = 20000;      // give up (an error) beyond this
  double stop_probability = 0.3;  // chance to stop at each complete position before soft_length
};

// A random sentence; fails if the walk reaches a dead end or max_length (grammars that can only
// continue with token references, or that never complete).
Result<std::string> random_sentence(Matcher& matcher, const RandomWalkOptions& options);

}  // namespace tessera::grammar

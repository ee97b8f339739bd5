#include "grammar/random_walk.h"

#include <fmt/format.h>

#include <random>

#include "grammar/utf8.h"

namespace tessera::grammar {
namespace {

uint32_t pick_in_range(CodeRange r, std::mt19937_64& rng) {
  const uint32_t a = std::max(r.first, 0x20u), b = std::min(r.last, 0x7Eu);
  std::uniform_real_distribution<double> coin(0, 1);
  if (a <= b && coin(rng) < 0.9) return std::uniform_int_distribution<uint32_t>(a, b)(rng);
  for (int tries = 0; tries < 16; ++tries) {
    const uint32_t cp = std::uniform_int_distribution<uint32_t>(r.first, std::min(r.last, 0x2FFFFu))(rng);
    if (cp < 0xD800 || cp > 0xDFFF) return cp;
  }
  return r.first < 0xD800 ? r.first : r.last;
}

}  // namespace

Result<std::string> random_sentence(Matcher& matcher, const RandomWalkOptions& options) {
  std::mt19937_64 rng(options.seed);
  std::uniform_real_distribution<double> coin(0, 1);
  StateId state = matcher.initial();
  std::string out;
  for (size_t step = 0; step < options.max_length; ++step) {
    const bool late = step >= options.soft_length;
    if (matcher.can_end(state) && (matcher.only_end(state) || late || coin(rng) < options.stop_probability)) {
      return out;
    }
    const std::vector<CodeRange> ranges = matcher.next_chars(state);  // copy: advancing may grow the tables
    std::vector<std::pair<uint32_t, StateId>> options_here;
    for (CodeRange r : ranges) {
      if (r.first >= 0xD800 && r.last <= 0xDFFF) continue;
      const uint32_t cp = pick_in_range(r, rng);
      const StateId next = matcher.advance(state, cp);
      if (next != kDeadState) options_here.emplace_back(cp, next);
    }
    if (options_here.empty()) {
      return Status::error(fmt::format("random walk: dead end after {} characters: '{}'", step, out));
    }
    size_t choice = std::uniform_int_distribution<size_t>(0, options_here.size() - 1)(rng);
    if (late) {  // head for the end: the option with the shortest completion
      size_t best = SIZE_MAX;
      for (size_t i = 0; i < options_here.size(); ++i) {
        const size_t score = matcher.distance_to_end(options_here[i].second);
        if (score < best || (score == best && coin(rng) < 0.5)) {
          best = score;
          choice = i;
        }
      }
    }
    append_utf8(out, options_here[choice].first);
    state = options_here[choice].second;
  }
  return Status::error(fmt::format("random walk: no complete sentence within {} characters", options.max_length));
}

}  // namespace tessera::grammar

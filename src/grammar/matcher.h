// Runs a compiled Grammar over code points (or UTF-8 bytes) as a lazily built automaton.
//
// A parse position is a stack of grammar positions (llama.cpp's model): the top points at a
// terminal (a character class or a token reference), the entries below are where to return
// after each enclosing rule. Stacks are hash-consed into a tree of nodes, and a matcher State is
// the interned, sorted set of stack tops that are alive. So a State is a small integer, equal
// states are equal integers, and the transition State x code point -> State is memoised (an
// array for ASCII, a hash map above): once the grammar's reachable states have been seen, a step
// costs one array load. That is what makes vocabulary masks fast (see token_mask.h).
//
// A rule reference in tail position does not grow the stack (x* -> r ::= x r | runs in constant
// depth), so repetitions and right-recursive lists revisit the same states.
//
// Ownership: a Matcher holds its caches and shares the Grammar. Not thread-safe: one per
// generation stream (clone the constraint, not the matcher).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "grammar/grammar.h"

namespace tessera::grammar {

using StateId = uint32_t;
constexpr StateId kDeadState = UINT32_MAX;

// A matcher state between bytes: the code point being decoded when a token ended inside a
// UTF-8 character.
struct ByteState {
  StateId state = kDeadState;
  uint32_t partial = 0;  // code point bits read so far
  uint8_t need = 0;      // continuation bytes still expected (0: at a character boundary)
  uint8_t length = 0;    // length of the character being read

  bool dead() const { return state == kDeadState; }
  bool operator==(const ByteState&) const = default;
};

class Matcher {
 public:
  explicit Matcher(std::shared_ptr<const Grammar> grammar);

  const Grammar& grammar() const { return *grammar_; }
  StateId initial() const { return initial_; }

  // The state after code point `cp`, or kDeadState when the grammar does not allow it.
  StateId advance(StateId s, uint32_t cp) {
    if (cp < 128) {
      State& st = states_[s];
      if (!st.ascii) {
        st.ascii = std::make_unique<std::array<StateId, 128>>();
        st.ascii->fill(kUnknown);
      }
      StateId& next = (*st.ascii)[cp];
      if (next == kUnknown) next = compute_advance(s, cp);
      return next;
    }
    return advance_slow(s, cp);
  }

  // The state after one byte of UTF-8 (dead when the byte cannot continue the output validly).
  ByteState step_byte(ByteState b, uint8_t byte);
  ByteState step_bytes(ByteState b, std::string_view bytes) {
    for (char c : bytes) {
      if (b.dead()) break;
      b = step_byte(b, static_cast<uint8_t>(c));
    }
    return b;
  }

  // The state after the whole token `token` through the grammar's token references, whose ids
  // are `ref_ids` (one per Grammar::tokens entry; -1 = not in the vocabulary).
  StateId advance_token(StateId s, int32_t token, std::span<const int32_t> ref_ids);
  // The union of two states (both readings of an ambiguous token).
  StateId merge(StateId a, StateId b);
  // Token references at the top of the stacks of `s` (indices into Grammar::tokens).
  const std::vector<uint32_t>& token_tops(StateId s) {
    ensure_summary(s);
    return states_[s].token_tops;
  }

  // True when the output so far is a complete sentence of the grammar.
  bool can_end(StateId s) const { return states_[s].can_end; }
  // True when nothing can follow: the output is complete and cannot be extended.
  bool only_end(StateId s) const { return states_[s].can_end && states_[s].stacks.size() == 1; }
  // The code points that may come next (sorted, disjoint ranges).
  const std::vector<CodeRange>& next_chars(StateId s) {
    ensure_summary(s);
    return states_[s].next_chars;
  }
  bool allows_any_in(StateId s, uint32_t first, uint32_t last);
  // True when every text of up to `length` characters drawn from `ascii` (a 128-bit set) and, if
  // `non_ascii`, from all code points >= U+0080, is allowed from `s`, each character taking the
  // same path whatever it is (inside a JSON string, or a string of bounded length, say). The
  // mask walk then takes a whole trie subtree at once. `length` above kMaxRun: false.
  static constexpr size_t kMaxRun = 64;
  bool runs_over(StateId s, const uint64_t ascii[2], bool non_ascii, size_t length);
  // The fewest code points that complete the output from `s` (0: complete; SIZE_MAX: never).
  // Random walks follow it down to finish.
  size_t distance_to_end(StateId s) const;

  size_t state_count() const { return states_.size(); }

 private:
  static constexpr StateId kUnknown = UINT32_MAX - 1;
  static constexpr uint32_t kNoParent = UINT32_MAX;
  static constexpr uint32_t kAcceptNode = 0;  // the empty stack

  struct Node {
    uint32_t pos;     // top node: a terminal symbol; below: the return position
    uint32_t parent;  // kNoParent at the bottom
  };
  struct State {
    std::vector<uint32_t> stacks;  // sorted node ids
    bool can_end = false;
    bool summarized = false;
    std::vector<CodeRange> next_chars;
    std::vector<uint32_t> token_tops;
    std::unique_ptr<std::array<StateId, 128>> ascii;
    // Code points from U+0080 up, split where any top's class begins or ends: all code points
    // of one interval lead to the same state.
    bool intervals_built = false;
    std::vector<uint32_t> interval_start;  // sorted; the first is 0x80
    std::vector<StateId> interval_next;    // kUnknown until first used
    // The characters that all lead to one state `uniform_next` (the most common ASCII target),
    // and runs[j]: those that keep doing so for j + 1 steps (see runs_over).
    bool uniform_known = false;
    uint64_t uniform_ascii[2] = {0, 0};
    bool uniform_non_ascii = false;
    StateId uniform_next = kDeadState;
    std::unique_ptr<std::vector<std::array<uint64_t, 3>>> runs;  // [kMaxRun] ascii lo, hi, non-ascii
  };
  struct VectorHash {
    size_t operator()(const std::vector<uint32_t>& v) const {
      uint64_t h = 0xcbf29ce484222325ull;
      for (uint32_t x : v) h = (h ^ x) * 0x100000001b3ull;
      return static_cast<size_t>(h);
    }
  };

  uint32_t intern_node(uint32_t pos, uint32_t parent);
  StateId intern_state(std::vector<uint32_t>& stacks);  // sorts and dedups `stacks`
  void expand(uint32_t pos, uint32_t parent, std::vector<uint32_t>& out);
  StateId compute_advance(StateId s, uint32_t cp);
  StateId advance_slow(StateId s, uint32_t cp);
  void ensure_summary(StateId s);
  void ensure_intervals(StateId s);
  void ensure_uniform(StateId s);

  void compute_min_lengths();

  std::shared_ptr<const Grammar> grammar_;
  std::vector<uint32_t> rest_length_;  // [n_symbols] shortest input from this symbol to its alternative's end
  std::vector<Node> nodes_;
  std::unordered_map<uint64_t, uint32_t> node_ids_;
  std::vector<State> states_;
  std::unordered_map<std::vector<uint32_t>, StateId, VectorHash> state_ids_;
  StateId initial_ = kDeadState;
  // scratch for expand()
  std::vector<std::pair<uint32_t, uint32_t>> work_;
  std::vector<uint64_t> seen_;
  std::vector<uint32_t> scratch_;
};

}  // namespace tessera::grammar

#include "grammar/matcher.h"

#include <algorithm>

namespace tessera::grammar {
namespace {

bool class_contains(const std::vector<CodeRange>& ranges, uint32_t cp) {
  // Classes are short; a linear scan beats a binary search for the usual 1-4 ranges.
  for (const CodeRange& r : ranges) {
    if (cp < r.first) return false;
    if (cp <= r.last) return true;
  }
  return false;
}

}  // namespace

Matcher::Matcher(std::shared_ptr<const Grammar> grammar) : grammar_(std::move(grammar)) {
  compute_min_lengths();
  nodes_.push_back({0, kNoParent});  // kAcceptNode
  std::vector<uint32_t> start;
  for (uint32_t alt : grammar_->rules[grammar_->root]) expand(alt, kNoParent, start);
  initial_ = intern_state(start);
}

uint32_t Matcher::intern_node(uint32_t pos, uint32_t parent) {
  const uint64_t key = (static_cast<uint64_t>(pos) << 32) | parent;
  auto [it, inserted] = node_ids_.try_emplace(key, static_cast<uint32_t>(nodes_.size()));
  if (inserted) nodes_.push_back({pos, parent});
  return it->second;
}

StateId Matcher::intern_state(std::vector<uint32_t>& stacks) {
  std::sort(stacks.begin(), stacks.end());
  stacks.erase(std::unique(stacks.begin(), stacks.end()), stacks.end());
  if (stacks.empty()) return kDeadState;
  auto it = state_ids_.find(stacks);
  if (it != state_ids_.end()) return it->second;
  const StateId id = static_cast<StateId>(states_.size());
  State st;
  st.stacks = stacks;
  st.can_end = stacks.front() == kAcceptNode;
  states_.push_back(std::move(st));
  state_ids_.emplace(stacks, id);
  return id;
}

// Pushes onto `out` every stack top reachable from position `pos` (with return stack `parent`)
// without consuming input: rule references are entered, finished rules return to their caller.
// An explicit work list (no recursion) and a seen-set keep long or ambiguous grammars safe.
void Matcher::expand(uint32_t pos, uint32_t parent, std::vector<uint32_t>& out) {
  const std::vector<Symbol>& symbols = grammar_->symbols;
  work_.clear();
  seen_.clear();
  work_.emplace_back(pos, parent);
  while (!work_.empty()) {
    auto [p, par] = work_.back();
    work_.pop_back();
    const uint64_t key = (static_cast<uint64_t>(p) << 32) | par;
    if (std::find(seen_.begin(), seen_.end(), key) != seen_.end()) continue;
    seen_.push_back(key);
    const Symbol& s = symbols[p];
    switch (s.kind) {
      case SymbolKind::kEnd:
        if (par == kNoParent) {
          out.push_back(kAcceptNode);
        } else {
          work_.emplace_back(nodes_[par].pos, nodes_[par].parent);
        }
        break;
      case SymbolKind::kChars:
      case SymbolKind::kToken: out.push_back(intern_node(p, par)); break;
      case SymbolKind::kRule: {
        // Tail call: when the reference ends its alternative, return straight to our caller.
        const uint32_t cont = symbols[p + 1].kind == SymbolKind::kEnd ? par : intern_node(p + 1, par);
        for (uint32_t alt : grammar_->rules[s.arg]) work_.emplace_back(alt, cont);
        break;
      }
    }
  }
}

StateId Matcher::compute_advance(StateId s, uint32_t cp) {
  scratch_.clear();
  std::vector<uint32_t> next;
  for (uint32_t node : states_[s].stacks) {
    if (node == kAcceptNode) continue;
    const Node n = nodes_[node];
    const Symbol& sym = grammar_->symbols[n.pos];
    if (sym.kind == SymbolKind::kChars && class_contains(grammar_->classes[sym.arg], cp)) {
      expand(n.pos + 1, n.parent, next);
    }
  }
  return intern_state(next);
}

void Matcher::ensure_intervals(StateId s) {
  if (states_[s].intervals_built) return;
  std::vector<uint32_t> starts = {0x80};
  for (uint32_t node : states_[s].stacks) {
    if (node == kAcceptNode) continue;
    const Symbol& sym = grammar_->symbols[nodes_[node].pos];
    if (sym.kind != SymbolKind::kChars) continue;
    for (const CodeRange& r : grammar_->classes[sym.arg]) {
      if (r.first > 0x80) starts.push_back(r.first);
      if (r.last + 1 > 0x80 && r.last < kMaxCodePoint) starts.push_back(r.last + 1);
    }
  }
  std::sort(starts.begin(), starts.end());
  starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
  State& st = states_[s];
  st.interval_next.assign(starts.size(), kUnknown);
  st.interval_start = std::move(starts);
  st.intervals_built = true;
}

StateId Matcher::advance_slow(StateId s, uint32_t cp) {
  ensure_intervals(s);
  const std::vector<uint32_t>& starts = states_[s].interval_start;
  const size_t k = static_cast<size_t>(std::upper_bound(starts.begin(), starts.end(), cp) - starts.begin()) - 1;
  if (states_[s].interval_next[k] == kUnknown) {
    const StateId next = compute_advance(s, cp);
    states_[s].interval_next[k] = next;  // states_ may have grown: index again
  }
  return states_[s].interval_next[k];
}

void Matcher::ensure_uniform(StateId s) {
  if (states_[s].uniform_known) return;
  StateId targets[128];
  std::vector<std::pair<StateId, int>> counts;
  for (uint32_t c = 0; c < 128; ++c) {
    targets[c] = advance(s, c);
    if (targets[c] == kDeadState) continue;
    auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& p) { return p.first == targets[c]; });
    if (it == counts.end()) {
      counts.emplace_back(targets[c], 1);
    } else {
      ++it->second;
    }
  }
  StateId best = kDeadState;
  int best_count = 0;
  for (const auto& [t, n] : counts) {
    if (n > best_count) best = t, best_count = n;
  }
  uint64_t ascii[2] = {0, 0};
  for (uint32_t c = 0; c < 128; ++c) {
    if (best != kDeadState && targets[c] == best) ascii[c >> 6] |= uint64_t{1} << (c & 63);
  }
  ensure_intervals(s);
  bool non_ascii = best != kDeadState;
  for (size_t k = 0; k < states_[s].interval_start.size() && non_ascii; ++k) {
    non_ascii = advance_slow(s, states_[s].interval_start[k]) == best;
  }
  State& st = states_[s];
  st.uniform_ascii[0] = ascii[0];
  st.uniform_ascii[1] = ascii[1];
  st.uniform_non_ascii = non_ascii;
  st.uniform_next = best;
  st.uniform_known = true;
}

bool Matcher::runs_over(StateId s, const uint64_t ascii[2], bool non_ascii, size_t length) {
  if (length == 0) return true;
  if (length > kMaxRun) return false;
  if (!states_[s].runs) {
    auto runs = std::make_unique<std::vector<std::array<uint64_t, 3>>>(kMaxRun, std::array<uint64_t, 3>{0, 0, 0});
    std::array<uint64_t, 3> acc = {~uint64_t{0}, ~uint64_t{0}, 1};
    StateId cur = s;
    for (size_t j = 0; j < kMaxRun && cur != kDeadState; ++j) {
      ensure_uniform(cur);
      const State& st = states_[cur];
      acc = {acc[0] & st.uniform_ascii[0], acc[1] & st.uniform_ascii[1], acc[2] & uint64_t{st.uniform_non_ascii}};
      (*runs)[j] = acc;
      if (acc[0] == 0 && acc[1] == 0 && acc[2] == 0) break;
      cur = st.uniform_next;
    }
    states_[s].runs = std::move(runs);
  }
  const std::array<uint64_t, 3>& r = (*states_[s].runs)[length - 1];
  return (ascii[0] & ~r[0]) == 0 && (ascii[1] & ~r[1]) == 0 && (!non_ascii || r[2]);
}

StateId Matcher::advance_token(StateId s, int32_t token, std::span<const int32_t> ref_ids) {
  std::vector<uint32_t> next;
  const std::vector<uint32_t> stacks = states_[s].stacks;  // copy: interning may grow states_
  for (uint32_t node : stacks) {
    if (node == kAcceptNode) continue;
    const Node n = nodes_[node];
    const Symbol& sym = grammar_->symbols[n.pos];
    if (sym.kind != SymbolKind::kToken) continue;
    const TokenRef& ref = grammar_->tokens[sym.arg];
    const int32_t id = sym.arg < ref_ids.size() ? ref_ids[sym.arg] : ref.id;
    if ((token == id) != ref.negated) expand(n.pos + 1, n.parent, next);
  }
  return intern_state(next);
}

StateId Matcher::merge(StateId a, StateId b) {
  std::vector<uint32_t> stacks = states_[a].stacks;
  stacks.insert(stacks.end(), states_[b].stacks.begin(), states_[b].stacks.end());
  return intern_state(stacks);
}

void Matcher::ensure_summary(StateId s) {
  State& st = states_[s];
  if (st.summarized) return;
  std::vector<CodeRange> ranges;
  for (uint32_t node : st.stacks) {
    if (node == kAcceptNode) continue;
    const Symbol& sym = grammar_->symbols[nodes_[node].pos];
    if (sym.kind == SymbolKind::kChars) {
      const auto& cls = grammar_->classes[sym.arg];
      ranges.insert(ranges.end(), cls.begin(), cls.end());
    } else {
      st.token_tops.push_back(sym.arg);
    }
  }
  std::sort(ranges.begin(), ranges.end(), [](CodeRange a, CodeRange b) { return a.first < b.first; });
  for (CodeRange r : ranges) {
    if (!st.next_chars.empty() && r.first <= st.next_chars.back().last + 1) {
      st.next_chars.back().last = std::max(st.next_chars.back().last, r.last);
    } else {
      st.next_chars.push_back(r);
    }
  }
  st.summarized = true;
}

bool Matcher::allows_any_in(StateId s, uint32_t first, uint32_t last) {
  const std::vector<CodeRange>& ranges = next_chars(s);
  auto it =
      std::lower_bound(ranges.begin(), ranges.end(), first, [](const CodeRange& r, uint32_t v) { return r.last < v; });
  return it != ranges.end() && it->first <= last;
}

ByteState Matcher::step_byte(ByteState b, uint8_t byte) {
  ByteState dead;
  if (b.need == 0) {
    if (byte < 0x80) return {advance(b.state, byte), 0, 0, 0};
    uint8_t length;
    uint32_t bits;
    if (byte >= 0xC2 && byte <= 0xDF) {
      length = 2, bits = byte & 0x1F;
    } else if (byte >= 0xE0 && byte <= 0xEF) {
      length = 3, bits = byte & 0x0F;
    } else if (byte >= 0xF0 && byte <= 0xF4) {
      length = 4, bits = byte & 0x07;
    } else {
      return dead;
    }
    b.partial = bits;
    b.length = length;
    b.need = static_cast<uint8_t>(length - 1);
  } else {
    if ((byte & 0xC0) != 0x80) return dead;
    b.partial = (b.partial << 6) | (byte & 0x3F);
    --b.need;
    if (b.need == 0) {
      const uint32_t cp = b.partial;
      const uint32_t min = b.length == 2 ? 0x80 : b.length == 3 ? 0x800 : 0x10000;
      if (cp < min || cp > kMaxCodePoint || (cp >= 0xD800 && cp <= 0xDFFF)) return dead;
      return {advance(b.state, cp), 0, 0, 0};
    }
  }
  // Inside a character: keep going only if some allowed code point starts with these bits.
  const uint32_t shift = 6u * b.need;
  const uint32_t shortest = b.length == 2 ? 0x80 : b.length == 3 ? 0x800 : 0x10000;  // no overlong forms
  const uint32_t first = std::max(b.partial << shift, shortest);
  const uint32_t last = first | ((1u << shift) - 1);
  if (!allows_any_in(b.state, first, std::min(last, kMaxCodePoint))) return dead;
  return b;
}

void Matcher::compute_min_lengths() {
  constexpr uint32_t kInf = UINT32_MAX / 4;
  const std::vector<Symbol>& symbols = grammar_->symbols;
  std::vector<uint32_t> rule_min(grammar_->rules.size(), kInf);
  rest_length_.assign(symbols.size(), kInf);
  // Bellman-Ford style: lengths only shrink, and each pass fixes at least one more rule.
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t r = 0; r < grammar_->rules.size(); ++r) {
      for (uint32_t start : grammar_->rules[r]) {
        size_t end = start;
        while (symbols[end].kind != SymbolKind::kEnd) ++end;
        uint32_t rest = 0;
        rest_length_[end] = 0;
        for (size_t p = end; p-- > start;) {
          const Symbol& sym = symbols[p];
          const uint32_t own = sym.kind == SymbolKind::kRule ? rule_min[sym.arg] : 1;
          rest = std::min(kInf, rest + own);
          rest_length_[p] = rest;
        }
        if (rest < rule_min[r]) {
          rule_min[r] = rest;
          changed = true;
        }
      }
    }
  }
}

size_t Matcher::distance_to_end(StateId s) const {
  size_t best = SIZE_MAX;
  for (uint32_t node : states_[s].stacks) {
    size_t total = 0;
    for (uint32_t n = node; n != kNoParent && n != kAcceptNode; n = nodes_[n].parent)
      total += rest_length_[nodes_[n].pos];
    best = std::min(best, total);
  }
  return best;
}

}  // namespace tessera::grammar

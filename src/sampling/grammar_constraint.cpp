#include "sampling/grammar_constraint.h"

#include <limits>

#include "tessera/check.h"

namespace tessera::sampling {

Result<std::unique_ptr<GrammarConstraint>> GrammarConstraint::create(
    std::shared_ptr<const grammar::Grammar> grammar, std::shared_ptr<const grammar::GrammarVocabulary> vocab) {
  Result<std::vector<int32_t>> ids = vocab->resolve(*grammar);
  if (!ids.ok()) return ids.status();
  return std::unique_ptr<GrammarConstraint>(
      new GrammarConstraint(std::move(grammar), std::move(vocab), std::move(*ids)));
}

GrammarConstraint::GrammarConstraint(std::shared_ptr<const grammar::Grammar> grammar,
                                     std::shared_ptr<const grammar::GrammarVocabulary> vocab,
                                     std::vector<int32_t> ref_ids)
    : grammar_(std::move(grammar)),
      vocab_(std::move(vocab)),
      ref_ids_(std::move(ref_ids)),
      matcher_(std::make_unique<grammar::Matcher>(grammar_)) {
  reset();
}

void GrammarConstraint::reset() {
  state_ = {matcher_->initial(), 0, 0, 0};
  finished_ = false;
  history_.clear();
}

bool GrammarConstraint::can_end() const {
  return !finished_ && state_.need == 0 && matcher_->can_end(state_.state);
}

bool GrammarConstraint::matches_token_ref(int32_t token) const {
  if (state_.need != 0) return false;
  for (uint32_t ref : matcher_->token_tops(state_.state)) {
    if ((ref_ids_[ref] == token) != grammar_->tokens[ref].negated && !vocab_->is_eog(token)) return true;
  }
  return false;
}

bool GrammarConstraint::allows(int32_t token) const {
  if (finished_ || token < 0 || static_cast<size_t>(token) >= vocab_->size()) return false;
  if (vocab_->is_eog(token)) return can_end();
  if (matches_token_ref(token)) return true;
  const std::string& piece = vocab_->piece(token);
  if (piece.empty()) return false;
  return !matcher_->step_bytes(state_, piece).dead();
}

const std::vector<uint64_t>& GrammarConstraint::mask() const {
  auto it = masks_.find(state_);
  if (it != masks_.end()) return it->second;
  if (masks_.size() >= kMaxCachedMasks) masks_.clear();
  std::vector<uint64_t>& m = masks_[state_];
  grammar::compute_token_mask(*matcher_, state_, *vocab_, ref_ids_, m);
  if (finished_) std::fill(m.begin(), m.end(), 0);
  return m;
}

void GrammarConstraint::apply(CandidateArray& candidates) const {
  if (finished_) {
    for (Candidate& c : candidates.data) c.logit = -std::numeric_limits<float>::infinity();
    return;
  }
  const std::vector<uint64_t>& m = mask();
  const size_t n = vocab_->size();
  for (Candidate& c : candidates.data) {
    const auto id = static_cast<size_t>(c.id);
    if (id >= n || !((m[id >> 6] >> (id & 63)) & 1)) c.logit = -std::numeric_limits<float>::infinity();
  }
}

void GrammarConstraint::accept(int32_t token) {
  TESSERA_CHECK(allows(token), "GrammarConstraint::accept: the token is not allowed by the grammar");
  history_.push_back(token);
  if (vocab_->is_eog(token)) {
    finished_ = true;
    return;
  }
  // A token may match both as bytes and through a token reference: keep both continuations
  // when they can be merged (both at a character boundary), else prefer the byte reading.
  const grammar::ByteState by_bytes = matcher_->step_bytes(state_, vocab_->piece(token));
  grammar::StateId by_ref = grammar::kDeadState;
  if (matches_token_ref(token)) by_ref = matcher_->advance_token(state_.state, token, ref_ids_);
  if (by_ref == grammar::kDeadState) {
    state_ = by_bytes;
  } else if (by_bytes.dead() || by_bytes.need != 0) {
    state_ = {by_ref, 0, 0, 0};
  } else {
    state_ = {matcher_->merge(by_bytes.state, by_ref), 0, 0, 0};
  }
}

bool GrammarConstraint::is_complete() const {
  return finished_ || (state_.need == 0 && matcher_->only_end(state_.state));
}

std::unique_ptr<Constraint> GrammarConstraint::clone() const {
  // Matcher state ids are private to a matcher: the copy gets its own and replays the tokens.
  auto copy = std::unique_ptr<GrammarConstraint>(new GrammarConstraint(grammar_, vocab_, ref_ids_));
  for (int32_t token : history_) copy->accept(token);
  return copy;
}

}  // namespace tessera::sampling

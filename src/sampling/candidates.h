// Operations on a CandidateArray that the stages share: filling it from logits, softmax,
// (partial) sorting, and finding a token in it.
//
// Order: "descending" means by logit, highest first, ties broken by the lower token id, so that
// results never depend on the sort algorithm.
#pragma once

#include <cstdint>
#include <span>

#include "sampling/stage.h"

namespace tessera::sampling {

// data = {(i, logits[i], 0)} for every i: the "indexed" layout, where data[id].id == id.
void fill_from_logits(CandidateArray& c, std::span<const float> logits);

// True when a candidate comes before another in descending order.
inline bool ranks_before(const Candidate& a, const Candidate& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

// p = softmax(logit) over the candidates, in place; the order is unchanged. -inf logits get p = 0.
void softmax(CandidateArray& c);

// Sorts descending (a no-op when already sorted).
void sort_descending(CandidateArray& c);

// Keeps the k first in descending order, sorted. O(n log k) for small k: a full sort is avoided.
void keep_top(CandidateArray& c, size_t k);

// Index of the candidate with the highest logit (first in descending order); -1 when empty.
int64_t argmax(const CandidateArray& c);

// Index of `token` in the array, or -1. O(1) in the indexed layout, else a scan.
int64_t find_token(const CandidateArray& c, int32_t token);

// Removes every candidate whose logit is -inf (keeps the order).
void drop_impossible(CandidateArray& c);

}  // namespace tessera::sampling

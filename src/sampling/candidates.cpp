#include "sampling/candidates.h"

#include <algorithm>
#include <cmath>

namespace tessera::sampling {

void fill_from_logits(CandidateArray& c, std::span<const float> logits) {
  c.data.resize(logits.size());
  Candidate* out = c.data.data();
  for (size_t i = 0; i < logits.size(); ++i) out[i] = Candidate{static_cast<int32_t>(i), logits[i], 0.0f};
  c.sorted = false;
  c.selected = -1;
}

void softmax(CandidateArray& c) {
  if (c.data.empty()) return;
  float max_logit = -INFINITY;
  for (const Candidate& x : c.data) max_logit = std::max(max_logit, x.logit);
  if (max_logit == -INFINITY) {
    // Nothing is possible: spread evenly rather than divide by zero (callers drop these first).
    for (Candidate& x : c.data) x.p = 1.0f / static_cast<float>(c.data.size());
    return;
  }
  double sum = 0.0;
  for (Candidate& x : c.data) {
    x.p = std::exp(x.logit - max_logit);
    sum += x.p;
  }
  const auto inv = static_cast<float>(1.0 / sum);
  for (Candidate& x : c.data) x.p *= inv;
}

void sort_descending(CandidateArray& c) {
  if (c.sorted) return;
  std::sort(c.data.begin(), c.data.end(), ranks_before);
  c.sorted = true;
}

void keep_top(CandidateArray& c, size_t k) {
  k = std::min(k, c.data.size());
  if (c.sorted) {
    c.data.resize(k);
    return;
  }
  if (k > 0 && k * 16 < c.data.size()) {
    // One pass with a heap of the k best so far (its front is the worst of them): most
    // candidates lose one comparison with the front and cost nothing more.
    std::vector<Candidate> heap(c.data.begin(), c.data.begin() + static_cast<std::ptrdiff_t>(k));
    std::make_heap(heap.begin(), heap.end(), ranks_before);
    for (size_t i = k; i < c.data.size(); ++i) {
      if (!ranks_before(c.data[i], heap.front())) continue;
      std::pop_heap(heap.begin(), heap.end(), ranks_before);
      heap.back() = c.data[i];
      std::push_heap(heap.begin(), heap.end(), ranks_before);
    }
    std::sort_heap(heap.begin(), heap.end(), ranks_before);
    c.data.assign(heap.begin(), heap.end());
  } else {
    std::partial_sort(c.data.begin(), c.data.begin() + static_cast<std::ptrdiff_t>(k), c.data.end(), ranks_before);
    c.data.resize(k);
  }
  c.sorted = true;
}

int64_t argmax(const CandidateArray& c) {
  if (c.data.empty()) return -1;
  if (c.sorted) return 0;
  size_t best = 0;
  for (size_t i = 1; i < c.data.size(); ++i) {
    if (ranks_before(c.data[i], c.data[best])) best = i;
  }
  return static_cast<int64_t>(best);
}

int64_t find_token(const CandidateArray& c, int32_t token) {
  if (token >= 0 && static_cast<size_t>(token) < c.data.size() && c.data[static_cast<size_t>(token)].id == token) {
    return token;
  }
  for (size_t i = 0; i < c.data.size(); ++i) {
    if (c.data[i].id == token) return static_cast<int64_t>(i);
  }
  return -1;
}

void drop_impossible(CandidateArray& c) {
  std::erase_if(c.data, [](const Candidate& x) { return x.logit == -INFINITY; });
}

}  // namespace tessera::sampling

#include "sampling/stages.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_set>

#include "sampling/candidates.h"

namespace tessera::sampling {
namespace {

// Calls fn(candidate, value) for each candidate whose token is a key of `by_token`. In the indexed
// layout (a full array straight from the logits) each key is found in O(1); keys not found there
// are looked up in one scan of the array.
template <class Map, class Fn>
void for_each_listed(CandidateArray& c, const Map& by_token, Fn fn) {
  std::unordered_set<int32_t> missing;
  for (const auto& [token, value] : by_token) {
    if (token >= 0 && static_cast<size_t>(token) < c.data.size() && c.data[static_cast<size_t>(token)].id == token) {
      fn(c.data[static_cast<size_t>(token)], value);
    } else {
      missing.insert(token);
    }
  }
  if (missing.empty()) return;
  for (Candidate& x : c.data) {
    if (!missing.contains(x.id)) continue;
    if (const auto it = by_token.find(x.id); it != by_token.end()) fn(x, it->second);
  }
}

}  // namespace

void LogitBiasStage::apply(CandidateArray& c) {
  if (biases_.empty()) return;
  std::unordered_map<int32_t, float> total;
  for (const LogitBias& b : biases_) total[b.token] += b.bias;
  for_each_listed(c, total, [](Candidate& x, float bias) { x.logit += bias; });
  c.sorted = false;
}

void PenaltiesStage::accept(int32_t token) {
  if (last_n_ == 0) return;
  window_.push_back(token);
  ++count_[token];
  if (static_cast<int32_t>(window_.size()) > last_n_) {
    const int32_t old = window_.front();
    window_.pop_front();
    if (--count_[old] == 0) count_.erase(old);
  }
}

void PenaltiesStage::reset() {
  window_.clear();
  count_.clear();
}

void PenaltiesStage::apply(CandidateArray& c) {
  if (last_n_ == 0 || (repeat_ == 1.0f && frequency_ == 0.0f && presence_ == 0.0f) || count_.empty()) return;
  for_each_listed(c, count_, [this](Candidate& x, int32_t count) {
    // Dividing a negative logit would make the token more likely: multiply it instead.
    x.logit = x.logit <= 0 ? x.logit * repeat_ : x.logit / repeat_;
    x.logit -= static_cast<float>(count) * frequency_ + (count > 0 ? presence_ : 0.0f);
  });
  c.sorted = false;
}

void TopNSigmaStage::apply(CandidateArray& c) {
  if (n_ <= 0.0f || c.size() <= 1) return;
  float max_logit = -INFINITY;
  double sum = 0.0;
  size_t n_finite = 0;
  for (const Candidate& x : c.data) {
    if (x.logit == -INFINITY) continue;
    max_logit = std::max(max_logit, x.logit);
    sum += x.logit;
    ++n_finite;
  }
  if (n_finite == 0) return;
  const double mean = sum / static_cast<double>(n_finite);
  double acc = 0.0;
  for (const Candidate& x : c.data) {
    if (x.logit != -INFINITY) acc += (x.logit - mean) * (x.logit - mean);
  }
  const auto sigma = static_cast<float>(std::sqrt(acc / static_cast<double>(n_finite)));
  const float cut = max_logit - n_ * sigma;
  std::erase_if(c.data, [cut](const Candidate& x) { return x.logit < cut; });
}

void TopKStage::apply(CandidateArray& c) {
  if (k_ <= 0) return;
  keep_top(c, static_cast<size_t>(k_));
}

void TypicalStage::apply(CandidateArray& c) {
  if (p_ >= 1.0f || c.size() <= 1) return;
  softmax(c);
  float entropy = 0.0f;
  for (const Candidate& x : c.data) {
    if (x.p > 0) entropy -= x.p * std::log(x.p);
  }
  // Rank by |surprise - entropy|, most typical first, and keep until the mass exceeds p.
  std::vector<float> shifted(c.size());
  for (size_t i = 0; i < c.size(); ++i) shifted[i] = std::fabs(-std::log(c.data[i].p) - entropy);
  std::vector<size_t> order(c.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return shifted[a] < shifted[b]; });
  float cumulative = 0.0f;
  size_t keep = order.size();
  for (size_t i = 0; i < order.size(); ++i) {
    cumulative += c.data[order[i]].p;
    if (cumulative > p_ && (min_keep_ == 0 || i + 1 >= min_keep_)) {
      keep = i + 1;
      break;
    }
  }
  std::vector<Candidate> kept(keep);
  for (size_t i = 0; i < keep; ++i) kept[i] = c.data[order[i]];
  c.data = std::move(kept);
  c.sorted = false;
}

void TopPStage::apply(CandidateArray& c) {
  if (p_ >= 1.0f || c.data.empty()) return;
  softmax(c);
  // The cumulative sum needs the most likely first. After top-k the array is short and sorted;
  // on a whole vocabulary, sort growing prefixes (256, 1024, ...) until the mass reaches p.
  float cumulative = 0.0f;
  size_t done = 0;
  size_t prefix = c.sorted ? c.size() : std::min<size_t>(256, c.size());
  while (true) {
    if (!c.sorted) {
      std::partial_sort(c.data.begin() + static_cast<std::ptrdiff_t>(done),
                        c.data.begin() + static_cast<std::ptrdiff_t>(prefix), c.data.end(), ranks_before);
    }
    for (size_t i = done; i < prefix; ++i) {
      cumulative += c.data[i].p;
      if (cumulative >= p_ && i + 1 >= min_keep_) {
        c.data.resize(i + 1);
        c.sorted = true;
        return;
      }
    }
    if (prefix == c.size()) break;
    done = prefix;
    prefix = std::min(prefix * 4, c.size());
  }
  c.sorted = true;
}

void MinPStage::apply(CandidateArray& c) {
  if (p_ <= 0.0f || c.data.empty()) return;
  // p_i >= p * p_max  <=>  logit_i >= max_logit + log(p): no softmax needed.
  const int64_t best = argmax(c);
  const float min_logit = c.data[static_cast<size_t>(best)].logit + std::log(p_);
  size_t n_kept = 0;
  for (const Candidate& x : c.data) n_kept += x.logit >= min_logit;
  if (n_kept >= std::max<size_t>(min_keep_, 1)) {
    std::erase_if(c.data, [min_logit](const Candidate& x) { return x.logit < min_logit; });
    return;
  }
  // Too few pass: keep the min_keep best.
  keep_top(c, min_keep_);
}

void XtcStage::apply(CandidateArray& c) {
  if (probability_ <= 0.0f || threshold_ > 0.5f || c.size() < 2) return;
  std::uniform_real_distribution<float> chance(0.0f, 1.0f);
  if (chance(rng_) > probability_) return;
  sort_descending(c);
  softmax(c);
  // The last (least likely) token still at or above the threshold survives; those before it go.
  size_t last_above = 0;
  for (size_t i = 0; i < c.size() && c.data[i].p >= threshold_; ++i) last_above = i;
  if (last_above > 0 && c.size() - last_above >= min_keep_) {
    c.data.erase(c.data.begin(), c.data.begin() + static_cast<std::ptrdiff_t>(last_above));
  }
}

namespace {

void scale_logits(CandidateArray& c, float temperature) {
  if (temperature <= 0.0f) {
    // Greedy: the most likely token alone stays possible.
    const int64_t best = argmax(c);
    for (size_t i = 0; i < c.size(); ++i) {
      if (static_cast<int64_t>(i) != best) c.data[i].logit = -INFINITY;
    }
    return;
  }
  const float inv = 1.0f / temperature;
  for (Candidate& x : c.data) x.logit *= inv;
}

}  // namespace

void TemperatureStage::apply(CandidateArray& c) {
  if (range_ <= 0.0f || c.size() <= 1) {
    scale_logits(c, temperature_);
    return;
  }
  // Dynamic temperature: entropy / max entropy in [0, 1] picks a point in [temp - range, temp + range].
  const float min_temp = std::max(0.0f, temperature_ - range_);
  const float max_temp = temperature_ + range_;
  const float max_entropy = std::log(static_cast<float>(c.size()));
  softmax(c);
  float entropy = 0.0f;
  for (const Candidate& x : c.data) {
    if (x.p > 0.0f) entropy -= x.p * std::log(x.p);
  }
  const float normalized = entropy / max_entropy;
  const float temperature = min_temp + (max_temp - min_temp) * std::pow(normalized, exponent_);
  scale_logits(c, temperature);
  softmax(c);
}

int64_t draw_index(const CandidateArray& c, std::mt19937& rng) {
  if (c.data.empty()) return -1;
  double total = 0.0;
  for (const Candidate& x : c.data) total += x.p;
  std::uniform_real_distribution<double> uniform(0.0, total);
  const double u = uniform(rng);
  double cumulative = 0.0;
  for (size_t i = 0; i < c.size(); ++i) {
    cumulative += c.data[i].p;
    if (u < cumulative) return static_cast<int64_t>(i);
  }
  // Rounding left u at the very end: the last candidate with any probability.
  for (size_t i = c.size(); i-- > 0;) {
    if (c.data[i].p > 0) return static_cast<int64_t>(i);
  }
  return 0;
}

void DistStage::apply(CandidateArray& c) {
  softmax(c);
  c.selected = draw_index(c, rng_);
}

}  // namespace tessera::sampling

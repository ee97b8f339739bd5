#include "sampling/dry.h"

#include <algorithm>
#include <cmath>

namespace tessera::sampling {
namespace {

constexpr size_t kMaxBreakerBytes = 40;      // llama.cpp's MAX_CHAR_LEN
constexpr size_t kMaxBreakerTail = 20;       // llama.cpp's MAX_SEQ_LEN
constexpr float kFloatMaxLog = 88.7228391f;  // log(FLT_MAX): caps base^exponent

void add_breaker(const std::string& breaker, int32_t n_vocab, const std::function<std::string(int32_t)>& piece,
                 const std::function<std::vector<int32_t>(const std::string&)>& tokenize, DryBreakers& out) {
  for (int32_t id = 0; id < n_vocab; ++id) {
    const std::string word = piece(id);
    if (word.find(breaker) != std::string::npos) {
      out.emplace(id, std::vector<int32_t>());
      continue;
    }
    // Every place where the token's text ends with a prefix of the breaker makes it a head.
    for (size_t pos = word.find(breaker[0]); pos != std::string::npos; pos = word.find(breaker[0], pos + 1)) {
      size_t i = 1;
      bool match = true;
      for (; i < breaker.size() && pos + i < word.size(); ++i) {
        if (word[pos + i] != breaker[i]) {
          match = false;
          break;
        }
      }
      if (!match) continue;
      std::vector<int32_t> tail = tokenize(breaker.substr(i));
      if (tail.size() > kMaxBreakerTail) tail.resize(kMaxBreakerTail);
      const auto [first, last] = out.equal_range(id);
      if (std::none_of(first, last, [&](const auto& kv) { return kv.second == tail; })) out.emplace(id, tail);
    }
  }
}

}  // namespace

DryBreakers build_dry_breakers(const std::vector<std::string>& breakers, int32_t n_vocab,
                               const std::function<std::string(int32_t)>& piece,
                               const std::function<std::vector<int32_t>(const std::string&)>& tokenize) {
  DryBreakers out;
  for (std::string breaker : breakers) {
    if (breaker.empty()) continue;  // llama.cpp warns and skips
    if (breaker.size() > kMaxBreakerBytes) breaker.resize(kMaxBreakerBytes);
    add_breaker(breaker, n_vocab, piece, tokenize, out);
  }
  return out;
}

DryStage::DryStage(float multiplier, float base, int32_t allowed_length, int32_t penalty_last_n, int32_t context_size,
                   std::shared_ptr<const DryBreakers> breakers)
    : multiplier_(multiplier),
      base_(base),
      allowed_length_(allowed_length),
      penalty_last_n_(penalty_last_n == -1 ? context_size : std::min(std::max(penalty_last_n, 0), context_size)),
      breakers_(breakers ? std::move(breakers) : std::make_shared<const DryBreakers>()) {}

void DryStage::accept(int32_t token) {
  if (!enabled()) return;
  last_tokens_.push_back(token);
  if (static_cast<int32_t>(last_tokens_.size()) > penalty_last_n_) last_tokens_.pop_front();
}

int DryStage::repeat_limit(int n) const {
  for (int i = 0; i < n; ++i) {
    const auto [first, last] = breakers_->equal_range(from_end(i));
    int longest = -1;
    for (auto it = first; it != last; ++it) {
      // The tail excludes the head, already matched at i; it must fit in the tokens before it.
      const auto tail_len = static_cast<int>(it->second.size());
      if (tail_len <= longest || tail_len > i) continue;
      bool match = true;
      for (int offset = 0; offset < tail_len && match; ++offset) {
        match = it->second[static_cast<size_t>(offset)] == from_end(i - offset - 1);
      }
      if (match) longest = tail_len;
    }
    if (longest >= 0) return i - longest;
  }
  return n;
}

void DryStage::apply(CandidateArray& c) {
  if (!enabled()) return;
  const int n = std::min(static_cast<int>(last_tokens_.size()), penalty_last_n_);
  if (n <= allowed_length_) return;
  const int limit = repeat_limit(n);
  if (limit < allowed_length_) return;

  // Step 2, reverse Z-algorithm: repeat[n - 1 - k] = length of the longest common suffix of the
  // whole context and the context cut k tokens before its end (capped by the breaker limit).
  std::vector<int> repeat(static_cast<size_t>(n), 0);
  const int last = n - 1;
  int lt = 0, rt = 0;
  for (int k = 1; k < n; ++k) {
    if (k > rt) {
      int len = 0;
      while (len + k < n && from_end(len) == from_end(len + k)) ++len;
      repeat[static_cast<size_t>(last - k)] = std::min(len, limit);
      if (len > 0) lt = k, rt = k + len - 1;
    } else {
      const int pair = k - lt;
      const int right_len = rt - k + 1;
      if (repeat[static_cast<size_t>(last - pair)] < right_len) {
        repeat[static_cast<size_t>(last - k)] = std::min(repeat[static_cast<size_t>(last - pair)], limit);
      } else {
        int i = rt + 1;
        while (i < n && from_end(i) == from_end(i - k)) ++i;
        repeat[static_cast<size_t>(last - k)] = std::min(i - k, limit);
        lt = k, rt = i - 1;
      }
    }
  }

  // Step 3: the token after each repeat would extend it; keep the longest repeat per token.
  std::unordered_map<int32_t, int> max_repeat;
  for (int i = 0; i < n - 1; ++i) {
    const int len = repeat[static_cast<size_t>(i)];
    if (len < allowed_length_) continue;
    const int32_t token = from_end(n - 2 - i);
    auto [it, inserted] = max_repeat.emplace(token, len);
    if (!inserted) it->second = std::max(it->second, len);
  }
  if (max_repeat.empty()) return;

  // Step 4: the penalty, never for a token that is a breaker by itself.
  const int max_exponent = base_ > 1.000001f ? static_cast<int>(kFloatMaxLog / std::log(base_)) : 0;
  const auto penalize = [&](Candidate& x, int len) {
    const auto [first, last_it] = breakers_->equal_range(x.id);
    if (std::any_of(first, last_it, [](const auto& kv) { return kv.second.empty(); })) return;
    int exponent = len - allowed_length_;
    if (max_exponent > 0 && exponent > max_exponent) exponent = max_exponent;
    x.logit -= multiplier_ * std::pow(base_, static_cast<float>(exponent));
  };
  if (c.data.size() > max_repeat.size() * 8) {
    for (const auto& [token, len] : max_repeat) {
      if (token >= 0 && static_cast<size_t>(token) < c.data.size() && c.data[static_cast<size_t>(token)].id == token) {
        penalize(c.data[static_cast<size_t>(token)], len);
      } else {
        for (Candidate& x : c.data) {
          if (x.id == token) penalize(x, len);
        }
      }
    }
  } else {
    for (Candidate& x : c.data) {
      if (const auto it = max_repeat.find(x.id); it != max_repeat.end()) penalize(x, it->second);
    }
  }
  c.sorted = false;
}

}  // namespace tessera::sampling

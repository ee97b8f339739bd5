// The sampler stages of a chain, each llama.cpp's algorithm of the same name (llama-sampling.cpp),
// on the candidate array of stage.h. Filters remove candidates (they never sort the whole array
// unless they must); logit modifiers change logits in place; the final stages (Dist here,
// Mirostat in mirostat.h) set `selected`.
//
// Thread-safety: one stage per chain, one chain per generation stream.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <unordered_map>
#include <vector>

#include "sampling/params.h"
#include "sampling/stage.h"

namespace tessera::sampling {

// A stage that changes the logits of a few listed tokens only (logit bias, penalties, DRY): the
// chain then applies it to just those tokens and picks the top k straight from the logits,
// without building a candidate array of the whole vocabulary.
class SparseModifier {
 public:
  virtual ~SparseModifier() = default;
  // Every token whose logit apply() may change (a superset is fine).
  virtual void listed_tokens(std::vector<int32_t>& out) const = 0;
};

// Adds each bias to its token's logit (ignore_eos adds -inf for every end-of-generation token).
class LogitBiasStage final : public SamplerStage, public SparseModifier {
 public:
  explicit LogitBiasStage(std::vector<LogitBias> biases) : biases_(std::move(biases)) {}
  std::string_view name() const override { return "logit-bias"; }
  void apply(CandidateArray& c) override;
  std::unique_ptr<SamplerStage> clone() const override { return std::make_unique<LogitBiasStage>(*this); }
  void listed_tokens(std::vector<int32_t>& out) const override {
    for (const LogitBias& b : biases_) out.push_back(b.token);
  }

 private:
  std::vector<LogitBias> biases_;
};

// Repeat / frequency / presence penalties over the last `last_n` accepted tokens.
class PenaltiesStage final : public SamplerStage, public SparseModifier {
 public:
  PenaltiesStage(int32_t last_n, float repeat, float frequency, float presence)
      : last_n_(std::max(last_n, 0)), repeat_(repeat), frequency_(frequency), presence_(presence) {}
  std::string_view name() const override { return "penalties"; }
  void apply(CandidateArray& c) override;
  void accept(int32_t token) override;
  void reset() override;
  std::unique_ptr<SamplerStage> clone() const override { return std::make_unique<PenaltiesStage>(*this); }
  void listed_tokens(std::vector<int32_t>& out) const override {
    for (const auto& [token, count] : count_) out.push_back(token);
  }

 private:
  int32_t last_n_;
  float repeat_, frequency_, presence_;
  std::deque<int32_t> window_;                  // the last last_n_ tokens, oldest first
  std::unordered_map<int32_t, int32_t> count_;  // occurrences of each token in window_
};

// Keeps tokens whose logit >= max - n * stddev (over the finite logits).
class TopNSigmaStage final : public SamplerStage {
 public:
  explicit TopNSigmaStage(float n) : n_(n) {}
  std::string_view name() const override { return "top-n-sigma"; }
  void apply(CandidateArray& c) override;
  std::unique_ptr<SamplerStage> clone() const override { return std::make_unique<TopNSigmaStage>(*this); }

 private:
  float n_;
};

class TopKStage final : public SamplerStage {
 public:
  explicit TopKStage(int32_t k) : k_(k) {}
  int32_t k() const { return k_; }
  std::string_view name() const override { return "top-k"; }
  void apply(CandidateArray& c) override;
  std::unique_ptr<SamplerStage> clone() const override { return std::make_unique<TopKStage>(*this); }

 private:
  int32_t k_;
};

class TypicalStage final : public SamplerStage {
 public:
  TypicalStage(float p, size_t min_keep) : p_(p), min_keep_(min_keep) {}
  std::string_view name() const override { return "typical"; }
  void apply(CandidateArray& c) override;
  std::unique_ptr<SamplerStage> clone() const override { return std::make_unique<TypicalStage>(*this); }

 private:
  float p_;
  size_t min_keep_;
};

class TopPStage final : public SamplerStage {
 public:
  TopPStage(float p, size_t min_keep) : p_(p), min_keep_(min_keep) {}
  std::string_view name() const override { return "top-p"; }
  void apply(CandidateArray& c) override;
  std::unique_ptr<SamplerStage> clone() const override { return std::make_unique<TopPStage>(*this); }

 private:
  float p_;
  size_t min_keep_;
};

class MinPStage final : public SamplerStage {
 public:
  MinPStage(float p, size_t min_keep) : p_(p), min_keep_(min_keep) {}
  std::string_view name() const override { return "min-p"; }
  void apply(CandidateArray& c) override;
  std::unique_ptr<SamplerStage> clone() const override { return std::make_unique<MinPStage>(*this); }

 private:
  float p_;
  size_t min_keep_;
};

// With `probability`, removes every token with p >= threshold except the least likely of them.
class XtcStage final : public SamplerStage {
 public:
  XtcStage(float probability, float threshold, size_t min_keep, uint32_t seed)
      : probability_(probability), threshold_(threshold), min_keep_(min_keep), seed_(seed), rng_(seed) {}
  std::string_view name() const override { return "xtc"; }
  void apply(CandidateArray& c) override;
  void reset() override { rng_.seed(seed_); }
  std::unique_ptr<SamplerStage> clone() const override { return std::make_unique<XtcStage>(*this); }

 private:
  float probability_, threshold_;
  size_t min_keep_;
  uint32_t seed_;
  std::mt19937 rng_;
};

// logit /= temperature (<= 0: only the most likely token survives), or with range > 0 the
// dynamic temperature of llama.cpp's temp_ext.
class TemperatureStage final : public SamplerStage {
 public:
  TemperatureStage(float temperature, float range, float exponent)
      : temperature_(temperature), range_(range), exponent_(exponent) {}
  std::string_view name() const override { return "temperature"; }
  void apply(CandidateArray& c) override;
  std::unique_ptr<SamplerStage> clone() const override { return std::make_unique<TemperatureStage>(*this); }

 private:
  float temperature_, range_, exponent_;
};

// The seeded random draw from softmax(logits): sets `selected`.
class DistStage final : public SamplerStage {
 public:
  explicit DistStage(uint32_t seed) : seed_(seed), rng_(seed) {}
  std::string_view name() const override { return "dist"; }
  void apply(CandidateArray& c) override;
  void reset() override { rng_.seed(seed_); }
  std::unique_ptr<SamplerStage> clone() const override { return std::make_unique<DistStage>(*this); }

 private:
  uint32_t seed_;
  std::mt19937 rng_;
};

// Index drawn from the candidates' probabilities (p must be set and sum to ~1); -1 when empty.
int64_t draw_index(const CandidateArray& c, std::mt19937& rng);

}  // namespace tessera::sampling

// Mirostat (https://arxiv.org/abs/2007.14966), llama.cpp's versions 1 and 2: final stages that
// draw a token while steering the observed surprise (-log2 p) towards tau; mu (starting at
// 2 * tau) moves by eta times the error after each draw.
//
// v1 estimates the Zipf exponent s from the m most likely tokens and keeps the top k that the
// target surprise implies; v2 keeps the tokens whose surprise is at most mu.
#pragma once

#include <cstdint>
#include <memory>
#include <random>

#include "sampling/stage.h"

namespace tessera::sampling {

class MirostatStage final : public SamplerStage {
 public:
  MirostatStage(int32_t n_vocab, uint32_t seed, float tau, float eta, int32_t m = 100)
      : n_vocab_(n_vocab), seed_(seed), tau_(tau), eta_(eta), m_(m), mu_(2 * tau), rng_(seed) {}
  std::string_view name() const override { return "mirostat"; }
  void apply(CandidateArray& c) override;
  void reset() override;
  std::unique_ptr<SamplerStage> clone() const override { return std::make_unique<MirostatStage>(*this); }
  float mu() const { return mu_; }

 private:
  int32_t n_vocab_;
  uint32_t seed_;
  float tau_, eta_;
  int32_t m_;
  float mu_;
  std::mt19937 rng_;
};

class MirostatV2Stage final : public SamplerStage {
 public:
  MirostatV2Stage(uint32_t seed, float tau, float eta) : seed_(seed), tau_(tau), eta_(eta), mu_(2 * tau), rng_(seed) {}
  std::string_view name() const override { return "mirostat-v2"; }
  void apply(CandidateArray& c) override;
  void reset() override;
  std::unique_ptr<SamplerStage> clone() const override { return std::make_unique<MirostatV2Stage>(*this); }
  float mu() const { return mu_; }

 private:
  uint32_t seed_;
  float tau_, eta_;
  float mu_;
  std::mt19937 rng_;
};

}  // namespace tessera::sampling

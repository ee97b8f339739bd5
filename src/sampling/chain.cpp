#include "sampling/chain.h"

#include <fmt/format.h>

#include <algorithm>
#include <random>

#include "sampling/candidates.h"
#include "sampling/mirostat.h"
#include "sampling/stages.h"
#include "tokenizer/tokenizer.h"

namespace tessera::sampling {
namespace {

// Argmax of the candidates: the final stage of a greedy chain (temperature <= 0 and no stage that
// can remove the most likely token). Only the chosen candidate's p is set (to 1).
class GreedyStage final : public SamplerStage {
 public:
  std::string_view name() const override { return "greedy"; }
  void apply(CandidateArray& c) override {
    c.selected = argmax(c);
    if (c.selected >= 0) c.data[static_cast<size_t>(c.selected)].p = 1.0f;
  }
  std::unique_ptr<SamplerStage> clone() const override { return std::make_unique<GreedyStage>(); }
};

bool dry_enabled(const SamplerParams& p) {
  return p.dry_multiplier != 0.0f && p.dry_base >= 1.0f && p.dry_penalty_last_n != 0;
}
bool penalties_enabled(const SamplerParams& p) {
  return p.repeat_last_n != 0 &&
         (p.repeat_penalty != 1.0f || p.frequency_penalty != 0.0f || p.presence_penalty != 0.0f);
}

// True when the stage can change which token has the highest logit, so greedy must run it.
bool can_change_argmax(StageType type, const SamplerParams& p) {
  switch (type) {
    case StageType::kPenalties: return penalties_enabled(p);
    case StageType::kDry: return dry_enabled(p);
    case StageType::kTypicalP: return p.typical_p < 1.0f;
    case StageType::kXtc: return p.xtc_probability > 0.0f && p.xtc_threshold <= 0.5f;
    default: return false;  // top-n-sigma, top-k, top-p, min-p, temperature keep the best token
  }
}

// The stage for `type`, or null when these params make it a no-op.
std::unique_ptr<SamplerStage> make_stage(StageType type, const SamplerParams& p, const ChainContext& ctx) {
  const auto min_keep = static_cast<size_t>(p.min_keep);
  const int32_t n_ctx = std::max(ctx.n_ctx, 1);
  switch (type) {
    case StageType::kPenalties:
      if (!penalties_enabled(p)) return nullptr;
      return std::make_unique<PenaltiesStage>(p.repeat_last_n == -1 ? n_ctx : p.repeat_last_n, p.repeat_penalty,
                                              p.frequency_penalty, p.presence_penalty);
    case StageType::kDry:
      if (!dry_enabled(p)) return nullptr;
      return std::make_unique<DryStage>(p.dry_multiplier, p.dry_base, p.dry_allowed_length, p.dry_penalty_last_n, n_ctx,
                                        ctx.dry_breakers);
    case StageType::kTopNSigma:
      if (p.top_n_sigma <= 0.0f) return nullptr;
      return std::make_unique<TopNSigmaStage>(p.top_n_sigma);
    case StageType::kTopK:
      if (p.top_k <= 0) return nullptr;
      return std::make_unique<TopKStage>(p.top_k);
    case StageType::kTypicalP:
      if (p.typical_p >= 1.0f) return nullptr;
      return std::make_unique<TypicalStage>(p.typical_p, min_keep);
    case StageType::kTopP:
      if (p.top_p >= 1.0f) return nullptr;
      return std::make_unique<TopPStage>(p.top_p, min_keep);
    case StageType::kMinP:
      if (p.min_p <= 0.0f) return nullptr;
      return std::make_unique<MinPStage>(p.min_p, min_keep);
    case StageType::kXtc:
      if (p.xtc_probability <= 0.0f || p.xtc_threshold > 0.5f) return nullptr;
      return std::make_unique<XtcStage>(p.xtc_probability, p.xtc_threshold, min_keep, p.seed);
    case StageType::kTemperature:
      return std::make_unique<TemperatureStage>(p.temperature, p.dynatemp_range, p.dynatemp_exponent);
    case StageType::kCount: break;
  }
  return nullptr;
}

}  // namespace

ChainContext ChainContext::from_tokenizer(const tokenizer::Tokenizer& tokenizer, int32_t n_ctx,
                                          const SamplerParams& params) {
  ChainContext ctx;
  const tokenizer::Vocab& vocab = tokenizer.vocab();
  ctx.n_vocab = static_cast<int32_t>(vocab.size());
  ctx.n_ctx = n_ctx;
  for (int32_t id = 0; id < ctx.n_vocab; ++id) {
    if (vocab.is_end_of_generation(id)) ctx.end_of_generation.push_back(id);
  }
  if (dry_enabled(params)) {
    // As llama.cpp: a token's text is its detokenization alone (special tokens printed).
    const auto piece = [&](int32_t id) { return tokenizer.detokenize({id}, {.unparse_special = true}); };
    const auto tokenize = [&](const std::string& text) {
      return tokenizer.tokenize(text, {.add_special = false, .parse_special = false});
    };
    ctx.dry_breakers = std::make_shared<const DryBreakers>(
        build_dry_breakers(params.dry_sequence_breakers, ctx.n_vocab, piece, tokenize));
  }
  return ctx;
}

Result<Chain> Chain::create(const SamplerParams& params, const ChainContext& context) {
  if (Status s = params.validate(); !s) return s;
  Chain chain;
  chain.params_ = params;
  if (chain.params_.seed == kRandomSeed) chain.params_.seed = std::random_device{}();
  const SamplerParams& p = chain.params_;

  std::vector<LogitBias> biases;
  for (const LogitBias& b : p.logit_bias) {
    if (b.token >= context.n_vocab) {
      return Status::error(
          fmt::format("logit bias: token {} is outside the vocabulary (0..{})", b.token, context.n_vocab - 1));
    }
    biases.push_back(b);
  }
  if (p.ignore_eos) {
    for (int32_t id : context.end_of_generation) biases.push_back({id, -INFINITY});
  }
  if (!biases.empty()) chain.stages_.push_back(std::make_unique<LogitBiasStage>(std::move(biases)));

  if (p.mirostat != 0) {
    chain.stages_.push_back(std::make_unique<TemperatureStage>(p.temperature, 0.0f, 1.0f));
    if (p.mirostat == 1) {
      chain.stages_.push_back(std::make_unique<MirostatStage>(context.n_vocab, p.seed, p.mirostat_tau, p.mirostat_eta));
    } else {
      chain.stages_.push_back(std::make_unique<MirostatV2Stage>(p.seed, p.mirostat_tau, p.mirostat_eta));
    }
    return chain;
  }
  // Greedy (temperature <= 0) skips the stages that cannot change the winner and takes the argmax.
  const bool greedy = p.temperature <= 0.0f && p.dynatemp_range <= 0.0f &&
                      std::none_of(p.order.begin(), p.order.end(), [&](StageType t) {
                        return (t == StageType::kTypicalP || t == StageType::kXtc) && can_change_argmax(t, p);
                      });
  for (StageType type : p.order) {
    if (greedy && !can_change_argmax(type, p)) continue;
    if (std::unique_ptr<SamplerStage> stage = make_stage(type, p, context)) chain.stages_.push_back(std::move(stage));
  }
  if (greedy) {
    chain.stages_.push_back(std::make_unique<GreedyStage>());
  } else {
    chain.stages_.push_back(std::make_unique<DistStage>(p.seed));
  }
  chain.plan_fast_path();
  return chain;
}

void Chain::plan_fast_path() {
  fast_prefix_ = fast_k_ = 0;
  fast_greedy_ = false;
  size_t i = 0;
  while (i < stages_.size() && dynamic_cast<const SparseModifier*>(stages_[i].get()) != nullptr) ++i;
  if (i == stages_.size()) return;
  if (const auto* top_k = dynamic_cast<const TopKStage*>(stages_[i].get())) {
    fast_k_ = static_cast<size_t>(top_k->k());
  } else if (stages_[i]->name() == "greedy") {
    fast_k_ = 1;
    fast_greedy_ = true;
  }
  fast_prefix_ = i;
}

void Chain::sample_top_k_directly(std::span<const float> logits) {
  // 1. The modifiers' tokens, with their logits as the modifiers leave them.
  listed_.clear();
  for (size_t i = 0; i < fast_prefix_; ++i) dynamic_cast<const SparseModifier&>(*stages_[i]).listed_tokens(listed_);
  std::sort(listed_.begin(), listed_.end());
  listed_.erase(std::unique(listed_.begin(), listed_.end()), listed_.end());
  std::erase_if(listed_, [&](int32_t t) { return t < 0 || static_cast<size_t>(t) >= logits.size(); });
  CandidateArray modified;
  for (int32_t t : listed_) modified.data.push_back(Candidate{t, logits[static_cast<size_t>(t)], 0.0f});
  for (size_t i = 0; i < fast_prefix_; ++i) stages_[i]->apply(modified);

  // 2. The best k of the other tokens in one pass over the logits: a heap whose front is the worst
  // kept. Ids grow along the scan, so a tie with the front never ranks before it; the inner loop
  // is one comparison per token. The listed tokens split the scan into segments.
  const size_t k = std::min(fast_k_, logits.size());
  std::vector<Candidate>& heap = candidates_.data;
  heap.clear();
  float threshold = -INFINITY;  // the front's logit once the heap is full
  const auto scan = [&](size_t begin, size_t end) {
    size_t i = begin;
    for (; i < end && heap.size() < k; ++i) {
      heap.push_back(Candidate{static_cast<int32_t>(i), logits[i], 0.0f});
      std::push_heap(heap.begin(), heap.end(), ranks_before);
      if (heap.size() == k) threshold = heap.front().logit;
    }
    for (; i < end; ++i) {
      if (!(logits[i] > threshold)) continue;
      std::pop_heap(heap.begin(), heap.end(), ranks_before);
      heap.back() = Candidate{static_cast<int32_t>(i), logits[i], 0.0f};
      std::push_heap(heap.begin(), heap.end(), ranks_before);
      threshold = heap.front().logit;
    }
  };
  size_t begin = 0;
  for (int32_t t : listed_) {
    scan(begin, static_cast<size_t>(t));
    begin = static_cast<size_t>(t) + 1;
  }
  scan(begin, logits.size());
  // 3. Merge the modified tokens in and keep the best k, sorted.
  heap.insert(heap.end(), modified.data.begin(), modified.data.end());
  candidates_.sorted = false;
  candidates_.selected = -1;
  keep_top(candidates_, k);
}

Chain Chain::clone() const {
  Chain copy;
  copy.params_ = params_;
  for (const auto& stage : stages_) copy.stages_.push_back(stage->clone());
  if (constraint_) copy.constraint_ = constraint_->clone();
  copy.plan_fast_path();
  return copy;
}

void Chain::run_stages(CandidateArray& c, size_t first) {
  for (size_t i = first; i < stages_.size(); ++i) stages_[i]->apply(c);
}

Result<int32_t> Chain::sample(std::span<const float> logits) {
  if (logits.empty()) return Status::error("sampling: no logits");
  if (fast_k_ > 0) {
    sample_top_k_directly(logits);
    // The top-k (or greedy) stage itself is done: the array holds exactly its result.
    run_stages(candidates_, fast_greedy_ ? fast_prefix_ : fast_prefix_ + 1);
  } else {
    fill_from_logits(candidates_, logits);
    run_stages(candidates_);
  }
  if (candidates_.selected < 0) return Status::error("sampling: no candidate left");
  const int32_t drawn = candidates_.data[static_cast<size_t>(candidates_.selected)].id;
  if (!constraint_ || constraint_->allows(drawn)) return drawn;

  // Rejected by the grammar: mask everything it rejects and run the chain again.
  fill_from_logits(candidates_, logits);
  constraint_->apply(candidates_);
  drop_impossible(candidates_);
  if (candidates_.data.empty()) return Status::error("sampling: the grammar allows no token here");
  run_stages(candidates_);
  if (candidates_.selected < 0) return Status::error("sampling: no candidate left");
  return candidates_.data[static_cast<size_t>(candidates_.selected)].id;
}

void Chain::accept(int32_t token) {
  if (constraint_) constraint_->accept(token);
  for (const auto& stage : stages_) stage->accept(token);
}

void Chain::accept_prompt(std::span<const int32_t> tokens) {
  for (int32_t token : tokens) {
    for (const auto& stage : stages_) stage->accept(token);
  }
}

void Chain::reset() {
  for (const auto& stage : stages_) stage->reset();
  if (constraint_) constraint_->reset();
}

std::string Chain::describe() const {
  std::string out;
  for (const auto& stage : stages_) out += fmt::format("{}{}", out.empty() ? "" : " -> ", stage->name());
  return out;
}

}  // namespace tessera::sampling

// Sentence embeddings for /v1/embeddings: a prompt's final hidden states (after the output norm,
// as ForwardPass::decode_hidden gives them) pooled into one L2-normalised vector of n_embd floats.
//
// The embedder owns its own ForwardPass and KV cache (n_ctx cells, created on first use), so
// embedding requests never touch the scheduler's slots or cache; a mutex serialises them. It
// shares the read-only Model with the scheduler's ForwardPass, which the ForwardPass contract
// allows. Each input is decoded alone as sequence 0 of an emptied cache.
#pragma once

#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <vector>

#include "model/forward.h"
#include "tessera/status.h"

namespace tessera::server {

// llama.cpp's pooling types that give one vector per input (its "none" and "rank" do not).
enum class Pooling { kMean, kCls, kLast };

// "mean", "cls" or "last" (llama.cpp's --pooling spellings).
Result<Pooling> parse_pooling(std::string_view name);
const char* pooling_name(Pooling pooling);
// What the model implies: its `<arch>.pooling_type` key (llama.cpp's numbering: 1 mean, 2 cls,
// 3 last), else mean (the key is absent from plain causal LMs; "none" and "rank" fall back too).
Pooling model_pooling(const model::Model& model);

struct EmbedderParams {
  model::ForwardParams forward;  // n_ctx: the longest input, in tokens
  Pooling pooling = Pooling::kMean;
};

class Embedder {
 public:
  Embedder(std::shared_ptr<const model::Model> model, EmbedderParams params);

  int64_t n_ctx() const { return params_.forward.n_ctx; }
  Pooling pooling() const { return params_.pooling; }

  // The pooled, L2-normalised embedding of `tokens` ([n_embd]). Fails on an empty input, one
  // longer than n_ctx() or a token outside the vocabulary. Thread-safe.
  Result<std::vector<float>> embed(std::span<const int32_t> tokens);

 private:
  std::shared_ptr<const model::Model> model_;
  EmbedderParams params_;
  std::mutex mutex_;                             // guards everything below
  std::unique_ptr<model::ForwardPass> forward_;  // created by the first embed()
  std::vector<float> hidden_;                    // [n_outputs, n_embd]
};

}  // namespace tessera::server

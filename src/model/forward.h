// The transformer forward pass for every architecture in the table (arch.h): one code path that
// reads the row's flags. Weights are used in place from the mapped file through the quant
// layer's dot kernels (activations are converted on the fly to each weight type's partner type).
//
// Ownership: a ForwardPass shares the read-only Model and owns its KV cache, thread pool and
// scratch buffers (the per-sequence state). One thread drives it at a time; many ForwardPasses
// may share one Model.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/weights.h"
#include "ops/ops.h"
#include "runtime/batch.h"
#include "runtime/kv_cache.h"
#include "runtime/thread_pool.h"
#include "tessera/status.h"

namespace tessera::model {

struct ForwardParams {
  int64_t n_ctx = 0;                        // KV cells; 0 = the model's trained context
  ops::KvType kv_type = ops::KvType::kF16;  // -ctk/-ctv: f16, f32, q8_0, q4_0 (one type for both)
  int n_threads = 1;                        // -t: threads for single-token decode
  int64_t n_ubatch = 512;                   // tokens per pass through the layers (bounds scratch memory), -ub
  // Appended last so positional initializers of the fields above keep working.
  int n_threads_batch = 0;  // -tb; 0 = n_threads: threads for batches of more than one token
};

// A low-rank adapter (LoRA): each adapted weight W [rows, k] (ggml shape {k, rows}) gets
// out += scale * (in · A^T) · B^T, with A [rank, k] and B [rows, rank] (ggml shapes {k, rank} and
// {rank, rows}, any type with a dot kernel). `scale` is the full multiplier (a loader folds
// alpha / rank into it). The tensors must outlive the ForwardPass, or be owned by `keep_alive`.
struct LoraAdapter {
  struct Factors {
    const gguf::TensorInfo* a = nullptr;
    const gguf::TensorInfo* b = nullptr;
  };
  std::unordered_map<std::string, Factors> by_weight;  // keyed by the base weight's tensor name
  float scale = 1.0f;
  std::shared_ptr<const void> keep_alive;  // e.g. the adapter's GgufFile
};

class ForwardPass {
 public:
  static Result<std::unique_ptr<ForwardPass>> create(std::shared_ptr<const Model> model, const ForwardParams& params);

  // Runs `batch` through the model, adding its keys and values to the KV cache. `logits`
  // becomes [batch.n_outputs(), n_vocab]: one row per entry with output set, in batch order.
  // Bad input (token out of range, full cache, duplicate position) fails with the cache unchanged.
  Status decode(const runtime::Batch& batch, std::vector<float>& logits);
  // The same, and `hidden` becomes [batch.n_outputs(), n_embd]: the output rows after the final
  // norm, i.e. what the output matrix multiplies (what llama.cpp pools into embeddings). With
  // `logits` null the output projection is skipped.
  Status decode_hidden(const runtime::Batch& batch, std::vector<float>& hidden, std::vector<float>* logits);
  ~ForwardPass();

  // Replaces the adapters applied inside every matmul (empty: none). Fails, leaving the current
  // set in place, when a name is not a weight of the model or a factor's shape does not fit it.
  Status set_adapters(std::vector<LoraAdapter> adapters);

  runtime::KvCache& kv_cache() { return kv_; }
  const Model& model() const { return *model_; }

 private:
  struct Scratch;
  ForwardPass(std::shared_ptr<const Model> model, const ForwardParams& params);

  // decode() and decode_hidden(): `logits` and `hidden` (either may be null) get the output rows.
  Status decode_impl(const runtime::Batch& batch, std::vector<float>* logits, std::vector<float>* hidden);
  // One micro-batch whose cache cells the caller has checked are available.
  void decode_ubatch(const runtime::Batch& ubatch, std::vector<float>* logits, std::vector<float>* hidden);
  void embed(const runtime::Batch& batch);
  void attention_block(int64_t il, const runtime::Batch& batch, const std::vector<int32_t>& slots);
  void project_qkv(int64_t il, int64_t n);
  void attend(int64_t il, const runtime::Batch& batch);
  void ffn_block(int64_t il, int64_t n);
  void compute_logits(const runtime::Batch& batch, std::vector<float>* logits, std::vector<float>* hidden);
  // out[n, rows] = in[n, k] · w^T, split by rows across the pool.
  void linear(const gguf::TensorInfo& w, const float* in, int64_t n, float* out);
  // Several matmuls of one input: out_j[n, rows_j] = in[n, k] · w_j^T (plus adapters), the input
  // converted once per activation type and all of them in one pool round.
  struct LinearJob {
    const gguf::TensorInfo* w;
    float* out;
  };
  static constexpr size_t kMaxLinearJobs = 3;
  void linear_jobs(std::span<const LinearJob> jobs, const float* in, int64_t n);
  // The same without adapters.
  void linear_base(std::span<const LinearJob> jobs, const float* in, int64_t n);
  void add_bias(const gguf::TensorInfo* b, int64_t n, float* rows);
  void norm_rows(const gguf::TensorInfo* w, const gguf::TensorInfo* b, const float* in, int64_t n, float* out);

  std::shared_ptr<const Model> model_;
  runtime::KvCache kv_;
  const gguf::TensorInfo* rope_factors_;             // [n_rot / 2] frequency divisors, or null (see rope_factors())
  runtime::ThreadPool pool_;                         // n_threads: single-token decode
  std::unique_ptr<runtime::ThreadPool> pool_batch_;  // n_threads_batch when it differs, else null
  runtime::ThreadPool* active_ = &pool_;             // the pool of the micro-batch being decoded
  int64_t n_ubatch_;
  std::unique_ptr<Scratch> s_;
  // Per adapted weight (keyed by its TensorInfo in the model): its factors and scales.
  struct AppliedLora {
    LoraAdapter::Factors f;
    float scale;
  };
  std::unordered_map<const gguf::TensorInfo*, std::vector<AppliedLora>> lora_;
  std::vector<LoraAdapter> adapters_;  // keeps the adapters' tensors alive
};

}  // namespace tessera::model

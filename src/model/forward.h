// The transformer forward pass for every architecture in the table (arch.h): one code path that
// reads the row's flags. Weights are used in place from the mapped file through the quant
// layer's dot kernels (activations are converted on the fly to each weight type's partner type).
//
// Ownership: a ForwardPass shares the read-only Model and owns its KV cache, thread pool and
// scratch buffers (the per-sequence state). One thread drives it at a time; many ForwardPasses
// may share one Model.
#pragma once

#include <memory>
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
  int n_threads = 1;
  int64_t n_ubatch = 512;  // tokens per pass through the layers (bounds scratch memory), -ub
};

class ForwardPass {
 public:
  static Result<std::unique_ptr<ForwardPass>> create(std::shared_ptr<const Model> model, const ForwardParams& params);

  // Runs `batch` through the model, adding its keys and values to the KV cache. `logits`
  // becomes [batch.n_outputs(), n_vocab]: one row per entry with output set, in batch order.
  // Bad input (token out of range, full cache, duplicate position) fails with the cache unchanged.
  Status decode(const runtime::Batch& batch, std::vector<float>& logits);
  ~ForwardPass();

  runtime::KvCache& kv_cache() { return kv_; }
  const Model& model() const { return *model_; }

 private:
  struct Scratch;
  ForwardPass(std::shared_ptr<const Model> model, const ForwardParams& params);

  // One micro-batch whose cache cells the caller has checked are available.
  void decode_ubatch(const runtime::Batch& ubatch, std::vector<float>& logits);
  void embed(const runtime::Batch& batch);
  void attention_block(int64_t il, const runtime::Batch& batch, const std::vector<int32_t>& slots);
  void project_qkv(int64_t il, int64_t n);
  void attend(int64_t il, const runtime::Batch& batch);
  void ffn_block(int64_t il, int64_t n);
  void compute_logits(const runtime::Batch& batch, std::vector<float>& logits);
  // out[n, rows] = in[n, k] · w^T, split by rows across the pool.
  void linear(const gguf::TensorInfo& w, const float* in, int64_t n, float* out);
  void add_bias(const gguf::TensorInfo* b, int64_t n, float* rows);
  void norm_rows(const gguf::TensorInfo* w, const gguf::TensorInfo* b, const float* in, int64_t n, float* out);

  std::shared_ptr<const Model> model_;
  runtime::KvCache kv_;
  runtime::ThreadPool pool_;
  int64_t n_ubatch_;
  std::unique_ptr<Scratch> s_;
};

}  // namespace tessera::model

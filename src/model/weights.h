// Tensor binding: every weight the architecture's row names is looked up in the memory-mapped
// GgufFile, its shape checked against the hyper-parameters, and kept as a view (no copies).
//
// Ownership: Model owns the GgufFile; every TensorInfo pointer below points into it. A Model is
// immutable after load() and may be shared read-only by many contexts and threads.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "model/arch.h"
#include "model/hparams.h"
#include "tessera/status.h"

namespace tessera::model {

// Views into the mapped file, indexed by TensorRole; null where the role is absent.
struct TensorSet {
  std::array<const gguf::TensorInfo*, kTensorRoleCount> tensors{};

  const gguf::TensorInfo* get(TensorRole role) const { return tensors[static_cast<size_t>(role)]; }
  bool has(TensorRole role) const { return get(role) != nullptr; }
};

struct ModelWeights {
  TensorSet global;               // token_embd, output_norm(.bias), output (or null: tied)
  std::vector<TensorSet> layers;  // [n_layer]
  // The matrix the logits come from: output.weight, or token_embd.weight when tied.
  const gguf::TensorInfo* output = nullptr;  // [n_embd, n_vocab]
};

// Binds and checks every tensor of `arch`'s row. Errors name the tensor and the shape expected.
// Tensors the row does not name are an error too (a file for a different graph).
Result<ModelWeights> bind_weights(const gguf::GgufFile& file, const Hparams& hp);

class Model {
 public:
  // Opens, validates and binds `path`. The file stays mapped for the Model's lifetime.
  static Result<std::shared_ptr<const Model>> load(const std::string& path);

  const gguf::GgufFile& file() const { return file_; }
  const Hparams& hparams() const { return hparams_; }
  const ModelWeights& weights() const { return weights_; }

 private:
  Model(gguf::GgufFile file, Hparams hp, ModelWeights w)
      : file_(std::move(file)), hparams_(std::move(hp)), weights_(std::move(w)) {}
  gguf::GgufFile file_;
  Hparams hparams_;
  ModelWeights weights_;
};

}  // namespace tessera::model

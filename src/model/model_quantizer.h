// Converts a GGUF model to another tensor-type mix (`tessera quantize`): chooses each tensor's
// type with the llama-quantize rules (quant_presets.h), converts the data with the type table's
// quantize / dequantize functions on all threads, and writes the result tensor by tensor.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "model/quant_presets.h"
#include "tessera/status.h"

namespace tessera::model {

struct TensorTypeOverride {
  std::string pattern;  // ECMAScript regex searched in the tensor name (llama-quantize --tensor-type)
  quant::TensorType type;
};

struct QuantizeParams {
  std::string input_path;
  std::string output_path;
  std::optional<Preset> preset;  // nullopt: COPY (every tensor keeps its type)
  int n_threads = 0;             // 0: all hardware threads
  bool allow_requantize = false;
  bool quantize_output_tensor = true;  // false: --leave-output-tensor
  bool pure = false;                   // no mixing rules: every quantized tensor gets the preset's type
  bool dry_run = false;                // plan and report sizes, write nothing
  std::optional<quant::TensorType> output_tensor_type;
  std::optional<quant::TensorType> token_embedding_type;
  std::vector<TensorTypeOverride> tensor_types;
  std::string imatrix_path;  // empty: none
};

struct TensorPlan {
  std::string name;
  std::vector<uint64_t> shape;
  quant::TensorType from;
  quant::TensorType to;
  uint64_t bytes_before = 0;
  uint64_t bytes_after = 0;
  bool fell_back = false;        // rows not divisible by the rule's type: a fallback type was used
  bool used_importance = false;  // quantized with imatrix weights
};

struct QuantizeReport {
  std::vector<TensorPlan> tensors;  // in output order
  uint64_t bytes_before = 0;
  uint64_t bytes_after = 0;
  int n_threads = 0;
  size_t imatrix_entries = 0;
};

// Called after each tensor is converted (or planned, in a dry run): (plan, index, count).
using QuantizeProgress = std::function<void(const TensorPlan&, size_t, size_t)>;

Result<QuantizeReport> quantize_model(const QuantizeParams& params, const QuantizeProgress& progress);

}  // namespace tessera::model

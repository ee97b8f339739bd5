#include "model/imatrix.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include "gguf/gguf_file.h"

namespace tessera::model {
namespace {

constexpr std::string_view kSumsSuffix = ".in_sum2";
constexpr std::string_view kCountsSuffix = ".counts";

float load_f32(const uint8_t* p, uint64_t i) {
  float value;
  std::memcpy(&value, p + i * sizeof(float), sizeof(float));
  return value;
}

}  // namespace

Result<ImportanceMatrix> load_imatrix(const std::string& path) {
  Result<gguf::GgufFile> file = gguf::GgufFile::open(path);
  if (!file) {
    return Status::error(
        fmt::format("imatrix: {} (only the GGUF imatrix format is supported; "
                    "convert a legacy .dat file with llama-imatrix --output-format gguf)",
                    file.error()));
  }
  ImportanceMatrix out;
  if (const gguf::Value* datasets = file->find("imatrix.datasets");
      datasets && datasets->element_type() == gguf::ValueType::kString) {
    for (uint64_t i = 0; i < datasets->size(); ++i) out.datasets.emplace_back(datasets->string_at(i));
  }
  if (const gguf::Value* chunks = file->find("imatrix.chunk_count")) {
    out.chunk_count = static_cast<uint32_t>(chunks->get_unsigned().value_or(0));
  }
  for (const gguf::TensorInfo& sums : file->tensors()) {
    if (!sums.name.ends_with(kSumsSuffix)) continue;
    const std::string weight(sums.name.substr(0, sums.name.size() - kSumsSuffix.size()));
    const gguf::TensorInfo* counts = file->find_tensor(weight + std::string(kCountsSuffix));
    const uint64_t n_cols = sums.shape[0];
    const uint64_t n_mat = sums.n_elements / n_cols;
    if (counts == nullptr || sums.type != quant::TensorType::kF32 || counts->type != quant::TensorType::kF32 ||
        counts->n_elements != n_mat) {
      return Status::error(fmt::format("{}: '{}' needs an f32 '{}{}' tensor of {} elements", path, sums.name, weight,
                                       kCountsSuffix, n_mat));
    }
    std::vector<float>& importance = out.weights[weight];
    importance.resize(sums.n_elements);
    for (uint64_t j = 0; j < n_mat; ++j) {
      const float count = load_f32(counts->data, j);
      for (uint64_t i = 0; i < n_cols; ++i) {
        const float value = count > 0 ? load_f32(sums.data, j * n_cols + i) / count : 1.0f;
        if (!std::isfinite(value) || value < 0) {
          return Status::error(
              fmt::format("{}: '{}' has an invalid importance {} at column {}", path, weight, value, i));
        }
        importance[j * n_cols + i] = value;
      }
    }
  }
  if (out.weights.empty()) return Status::error(fmt::format("{}: no '*.in_sum2' tensors: not an imatrix file", path));
  return out;
}

}  // namespace tessera::model

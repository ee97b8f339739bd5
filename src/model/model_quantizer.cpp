#include "model/model_quantizer.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <regex>
#include <thread>

#include "gguf/gguf_file.h"
#include "gguf/writer.h"
#include "model/imatrix.h"

namespace tessera::model {
namespace {

using quant::TensorType;
constexpr uint32_t kQuantizationVersion = 2;  // ggml's GGML_QNT_VERSION

int arch_int(const gguf::GgufFile& file, const std::string& arch, std::string_view key, int fallback) {
  const gguf::Value* v = file.find(arch + "." + std::string(key));
  if (v == nullptr) return fallback;
  if (auto n = v->get_unsigned()) return static_cast<int>(*n);
  // Per-layer arrays (e.g. head_count_kv of hybrid models): the first layer's value.
  if (v->is_array() && v->size() > 0 && v->element_type() == gguf::ValueType::kUint32) return v->at<uint32_t>(0);
  if (v->is_array() && v->size() > 0 && v->element_type() == gguf::ValueType::kInt32) return v->at<int32_t>(0);
  return fallback;
}

ModelFacts model_facts(const gguf::GgufFile& file, bool has_imatrix) {
  ModelFacts facts;
  if (const gguf::Value* arch = file.find("general.architecture")) facts.architecture = *arch->get_string();
  facts.n_layer = arch_int(file, facts.architecture, "block_count", 0);
  const int n_head = arch_int(file, facts.architecture, "attention.head_count", 1);
  const int n_head_kv = arch_int(file, facts.architecture, "attention.head_count_kv", n_head);
  facts.n_gqa = n_head_kv > 0 ? n_head / n_head_kv : 1;
  facts.n_expert = arch_int(file, facts.architecture, "expert_count", 0);
  facts.has_output = file.find_tensor("output.weight") != nullptr;
  facts.has_imatrix = has_imatrix;
  for (const gguf::TensorInfo& t : file.tensors()) {
    const std::string_view n = t.name;
    if (n.find("attn_v.weight") != n.npos || n.find("attn_qkv.weight") != n.npos ||
        n.find("attn_kv_b.weight") != n.npos) {
      ++facts.n_attention_wv;
    }
  }
  return facts;
}

// Runs body(first_row, end_row) over [0, n_rows) in chunks on n_threads threads.
template <class Body>
void parallel_rows(uint64_t n_rows, int n_threads, const Body& body) {
  constexpr uint64_t kRowsPerChunk = 16;
  std::atomic<uint64_t> next{0};
  auto worker = [&] {
    for (uint64_t r0; (r0 = next.fetch_add(kRowsPerChunk)) < n_rows;) body(r0, std::min(n_rows, r0 + kRowsPerChunk));
  };
  std::vector<std::jthread> helpers;
  const uint64_t useful = (n_rows + kRowsPerChunk - 1) / kRowsPerChunk;
  for (uint64_t i = 1; i < static_cast<uint64_t>(n_threads) && i < useful; ++i) helpers.emplace_back(worker);
  worker();
}

class Quantizer {
 public:
  Quantizer(const QuantizeParams& params, const ImportanceMatrix* imatrix) : params_(params), imatrix_(imatrix) {
    for (const TensorTypeOverride& o : params.tensor_types) patterns_.emplace_back(std::regex(o.pattern), o.type);
  }

  Result<TensorPlan> plan(const gguf::TensorInfo& t, TypeSelector* selector);
  Status convert(const gguf::TensorInfo& t, const TensorPlan& plan, std::span<uint8_t> out, int n_threads) const;

 private:
  TensorType choose_type(const gguf::TensorInfo& t, TypeSelector* selector, bool& fell_back) const;
  Status check_convertible(const gguf::TensorInfo& t, TensorType to) const;
  const std::vector<float>* importance_for(const gguf::TensorInfo& t, Status& status) const;

  const QuantizeParams& params_;
  const ImportanceMatrix* imatrix_;
  std::vector<std::pair<std::regex, TensorType>> patterns_;  // compiled params_.tensor_types
};

TensorType Quantizer::choose_type(const gguf::TensorInfo& t, TypeSelector* selector, bool& fell_back) const {
  const TensorDesc desc{t.name, t.n_dims, {t.shape[0], t.shape[1], t.shape[2], t.shape[3]}};
  if (!params_.preset || !should_quantize(desc, params_.quantize_output_tensor)) return t.type;
  TensorType type = params_.preset->default_type;
  if (!params_.pure && quant::type_traits(type).quantized) {
    const TypeSelector::Choice choice = selector->choose(desc);
    type = choice.type;
    fell_back = choice.fell_back;
    if (!fell_back) {  // user patterns apply where the geometry allows them; the last match wins
      const std::string name(t.name);
      for (const auto& [pattern, override_type] : patterns_) {
        if (std::regex_search(name, pattern)) type = override_type;
      }
    }
  }
  if (params_.token_embedding_type && t.name == "token_embd.weight") type = *params_.token_embedding_type;
  if (params_.output_tensor_type && t.name == "output.weight") type = *params_.output_tensor_type;
  return type;
}

Status Quantizer::check_convertible(const gguf::TensorInfo& t, TensorType to) const {
  const quant::TypeTraits& from_traits = quant::type_traits(t.type);
  const quant::TypeTraits& to_traits = quant::type_traits(to);
  if (t.shape[0] % to_traits.block_size != 0) {
    return Status::error(fmt::format("tensor '{}': row length {} is not a multiple of the {} block size {}", t.name,
                                     t.shape[0], to_traits.name, to_traits.block_size));
  }
  if (to != TensorType::kF32 && to_traits.quantize == nullptr) {
    return Status::error(fmt::format("tensor '{}': quantizing to {} is not supported", t.name, to_traits.name));
  }
  if (t.type != TensorType::kF32 && from_traits.dequantize == nullptr) {
    return Status::error(fmt::format("tensor '{}': converting from {} is not supported", t.name, from_traits.name));
  }
  if (from_traits.quantized && !params_.allow_requantize) {
    return Status::error(
        fmt::format("tensor '{}' is already quantized ({}); requantizing loses quality, pass "
                    "--allow-requantize to do it anyway",
                    t.name, from_traits.name));
  }
  return {};
}

const std::vector<float>* Quantizer::importance_for(const gguf::TensorInfo& t, Status& status) const {
  if (imatrix_ == nullptr) return nullptr;
  auto it = imatrix_->weights.find(std::string(t.name));
  if (it == imatrix_->weights.end()) return nullptr;
  const uint64_t n_mat = t.n_dims >= 3 ? t.shape[2] : 1;
  if (it->second.size() != t.shape[0] * n_mat) {
    if (t.name != "token_embd.weight") {  // llama-imatrix never covers the embeddings; anything else is a mismatch
      status = Status::error(
          fmt::format("imatrix has {} values for '{}', which needs {}", it->second.size(), t.name, t.shape[0] * n_mat));
    }
    return nullptr;
  }
  return &it->second;
}

Result<TensorPlan> Quantizer::plan(const gguf::TensorInfo& t, TypeSelector* selector) {
  TensorPlan plan;
  plan.name = std::string(t.name);
  plan.shape.assign(t.shape.begin(), t.shape.begin() + t.n_dims);
  plan.from = t.type;
  plan.to = choose_type(t, selector, plan.fell_back);
  plan.bytes_before = t.n_bytes;
  if (plan.to != plan.from) {
    if (Status s = check_convertible(t, plan.to); !s) return s;
    Status status;
    plan.used_importance = importance_for(t, status) != nullptr;
    if (!status) return status;
    const bool needs_imatrix = plan.to == TensorType::kQ2_K && params_.preset &&
                               params_.preset->file_type == FileType::kQ2_K_S && t.name != "token_embd.weight";
    if (needs_imatrix && !plan.used_importance) {
      return Status::error(
          fmt::format("tensor '{}': Q2_K_S needs an importance matrix (--imatrix) for every "
                      "quantized tensor but the token embeddings",
                      t.name));
    }
  }
  plan.bytes_after = *quant::row_bytes(plan.to, t.shape[0]) * (t.n_elements / t.shape[0]);
  return plan;
}

Status Quantizer::convert(const gguf::TensorInfo& t, const TensorPlan& plan, std::span<uint8_t> out,
                          int n_threads) const {
  if (plan.to == plan.from) {
    std::copy(t.data, t.data + t.n_bytes, out.begin());
    return {};
  }
  const uint64_t n_cols = t.shape[0];
  const uint64_t n_rows = t.n_elements / n_cols;
  std::vector<float> f32;
  const float* src = reinterpret_cast<const float*>(t.data);
  if (t.type != TensorType::kF32 || reinterpret_cast<uintptr_t>(t.data) % alignof(float) != 0) {
    f32.resize(t.n_elements);
    const quant::TypeTraits& from = quant::type_traits(t.type);
    const uint64_t in_row_bytes = *quant::row_bytes(t.type, n_cols);
    parallel_rows(n_rows, n_threads, [&](uint64_t r0, uint64_t r1) {
      if (t.type == TensorType::kF32) {
        std::memcpy(f32.data() + r0 * n_cols, t.data + r0 * in_row_bytes, (r1 - r0) * in_row_bytes);
      } else {
        from.dequantize(t.data + r0 * in_row_bytes, f32.data() + r0 * n_cols, static_cast<int64_t>((r1 - r0) * n_cols));
      }
    });
    src = f32.data();
  }
  if (plan.to == TensorType::kF32) {
    std::memcpy(out.data(), src, t.n_elements * sizeof(float));
    return {};
  }
  Status status;
  const std::vector<float>* importance = importance_for(t, status);
  const quant::QuantizeRowFn quantize = quant::type_traits(plan.to).quantize;
  const uint64_t out_row_bytes = *quant::row_bytes(plan.to, n_cols);
  const uint64_t rows_per_matrix = t.n_dims >= 2 ? t.shape[1] : 1;
  parallel_rows(n_rows, n_threads, [&](uint64_t r0, uint64_t r1) {
    for (uint64_t r = r0; r < r1; ++r) {
      const float* weights = importance ? importance->data() + (r / rows_per_matrix) * n_cols : nullptr;
      quantize(src + r * n_cols, out.data() + r * out_row_bytes, static_cast<int64_t>(n_cols), weights);
    }
  });
  return status;
}

void copy_metadata(const gguf::GgufFile& in, const QuantizeParams& params, const ImportanceMatrix* imatrix,
                   gguf::GgufWriter& out) {
  for (const gguf::KeyValue& kv : in.metadata()) {
    if (!kv.key.starts_with("split.")) out.set_value(kv.key, kv.value);
  }
  out.set<uint32_t>("general.quantization_version", kQuantizationVersion);
  if (params.preset) out.set<uint32_t>("general.file_type", static_cast<uint32_t>(params.preset->file_type));
  if (imatrix != nullptr) {
    out.set_string("quantize.imatrix.file", params.imatrix_path);
    if (!imatrix->datasets.empty()) out.set_string("quantize.imatrix.dataset", imatrix->datasets[0]);
    out.set<uint32_t>("quantize.imatrix.entries_count", static_cast<uint32_t>(imatrix->weights.size()));
    out.set<uint32_t>("quantize.imatrix.chunks_count", imatrix->chunk_count);
  }
}

}  // namespace

Result<QuantizeReport> quantize_model(const QuantizeParams& params, const QuantizeProgress& progress) {
  Result<gguf::GgufFile> file = gguf::GgufFile::open(params.input_path);
  if (!file) return file.status();
  std::optional<ImportanceMatrix> imatrix;
  if (!params.imatrix_path.empty()) {
    Result<ImportanceMatrix> loaded = load_imatrix(params.imatrix_path);
    if (!loaded) return loaded.status();
    imatrix = std::move(loaded.value());
  }
  for (const TensorTypeOverride& o : params.tensor_types) {
    try {
      std::regex check(o.pattern);
    } catch (const std::regex_error& e) {
      return Status::error(fmt::format("--tensor-type: invalid regex '{}': {}", o.pattern, e.what()));
    }
  }

  QuantizeReport report;
  report.n_threads = params.n_threads > 0 ? params.n_threads : static_cast<int>(std::thread::hardware_concurrency());
  report.imatrix_entries = imatrix ? imatrix->weights.size() : 0;
  Quantizer quantizer(params, imatrix ? &*imatrix : nullptr);
  std::optional<TypeSelector> selector;
  if (params.preset) selector.emplace(*params.preset, model_facts(*file, imatrix.has_value()));

  std::vector<std::string_view> names;
  for (const gguf::TensorInfo& t : file->tensors()) names.push_back(t.name);
  const std::vector<size_t> order = tensor_write_order(names);
  for (size_t index : order) {  // plan everything first: a bad choice fails before any writing
    Result<TensorPlan> plan = quantizer.plan(file->tensors()[index], selector ? &*selector : nullptr);
    if (!plan) return plan.status();
    report.bytes_before += plan->bytes_before;
    report.bytes_after += plan->bytes_after;
    report.tensors.push_back(std::move(plan.value()));
  }
  if (params.dry_run) {
    for (size_t i = 0; i < report.tensors.size(); ++i) progress(report.tensors[i], i, report.tensors.size());
    return report;
  }

  gguf::GgufWriter writer;
  copy_metadata(*file, params, imatrix ? &*imatrix : nullptr, writer);
  for (size_t i = 0; i < order.size(); ++i) {
    const gguf::TensorInfo& t = file->tensors()[order[i]];
    const TensorPlan& plan = report.tensors[i];
    auto produce = [&, i](std::span<uint8_t> out) -> Status {
      Status s = quantizer.convert(t, plan, out, report.n_threads);
      if (s) progress(plan, i, report.tensors.size());
      return s;
    };
    if (Status s = writer.add_tensor(t.name, plan.to, plan.shape, produce); !s) return s;
  }
  if (Status s = writer.write(params.output_path); !s) return s;
  return report;
}

}  // namespace tessera::model

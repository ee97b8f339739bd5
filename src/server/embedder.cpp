#include "server/embedder.h"

#include <fmt/format.h>

#include <cmath>
#include <string>

namespace tessera::server {

Result<Pooling> parse_pooling(std::string_view name) {
  if (name == "mean") return Pooling::kMean;
  if (name == "cls") return Pooling::kCls;
  if (name == "last") return Pooling::kLast;
  return Status::error(fmt::format("unknown pooling '{}' (expected mean, cls or last)", name));
}

const char* pooling_name(Pooling pooling) {
  switch (pooling) {
    case Pooling::kMean: return "mean";
    case Pooling::kCls: return "cls";
    case Pooling::kLast: return "last";
  }
  return "mean";
}

Pooling model_pooling(const model::Model& model) {
  const gguf::Value* arch = model.file().find("general.architecture");
  const std::optional<std::string_view> name = arch ? arch->get_string() : std::nullopt;
  if (!name) return Pooling::kMean;
  const gguf::Value* v = model.file().find(fmt::format("{}.pooling_type", *name));
  const std::optional<int64_t> type = v ? v->get_signed() : std::nullopt;
  if (type == 2) return Pooling::kCls;
  if (type == 3) return Pooling::kLast;
  return Pooling::kMean;
}

Embedder::Embedder(std::shared_ptr<const model::Model> model, EmbedderParams params)
    : model_(std::move(model)), params_(params) {}

Result<std::vector<float>> Embedder::embed(std::span<const int32_t> tokens) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0) return Status::error("the input has no tokens");
  if (n > n_ctx()) {
    return Status::error(fmt::format("the input has {} tokens, more than the {} an embedding may have", n, n_ctx()));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (!forward_) {
    Result<std::unique_ptr<model::ForwardPass>> fp = model::ForwardPass::create(model_, params_.forward);
    if (!fp) return fp.status();
    forward_ = std::move(*fp);
  }
  forward_->kv_cache().clear();
  // Only the rows the pooling reads leave the layers.
  runtime::Batch batch;
  for (int64_t t = 0; t < n; ++t) {
    const bool out = params_.pooling == Pooling::kMean || (params_.pooling == Pooling::kCls && t == 0) ||
                     (params_.pooling == Pooling::kLast && t == n - 1);
    batch.add(tokens[static_cast<size_t>(t)], static_cast<int32_t>(t), 0, out);
  }
  Status st = forward_->decode_hidden(batch, hidden_, nullptr);
  forward_->kv_cache().clear();
  if (!st) return st;
  const int64_t e = model_->hparams().n_embd;
  const int64_t rows = static_cast<int64_t>(hidden_.size()) / e;
  std::vector<double> sum(static_cast<size_t>(e), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < e; ++i) sum[static_cast<size_t>(i)] += hidden_[static_cast<size_t>(r * e + i)];
  }
  double norm2 = 0.0;
  for (double& x : sum) {
    x /= static_cast<double>(rows);
    norm2 += x * x;
  }
  // A zero vector stays zero rather than becoming NaN.
  const double inv = norm2 > 0.0 ? 1.0 / std::sqrt(norm2) : 0.0;
  std::vector<float> out(static_cast<size_t>(e));
  for (int64_t i = 0; i < e; ++i) out[static_cast<size_t>(i)] = static_cast<float>(sum[static_cast<size_t>(i)] * inv);
  return out;
}

}  // namespace tessera::server

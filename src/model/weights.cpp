#include "model/weights.h"

#include <algorithm>
#include <unordered_set>

#include <fmt/format.h>

#include "quant/dispatch.h"

namespace tessera::model {
namespace {

using R = TensorRole;

// Expected shape in ggml order ({row length, rows}); rows 0 for 1-D tensors.
struct Shape {
  int64_t cols;
  int64_t rows;
};

// `layer` < 0 for whole-model tensors.
Shape expected_shape(TensorRole role, const Hparams& hp, int layer) {
  const int64_t e = hp.n_embd;
  const int64_t il = std::max(layer, 0);
  const int64_t nq = hp.n_embd_q(il), nk = hp.n_embd_k_gqa(il), nv = hp.n_embd_v_gqa(il), ff = hp.n_ff_at(il);
  const int64_t qkv = nq + nk + nv;
  switch (role) {
    case R::kTokenEmbd:
    case R::kOutput: return {e, hp.n_vocab};
    case R::kRopeFreqs:
    case R::kRopeLong:
    case R::kRopeShort: return {hp.rope.n_rot / 2, 0};
    case R::kOutputNorm:
    case R::kOutputNormB:
    case R::kAttnNorm:
    case R::kAttnNormB:
    case R::kAttnOutB:
    case R::kAttnPostNorm:
    case R::kFfnNorm:
    case R::kFfnNormB:
    case R::kFfnPostNorm: return {e, 0};
    case R::kAttnQ: return {e, nq};
    case R::kAttnK: return {e, nk};
    case R::kAttnV: return {e, nv};
    case R::kAttnQkv: return {e, qkv};
    case R::kAttnQB: return {nq, 0};
    case R::kAttnKB: return {nk, 0};
    case R::kAttnVB: return {nv, 0};
    case R::kAttnQkvB: return {qkv, 0};
    case R::kAttnOut: return {hp.n_head_at(il) * hp.head_dim_v, e};
    case R::kAttnQNorm:
    case R::kAttnKNorm: return {hp.head_dim_k, 0};
    case R::kFfnGate: return {e, ff};
    case R::kFfnUp: return {e, hp.arch->fused_gate_up ? 2 * ff : ff};
    case R::kFfnDown: return {ff, e};
    case R::kCount: break;
  }
  TESSERA_CHECK(false, "unknown tensor role");
  return {0, 0};
}

std::string shape_string(const gguf::TensorInfo& t) {
  std::string s = "[";
  for (uint32_t d = 0; d < t.n_dims; ++d) s += fmt::format("{}{}", d ? ", " : "", t.shape[d]);
  return s + "]";
}

// Checks shape and that the forward pass can use the tensor's type.
Status check_tensor(const gguf::TensorInfo& t, TensorRole role, const Hparams& hp, int layer) {
  const Shape want = expected_shape(role, hp, layer);
  const bool is_matrix = want.rows > 0;
  const bool ok = is_matrix ? (t.n_dims == 2 && static_cast<int64_t>(t.shape[0]) == want.cols &&
                               static_cast<int64_t>(t.shape[1]) == want.rows)
                            : (t.n_dims == 1 && static_cast<int64_t>(t.shape[0]) == want.cols);
  if (!ok) {
    const std::string expected =
        is_matrix ? fmt::format("[{}, {}]", want.cols, want.rows) : fmt::format("[{}]", want.cols);
    return Status::error(
        fmt::format("tensor '{}' has shape {}, expected {} (ggml order)", t.name, shape_string(t), expected));
  }
  const quant::TypeTraits& traits = quant::type_traits(t.type);
  if (!is_matrix) {
    // Norm weights, biases and rope factors are read directly as f32.
    if (t.type != quant::TensorType::kF32) {
      return Status::error(fmt::format("tensor '{}' has type {}, expected f32", t.name, traits.name));
    }
    return Status();
  }
  if (role == R::kTokenEmbd && traits.dequantize == nullptr) {
    return Status::error(fmt::format("tensor '{}': type {} cannot be dequantized", t.name, traits.name));
  }
  // token_embd is also the output matrix when tied, so it needs a dot kernel as well.
  if (quant::kernels().vec_dot[static_cast<size_t>(t.type)] == nullptr) {
    return Status::error(fmt::format("tensor '{}': type {} has no matmul kernel", t.name, traits.name));
  }
  return Status();
}

Status bind_role(const gguf::GgufFile& file, const Hparams& hp, TensorRole role, int layer, TensorSet& set,
                 std::unordered_set<std::string_view>& used) {
  const ArchInfo& arch = *hp.arch;
  const bool required = (arch.required & role_bit(role)) != 0;
  const bool optional = (arch.optional & role_bit(role)) != 0;
  if (!required && !optional) return Status();
  const std::string name = tensor_name(role, layer);
  const gguf::TensorInfo* t = file.find_tensor(name);
  if (t == nullptr) {
    if (required) return Status::error(fmt::format("{} model: missing tensor '{}'", arch.name, name));
    return Status();
  }
  if (Status s = check_tensor(*t, role, hp, layer); !s.ok()) return s;
  set.tensors[static_cast<size_t>(role)] = t;
  used.insert(t->name);
  return Status();
}

}  // namespace

Result<ModelWeights> bind_weights(const gguf::GgufFile& file, const Hparams& hp) {
  ModelWeights w;
  std::unordered_set<std::string_view> used;
  w.layers.resize(static_cast<size_t>(hp.n_layer));
  for (int r = 0; r < kTensorRoleCount; ++r) {
    const auto role = static_cast<TensorRole>(r);
    if (tensor_role_per_layer(role)) {
      for (int64_t il = 0; il < hp.n_layer; ++il) {
        Status s = bind_role(file, hp, role, static_cast<int>(il), w.layers[static_cast<size_t>(il)], used);
        if (!s.ok()) return s;
      }
    } else if (Status s = bind_role(file, hp, role, -1, w.global, used); !s.ok()) {
      return s;
    }
  }
  for (const gguf::TensorInfo& t : file.tensors()) {
    if (!used.contains(t.name)) {
      return Status::error(fmt::format("{} model: unexpected tensor '{}' (not part of this architecture's graph)",
                                       hp.arch->name, t.name));
    }
  }
  if (w.global.has(R::kRopeLong) != w.global.has(R::kRopeShort)) {
    return Status::error(
        fmt::format("{} model: LongRoPE needs both 'rope_factors_long.weight' and "
                    "'rope_factors_short.weight'",
                    hp.arch->name));
  }
  w.output = w.global.has(R::kOutput) ? w.global.get(R::kOutput) : w.global.get(R::kTokenEmbd);
  return w;
}

Result<std::shared_ptr<const Model>> Model::load(const std::string& path) {
  Result<gguf::GgufFile> file = gguf::GgufFile::open(path);
  if (!file.ok()) return file.status();
  Result<Hparams> hp = load_hparams(*file);
  if (!hp.ok()) return Status::error(fmt::format("{}: {}", path, hp.error()));
  // Bind after the file has its final home: the views point into it.
  std::shared_ptr<Model> model(new Model(std::move(file.value()), std::move(hp.value()), ModelWeights{}));
  Result<ModelWeights> w = bind_weights(model->file_, model->hparams_);
  if (!w.ok()) return Status::error(fmt::format("{}: {}", path, w.error()));
  model->weights_ = std::move(w.value());
  return std::shared_ptr<const Model>(std::move(model));
}

}  // namespace tessera::model

#include "model/forward.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "ops/simd_kernels.h"
#include "quant/dispatch.h"
#include "tessera/check.h"

namespace tessera::model {

using R = TensorRole;

// Activations of the current micro-batch; n = batch size. Reused across decode() calls.
struct ForwardPass::Scratch {
  std::vector<float> x;                             // [n, n_embd] the residual stream
  std::vector<float> cur;                           // [n, n_embd] normed input of a block
  std::vector<float> proj;                          // [n, n_embd] a block's output
  std::vector<float> q;                             // [n, n_head * head_dim_k]
  std::vector<float> k;                             // [n, n_head_kv * head_dim_k]
  std::vector<float> v;                             // [n, n_head_kv * head_dim_v]
  std::vector<float> qkv;                           // [n, q + k + v] fused projection (phi3)
  std::vector<float> attn;                          // [n, n_head * head_dim_v]
  std::vector<float> gate;                          // [n, n_ff] (or [n, 2 n_ff] when fused with up)
  std::vector<float> up;                            // [n, n_ff]
  std::vector<uint8_t> acts[kMaxLinearJobs];        // [n, row_bytes(act type, k)] converted activations
  std::vector<std::vector<uint8_t>> thread_matmul;  // [n_threads] matmul() scratch
  std::vector<float> lora_mid, lora_out;            // [n, rank] and [n, rows]: one adapter's update
  // RoPE angles per token for global and sliding-window layers: [n, n_rot / 2] each.
  std::vector<float> cos_g, sin_g, cos_l, sin_l;
  std::vector<float> q_temp;  // [n] attention-temperature multiplier of each token's queries
  // Per sequence: its cells and their positions, refreshed after allocation.
  std::vector<std::vector<int32_t>> seq_cells, seq_pos;
  // The sequences of the current micro-batch, and each one's entries (batch indices, in order).
  std::vector<int32_t> batch_seqs;
  std::vector<std::vector<int32_t>> seq_tokens;
  struct AttnItem {
    int32_t seq;
    int64_t kv_head, t0, t1;  // tokens [t0, t1) of seq_tokens[seq]
  };
  std::vector<AttnItem> attn_items;
  std::vector<std::vector<float>> thread_attn;  // [n_threads] attention_tile() scratch
};

namespace {

const float* f32_data(const gguf::TensorInfo* t) {
  return t ? reinterpret_cast<const float*>(t->data) : nullptr;
}

ops::RopeConfig rope_config(const Hparams& hp, const RopeParams& rp, const gguf::TensorInfo* freq_factors) {
  ops::RopeConfig c;
  c.mode = hp.arch->rope == RopeStyle::kNeox ? ops::RopeMode::kNeox : ops::RopeMode::kNormal;
  c.n_rot = rp.n_rot;
  c.freq_base = rp.freq_base;
  c.freq_scale = rp.freq_scale;
  c.attn_factor = rp.attn_factor;
  if (rp.scaling == RopeScaling::kYarn) {
    c.ext_factor = rp.ext_factor;
    c.beta_fast = rp.beta_fast;
    c.beta_slow = rp.beta_slow;
    c.n_ctx_orig = rp.n_ctx_orig;
  }
  c.freq_factors = f32_data(freq_factors);
  return c;
}

// The per-frequency divisors: Llama 3.1's rope_freqs, or phi3 LongRoPE's long factors when the
// context exceeds the original one and its short factors otherwise (llama.cpp chooses by n_ctx,
// transformers by the sequence length; they agree while prompts fit the context they chose).
const gguf::TensorInfo* rope_factors(const Model& m, int64_t n_ctx) {
  const TensorSet& G = m.weights().global;
  if (G.has(R::kRopeFreqs)) return G.get(R::kRopeFreqs);
  if (!G.has(R::kRopeLong)) return nullptr;
  const Hparams& hp = m.hparams();
  const int64_t orig = hp.n_ctx_orig > 0 ? hp.n_ctx_orig : hp.n_ctx_train;
  return n_ctx > orig ? G.get(R::kRopeLong) : G.get(R::kRopeShort);
}

std::vector<int64_t> kv_widths(const Hparams& hp, bool keys) {
  std::vector<int64_t> w;
  for (int64_t il = 0; il < hp.n_layer; ++il) w.push_back(keys ? hp.n_embd_k_gqa(il) : hp.n_embd_v_gqa(il));
  return w;
}

}  // namespace

ForwardPass::ForwardPass(std::shared_ptr<const Model> model, const ForwardParams& params)
    : model_(std::move(model)),
      kv_(params.n_ctx > 0 ? params.n_ctx : model_->hparams().n_ctx_train, kv_widths(model_->hparams(), true),
          kv_widths(model_->hparams(), false), params.kv_type),
      rope_factors_(rope_factors(*model_, kv_.n_ctx())),
      pool_(params.n_threads),
      pool_batch_(params.n_threads_batch > 0 && params.n_threads_batch != params.n_threads
                      ? std::make_unique<runtime::ThreadPool>(params.n_threads_batch)
                      : nullptr),
      n_ubatch_(params.n_ubatch),
      s_(std::make_unique<Scratch>()) {
  s_->seq_cells.resize(runtime::KvCache::kMaxSeqs);
  s_->seq_pos.resize(runtime::KvCache::kMaxSeqs);
  s_->seq_tokens.resize(runtime::KvCache::kMaxSeqs);
  s_->thread_matmul.resize(static_cast<size_t>(std::max(params.n_threads, params.n_threads_batch)));
  s_->thread_attn.resize(static_cast<size_t>(std::max(params.n_threads, params.n_threads_batch)));
}

ForwardPass::~ForwardPass() = default;

Result<std::unique_ptr<ForwardPass>> ForwardPass::create(std::shared_ptr<const Model> model,
                                                         const ForwardParams& params) {
  if (model == nullptr) return Status::error("no model");
  if (params.n_threads < 1 || params.n_threads > 1024) {
    return Status::error(fmt::format("thread count {} must be in [1, 1024]", params.n_threads));
  }
  if (params.n_threads_batch < 0 || params.n_threads_batch > 1024) {
    return Status::error(fmt::format("batch thread count {} must be in [0, 1024]", params.n_threads_batch));
  }
  if (params.n_ctx < 0) return Status::error(fmt::format("context size {} must be >= 0", params.n_ctx));
  if (params.n_ubatch < 1) return Status::error(fmt::format("micro-batch size {} must be >= 1", params.n_ubatch));
  const Hparams& hp = model->hparams();
  const quant::TypeTraits& kv = quant::type_traits(ops::kv_tensor_type(params.kv_type));
  if (hp.head_dim_k % kv.block_size != 0 || hp.head_dim_v % kv.block_size != 0) {
    return Status::error(fmt::format("KV cache type {} needs head dimensions divisible by {} (model has {} and {})",
                                     kv.name, kv.block_size, hp.head_dim_k, hp.head_dim_v));
  }
  return std::unique_ptr<ForwardPass>(new ForwardPass(std::move(model), params));
}

void ForwardPass::linear(const gguf::TensorInfo& w, const float* in, int64_t n, float* out) {
  const LinearJob job{&w, out};
  linear_jobs(std::span<const LinearJob>(&job, 1), in, n);
}

void ForwardPass::linear_jobs(std::span<const LinearJob> jobs, const float* in, int64_t n) {
  linear_base(jobs, in, n);
  if (lora_.empty()) return;
  for (const LinearJob& job : jobs) {
    const auto it = lora_.find(job.w);
    if (it == lora_.end()) continue;
    const int64_t rows = static_cast<int64_t>(job.w->shape[1]);
    for (const AppliedLora& l : it->second) {
      const int64_t rank = static_cast<int64_t>(l.f.a->shape[1]);
      s_->lora_mid.resize(static_cast<size_t>(n * rank));
      s_->lora_out.resize(static_cast<size_t>(n * rows));
      const LinearJob a{l.f.a, s_->lora_mid.data()};
      const LinearJob b{l.f.b, s_->lora_out.data()};
      linear_base(std::span<const LinearJob>(&a, 1), in, n);                   // [n, rank]
      linear_base(std::span<const LinearJob>(&b, 1), s_->lora_mid.data(), n);  // [n, rows]
      for (int64_t i = 0; i < n * rows; ++i) job.out[i] += l.scale * s_->lora_out[static_cast<size_t>(i)];
    }
  }
}

Status ForwardPass::set_adapters(std::vector<LoraAdapter> adapters) {
  std::unordered_map<const gguf::TensorInfo*, std::vector<AppliedLora>> applied;
  for (size_t ai = 0; ai < adapters.size(); ++ai) {
    const LoraAdapter& adapter = adapters[ai];
    for (const auto& [name, f] : adapter.by_weight) {
      const gguf::TensorInfo* w = model_->file().find_tensor(name);
      if (w == nullptr || w->n_dims != 2) {
        return Status::error(fmt::format("adapter {}: '{}' is not a weight matrix of the model", ai, name));
      }
      if (f.a == nullptr || f.b == nullptr || f.a->n_dims != 2 || f.b->n_dims != 2 || f.a->shape[0] != w->shape[0] ||
          f.b->shape[1] != w->shape[1] || f.a->shape[1] != f.b->shape[0]) {
        return Status::error(fmt::format(
            "adapter {}: factors of '{}' must be A {{{}, rank}} and B {{rank, {}}} (ggml order), got A {{{}, {}}} "
            "and B {{{}, {}}}",
            ai, name, w->shape[0], w->shape[1], f.a ? f.a->shape[0] : 0, f.a ? f.a->shape[1] : 0,
            f.b ? f.b->shape[0] : 0, f.b ? f.b->shape[1] : 0));
      }
      for (const gguf::TensorInfo* t : {f.a, f.b}) {
        const quant::TypeTraits& tr = quant::type_traits(t->type);
        if (quant::kernels().vec_dot[static_cast<size_t>(t->type)] == nullptr || t->shape[0] % tr.block_size != 0) {
          return Status::error(
              fmt::format("adapter {}: factor '{}' of '{}' has type {} with no dot kernel for its shape", ai, t->name,
                          name, tr.name));
        }
      }
      applied[w].push_back({f, adapter.scale});
    }
  }
  lora_ = std::move(applied);
  adapters_ = std::move(adapters);
  return Status();
}

void ForwardPass::linear_base(std::span<const LinearJob> jobs, const float* in, int64_t n) {
  const quant::KernelTable& table = quant::kernels();
  TESSERA_CHECK(!jobs.empty() && jobs.size() <= kMaxLinearJobs, "1 to kMaxLinearJobs matmuls per call");
  const int64_t k = static_cast<int64_t>(jobs[0].w->shape[0]);
  // The input converted once per activation type the weights want (usually one).
  quant::MatmulArgs args[kMaxLinearJobs];
  quant::TensorType act_types[kMaxLinearJobs];
  size_t n_types = 0;
  for (size_t j = 0; j < jobs.size(); ++j) {
    const gguf::TensorInfo& w = *jobs[j].w;
    TESSERA_CHECK(static_cast<int64_t>(w.shape[0]) == k, "matmuls of one call share the input");
    const quant::TensorType act_type = quant::type_traits(w.type).vec_dot_type;
    size_t slot = 0;
    while (slot < n_types && act_types[slot] != act_type) ++slot;
    const uint64_t act_row = *quant::row_bytes(act_type, static_cast<uint64_t>(k));
    if (slot == n_types) {
      act_types[n_types++] = act_type;
      s_->acts[slot].resize(static_cast<size_t>(n) * act_row);
    }
    args[j] =
        quant::MatmulArgs{w.type, w.data, k, s_->acts[slot].data(), n, jobs[j].out, static_cast<int64_t>(w.shape[1])};
  }
  const auto quantize = [&](int64_t t0, int64_t t1) {
    for (size_t slot = 0; slot < n_types; ++slot) {
      // A weight type whose partner is act_types[slot] (quantize_activations takes the weight type).
      size_t j = 0;
      while (quant::type_traits(jobs[j].w->type).vec_dot_type != act_types[slot]) ++j;
      const uint64_t act_row = *quant::row_bytes(act_types[slot], static_cast<uint64_t>(k));
      quant::quantize_activations(table, jobs[j].w->type, in + t0 * k, k, t1 - t0,
                                  s_->acts[slot].data() + t0 * act_row);
    }
  };
  // A few tokens convert faster on this thread than a pool round trip.
  if (n <= 4) {
    quantize(0, n);
  } else {
    active_->run([&](int ith, int nth) {
      int64_t t0, t1;
      runtime::ThreadPool::split_range(n, ith, nth, t0, t1);
      if (t1 > t0) quantize(t0, t1);
    });
  }
  // One pool round for every matmul. A single token: each thread takes its share of each
  // matrix's rows. A batch: threads take blocks of kBlockRows rows from a shared counter, so a
  // thread that starts late or runs slower (a shared machine) does fewer, and the other is not
  // left waiting at the end; each thread re-lays a matrix's activations once, on its first block.
  if (n == 1) {
    active_->run([&](int ith, int nth) {
      std::vector<uint8_t>& scratch = s_->thread_matmul[static_cast<size_t>(ith)];
      for (size_t j = 0; j < jobs.size(); ++j) {
        int64_t r0, r1;
        runtime::ThreadPool::split_range(args[j].out_stride, ith, nth, r0, r1);
        if (r1 <= r0) continue;
        const size_t bytes = quant::matmul_scratch_bytes(table, args[j]);
        if (scratch.size() < bytes) scratch.resize(bytes);
        quant::matmul(table, args[j], r0, r1, scratch);
      }
    });
    return;
  }
  constexpr int64_t kBlockRows = 64;
  int64_t first_block[kMaxLinearJobs + 1] = {0};  // blocks of jobs [0, j) come before job j's
  for (size_t j = 0; j < jobs.size(); ++j) {
    first_block[j + 1] = first_block[j] + (args[j].out_stride + kBlockRows - 1) / kBlockRows;
  }
  std::atomic<int64_t> next{0};
  active_->run([&](int ith, int) {
    std::vector<uint8_t>& scratch = s_->thread_matmul[static_cast<size_t>(ith)];
    size_t prepared = jobs.size();  // the job whose activations this thread's scratch holds
    size_t j = 0;
    for (int64_t b = next.fetch_add(1); b < first_block[jobs.size()]; b = next.fetch_add(1)) {
      while (b >= first_block[j + 1]) ++j;
      quant::MatmulArgs job = args[j];
      if (prepared != j) {
        const size_t bytes = quant::matmul_scratch_bytes(table, job);
        if (scratch.size() < bytes) scratch.resize(bytes);
        prepared = j;
      } else {
        job.acts_prepared = true;
      }
      const int64_t r0 = (b - first_block[j]) * kBlockRows;
      quant::matmul(table, job, r0, std::min(job.out_stride, r0 + kBlockRows), scratch);
    }
  });
}

void ForwardPass::add_bias(const gguf::TensorInfo* b, int64_t n, float* rows) {
  if (b == nullptr) return;
  const int64_t m = static_cast<int64_t>(b->shape[0]);
  const float* bias = f32_data(b);
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t i = 0; i < m; ++i) rows[t * m + i] += bias[i];
  }
}

void ForwardPass::norm_rows(const gguf::TensorInfo* w, const gguf::TensorInfo* b, const float* in, int64_t n,
                            float* out) {
  const Hparams& hp = model_->hparams();
  const int64_t e = hp.n_embd;
  const auto rows = [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      if (hp.arch->norm == NormType::kRms) {
        ops::rmsnorm(in + t * e, f32_data(w), hp.norm_eps, e, out + t * e);
      } else {
        ops::layernorm(in + t * e, f32_data(w), f32_data(b), hp.norm_eps, e, out + t * e);
      }
    }
  };
  if (n <= 2) {  // a row or two: cheaper here than a pool round trip
    rows(0, n);
    return;
  }
  active_->run([&](int ith, int nth) {
    int64_t t0, t1;
    runtime::ThreadPool::split_range(n, ith, nth, t0, t1);
    rows(t0, t1);
  });
}

void ForwardPass::embed(const runtime::Batch& batch) {
  const Hparams& hp = model_->hparams();
  const int64_t n = batch.size();
  const int64_t e = hp.n_embd;
  s_->x.resize(static_cast<size_t>(n * e));
  if (batch.tokens.empty()) {
    std::copy(batch.embd.begin(), batch.embd.end(), s_->x.begin());  // raw embeddings: no scaling
    return;
  }
  const gguf::TensorInfo& table = *model_->weights().global.get(R::kTokenEmbd);
  const quant::TypeTraits& traits = quant::type_traits(table.type);
  const uint64_t row = *quant::row_bytes(table.type, static_cast<uint64_t>(e));
  for (int64_t t = 0; t < n; ++t) {
    const int32_t id = batch.tokens[static_cast<size_t>(t)];
    float* dst = s_->x.data() + t * e;
    traits.dequantize(table.data + static_cast<uint64_t>(id) * row, dst, e);
    for (int64_t i = 0; i < e; ++i) dst[i] *= hp.embed_scale;
  }
}

void ForwardPass::project_qkv(int64_t il, int64_t n) {
  const Hparams& hp = model_->hparams();
  const TensorSet& L = model_->weights().layers[static_cast<size_t>(il)];
  const int64_t nq = hp.n_embd_q(il), nk = hp.n_embd_k_gqa(il), nv = hp.n_embd_v_gqa(il);
  s_->q.resize(static_cast<size_t>(n * nq));
  s_->k.resize(static_cast<size_t>(n * nk));
  s_->v.resize(static_cast<size_t>(n * nv));
  if (hp.arch->fused_qkv) {
    const int64_t total = nq + nk + nv;
    s_->qkv.resize(static_cast<size_t>(n * total));
    linear(*L.get(R::kAttnQkv), s_->cur.data(), n, s_->qkv.data());
    add_bias(L.get(R::kAttnQkvB), n, s_->qkv.data());
    for (int64_t t = 0; t < n; ++t) {  // rows are [q | k | v]
      const float* row = s_->qkv.data() + t * total;
      std::copy(row, row + nq, s_->q.data() + t * nq);
      std::copy(row + nq, row + nq + nk, s_->k.data() + t * nk);
      std::copy(row + nq + nk, row + total, s_->v.data() + t * nv);
    }
    return;
  }
  const LinearJob qkv[] = {
      {L.get(R::kAttnQ), s_->q.data()}, {L.get(R::kAttnK), s_->k.data()}, {L.get(R::kAttnV), s_->v.data()}};
  linear_jobs(qkv, s_->cur.data(), n);
  add_bias(L.get(R::kAttnQB), n, s_->q.data());
  add_bias(L.get(R::kAttnKB), n, s_->k.data());
  add_bias(L.get(R::kAttnVB), n, s_->v.data());
}

void ForwardPass::attention_block(int64_t il, const runtime::Batch& batch, const std::vector<int32_t>& slots) {
  const Hparams& hp = model_->hparams();
  const TensorSet& L = model_->weights().layers[static_cast<size_t>(il)];
  const int64_t n = batch.size();
  const int64_t dk = hp.head_dim_k;
  norm_rows(L.get(R::kAttnNorm), L.get(R::kAttnNormB), s_->x.data(), n, s_->cur.data());
  project_qkv(il, n);

  const bool swa = hp.is_swa(il);
  const ops::RopeConfig rope = rope_config(hp, hp.rope_for(il), rope_factors_);
  const int64_t half = rope.n_rot / 2;
  const int64_t n_head = hp.n_head_at(il), n_head_kv = hp.n_head_kv_at(il);
  const int64_t nq = hp.n_embd_q(il), nk = hp.n_embd_k_gqa(il), nv = hp.n_embd_v_gqa(il);
  const quant::TypeTraits& kv_traits = quant::type_traits(ops::kv_tensor_type(kv_.type()));
  // Per token: QK-norm (one weight shared by all heads), RoPE, then the keys and values into the
  // token's cache cell (cells are distinct, so threads split the tokens; a single token is done
  // here, cheaper than a pool round trip).
  const auto per_token = [&](int ith, int nth) {
    int64_t t0, t1;
    runtime::ThreadPool::split_range(n, ith, nth, t0, t1);
    for (int64_t t = t0; t < t1; ++t) {
      float* q = s_->q.data() + t * nq;
      float* k = s_->k.data() + t * nk;
      if (L.has(R::kAttnQNorm)) {
        for (int64_t h = 0; h < n_head; ++h)
          ops::rmsnorm(q + h * dk, f32_data(L.get(R::kAttnQNorm)), hp.norm_eps, dk, q + h * dk);
        for (int64_t h = 0; h < n_head_kv; ++h)
          ops::rmsnorm(k + h * dk, f32_data(L.get(R::kAttnKNorm)), hp.norm_eps, dk, k + h * dk);
      }
      const float* c = (swa ? s_->cos_l : s_->cos_g).data() + t * half;
      const float* si = (swa ? s_->sin_l : s_->sin_g).data() + t * half;
      ops::rope_apply(rope, c, si, q, n_head, dk);
      ops::rope_apply(rope, c, si, k, n_head_kv, dk);
      if (hp.attn_temp_scale != 0.0f) {
        const float temp = s_->q_temp[static_cast<size_t>(t)];
        for (int64_t i = 0; i < nq; ++i) q[i] *= temp;
      }

      const int32_t cell = slots[static_cast<size_t>(t)];
      const float* v = s_->v.data() + t * nv;
      // f32 copies, f16 rounds, q8_0 / q4_0 quantize each block (ggml's reference rounding).
      kv_traits.quantize(k, kv_.k_row(il, cell), nk, nullptr);
      kv_traits.quantize(v, kv_.v_row(il, cell), nv, nullptr);
    }
  };
  if (n == 1) {
    per_token(0, 1);
  } else {
    active_->run(per_token);
  }
  // Attend after every token of the batch is stored: each sees its own earlier tokens.
  attend(il, batch);

  s_->proj.resize(static_cast<size_t>(n * hp.n_embd));
  linear(*L.get(R::kAttnOut), s_->attn.data(), n, s_->proj.data());
  add_bias(L.get(R::kAttnOutB), n, s_->proj.data());
  if (L.has(R::kAttnPostNorm)) norm_rows(L.get(R::kAttnPostNorm), nullptr, s_->proj.data(), n, s_->proj.data());
  for (size_t i = 0; i < s_->proj.size(); ++i) s_->x[i] += s_->proj[i];
}

void ForwardPass::attend(int64_t il, const runtime::Batch& batch) {
  const Hparams& hp = model_->hparams();
  const int64_t n = batch.size();
  const int64_t n_head = hp.n_head_at(il), n_head_kv = hp.n_head_kv_at(il);
  s_->attn.resize(static_cast<size_t>(n * n_head * hp.head_dim_v));
  ops::AttentionParams p;
  p.n_head = n_head;
  p.n_head_kv = n_head_kv;
  p.head_dim_k = hp.head_dim_k;
  p.head_dim_v = hp.head_dim_v;
  p.scale = hp.attn_scale;
  p.softcap = hp.attn_softcap;
  p.n_swa = hp.is_swa(il) ? hp.n_swa : 0;
  // Work items: (sequence, kv head, tile of that sequence's tokens), about kTileRows query rows
  // each; taken from a shared counter, latest tiles (the most keys) first, to balance threads.
  constexpr int64_t kTileRows = 128;
  const int64_t tile = std::max<int64_t>(1, kTileRows / (n_head / n_head_kv));
  s_->attn_items.clear();
  for (int32_t seq : s_->batch_seqs) {
    const auto n_tok = static_cast<int64_t>(s_->seq_tokens[static_cast<size_t>(seq)].size());
    for (int64_t t0 = 0; t0 < n_tok; t0 += tile) {
      for (int64_t h = 0; h < n_head_kv; ++h) s_->attn_items.push_back({seq, h, t0, std::min(n_tok, t0 + tile)});
    }
  }
  std::reverse(s_->attn_items.begin(), s_->attn_items.end());
  std::atomic<size_t> next{0};
  const auto work = [&](int ith, int) {
    for (size_t i = next.fetch_add(1); i < s_->attn_items.size(); i = next.fetch_add(1)) {
      const Scratch::AttnItem& item = s_->attn_items[i];
      ops::KvView kv;
      kv.type = kv_.type();
      kv.k = kv_.k_layer(il);
      kv.v = kv_.v_layer(il);
      kv.k_row_bytes = kv_.k_row_bytes(il);
      kv.v_row_bytes = kv_.v_row_bytes(il);
      kv.cells = s_->seq_cells[static_cast<size_t>(item.seq)];
      kv.positions = s_->seq_pos[static_cast<size_t>(item.seq)];
      const std::vector<int32_t>& toks = s_->seq_tokens[static_cast<size_t>(item.seq)];
      ops::attention_tile(p, kv, item.kv_head,
                          std::span<const int32_t>(toks.data() + item.t0, static_cast<size_t>(item.t1 - item.t0)),
                          s_->q.data(), hp.n_embd_q(il), batch.pos.data(), s_->attn.data(), n_head * hp.head_dim_v,
                          s_->thread_attn[static_cast<size_t>(ith)]);
    }
  };
  // One item (a single token of a model with one KV head, e.g. gemma3 270M): no pool round.
  if (s_->attn_items.size() == 1) {
    work(0, 1);
  } else {
    active_->run(work);
  }
}

void ForwardPass::ffn_block(int64_t il, int64_t n) {
  const Hparams& hp = model_->hparams();
  const TensorSet& L = model_->weights().layers[static_cast<size_t>(il)];
  const int64_t ff = hp.n_ff_at(il);
  norm_rows(L.get(R::kFfnNorm), L.get(R::kFfnNormB), s_->x.data(), n, s_->cur.data());
  s_->up.resize(static_cast<size_t>(n * ff));
  if (hp.arch->fused_gate_up) {
    // ffn_up rows are [gate | up]: one matmul, then split.
    s_->gate.resize(static_cast<size_t>(n * 2 * ff));
    linear(*L.get(R::kFfnUp), s_->cur.data(), n, s_->gate.data());
    for (int64_t t = 0; t < n; ++t) {
      std::copy_n(s_->gate.data() + t * 2 * ff + ff, ff, s_->up.data() + t * ff);
      // Compacts the gate halves in place: destination [t ff, (t+1) ff) lies below every source
      // still to be read (>= 2t ff), and for t = 0 the half is already in place.
      if (t > 0) std::copy_n(s_->gate.data() + t * 2 * ff, ff, s_->gate.data() + t * ff);
    }
  } else {
    s_->gate.resize(static_cast<size_t>(n * ff));
    const LinearJob gate_up[] = {{L.get(R::kFfnGate), s_->gate.data()}, {L.get(R::kFfnUp), s_->up.data()}};
    linear_jobs(gate_up, s_->cur.data(), n);
  }
  const ops::OpKernels& ok = ops::op_kernels();
  const auto act = hp.arch->ffn == FfnType::kGeglu ? ok.geglu : ok.swiglu;
  // Element-wise, so any split gives the same result; one token's row is cheaper done here.
  const auto rows = [&](int ith, int nth) {
    int64_t t0, t1;
    runtime::ThreadPool::split_range(n, ith, nth, t0, t1);
    if (t1 > t0) act(s_->gate.data() + t0 * ff, s_->up.data() + t0 * ff, (t1 - t0) * ff, s_->gate.data() + t0 * ff);
  };
  if (n == 1) {
    rows(0, 1);
  } else {
    active_->run(rows);
  }
  s_->proj.resize(static_cast<size_t>(n * hp.n_embd));
  linear(*L.get(R::kFfnDown), s_->gate.data(), n, s_->proj.data());
  if (L.has(R::kFfnPostNorm)) norm_rows(L.get(R::kFfnPostNorm), nullptr, s_->proj.data(), n, s_->proj.data());
  for (size_t i = 0; i < s_->proj.size(); ++i) s_->x[i] += s_->proj[i];
}

void ForwardPass::compute_logits(const runtime::Batch& batch, std::vector<float>* logits, std::vector<float>* hidden) {
  const Hparams& hp = model_->hparams();
  const int64_t e = hp.n_embd;
  // Only the rows whose logits are wanted go through the (large) output matrix.
  int64_t n_out = 0;
  for (int64_t t = 0; t < batch.size(); ++t) {
    if (batch.output[static_cast<size_t>(t)] == 0) continue;
    std::copy_n(s_->x.data() + t * e, e, s_->x.data() + n_out * e);  // n_out <= t: safe in place
    ++n_out;
  }
  // resize, not assign: the output matmul writes every element, and a 262k-entry vocabulary
  // makes zeroing a megabyte per token (the caller's vector keeps its size between tokens).
  if (logits) logits->resize(static_cast<size_t>(n_out * hp.n_vocab));
  if (hidden) hidden->clear();
  if (n_out == 0) return;
  const TensorSet& G = model_->weights().global;
  norm_rows(G.get(R::kOutputNorm), G.get(R::kOutputNormB), s_->x.data(), n_out, s_->cur.data());
  if (hidden) hidden->assign(s_->cur.begin(), s_->cur.begin() + n_out * e);
  if (!logits) return;
  linear(*model_->weights().output, s_->cur.data(), n_out, logits->data());
  if (hp.final_softcap > 0) ops::softcap(logits->data(), static_cast<int64_t>(logits->size()), hp.final_softcap);
}

Status ForwardPass::decode(const runtime::Batch& batch, std::vector<float>& logits) {
  return decode_impl(batch, &logits, nullptr);
}

Status ForwardPass::decode_hidden(const runtime::Batch& batch, std::vector<float>& hidden, std::vector<float>* logits) {
  return decode_impl(batch, logits, &hidden);
}

Status ForwardPass::decode_impl(const runtime::Batch& batch, std::vector<float>* logits, std::vector<float>* hidden) {
  const Hparams& hp = model_->hparams();
  const int64_t n = batch.size();
  if (n == 0) return Status::error("empty batch");
  const bool by_token = !batch.tokens.empty();
  if ((by_token ? static_cast<int64_t>(batch.tokens.size()) : static_cast<int64_t>(batch.embd.size()) / hp.n_embd) !=
          n ||
      (!by_token && static_cast<int64_t>(batch.embd.size()) != n * hp.n_embd) ||
      static_cast<int64_t>(batch.seq_id.size()) != n || static_cast<int64_t>(batch.output.size()) != n) {
    return Status::error("batch fields disagree in length (tokens or embd, pos, seq_id, output)");
  }
  if (by_token && !batch.embd.empty()) return Status::error("a batch holds tokens or embeddings, not both");
  for (int64_t t = 0; by_token && t < n; ++t) {
    const int32_t id = batch.tokens[static_cast<size_t>(t)];
    if (id < 0 || id >= hp.n_vocab) {
      return Status::error(
          fmt::format("batch entry {}: token id {} is outside the vocabulary [0, {})", t, id, hp.n_vocab));
    }
  }
  // Checked for the whole batch up front, so no micro-batch can fail half-way.
  if (Status st = kv_.can_allocate(batch); !st.ok()) return st;
  if (n <= n_ubatch_) {  // one micro-batch: straight into the caller's vectors
    decode_ubatch(batch, logits, hidden);
    return Status();
  }
  if (logits) logits->clear();
  if (hidden) hidden->clear();
  std::vector<float> part, part_hidden;
  for (int64_t i0 = 0; i0 < n; i0 += n_ubatch_) {
    const int64_t i1 = std::min(n, i0 + n_ubatch_);
    runtime::Batch ub;
    auto take = [&](const auto& v, int64_t width) {
      using V = std::decay_t<decltype(v)>;
      return v.empty() ? V() : V(v.begin() + i0 * width, v.begin() + i1 * width);
    };
    ub.tokens = take(batch.tokens, 1);
    ub.embd = take(batch.embd, hp.n_embd);
    ub.pos = take(batch.pos, 1);
    ub.seq_id = take(batch.seq_id, 1);
    ub.output = take(batch.output, 1);
    decode_ubatch(ub, logits ? &part : nullptr, hidden ? &part_hidden : nullptr);
    if (logits) logits->insert(logits->end(), part.begin(), part.end());
    if (hidden) hidden->insert(hidden->end(), part_hidden.begin(), part_hidden.end());
  }
  return Status();
}

void ForwardPass::decode_ubatch(const runtime::Batch& batch, std::vector<float>* logits, std::vector<float>* hidden) {
  const Hparams& hp = model_->hparams();
  const int64_t n = batch.size();
  active_ = n > 1 && pool_batch_ != nullptr ? pool_batch_.get() : &pool_;
  Result<std::vector<int32_t>> slots = kv_.allocate(batch);
  TESSERA_CHECK(slots.ok(), "cells were checked by can_allocate");
  embed(batch);
  // RoPE angles depend only on the position: once per token for each layer kind.
  const ops::RopeConfig rg = rope_config(hp, hp.rope, rope_factors_);
  const ops::RopeConfig rl = rope_config(hp, hp.rope_swa, rope_factors_);
  const int64_t half = hp.rope.n_rot / 2;
  for (auto* buf : {&s_->cos_g, &s_->sin_g, &s_->cos_l, &s_->sin_l}) buf->resize(static_cast<size_t>(n * half));
  for (int64_t t = 0; t < n; ++t) {
    const int64_t pos = batch.pos[static_cast<size_t>(t)];
    ops::rope_angles(rg, pos, s_->cos_g.data() + t * half, s_->sin_g.data() + t * half);
    ops::rope_angles(rl, pos, s_->cos_l.data() + t * half, s_->sin_l.data() + t * half);
  }
  if (hp.attn_temp_scale != 0.0f) {
    // Llama 4 / Ministral 3 temperature tuning: 1 + scale * ln(1 + floor(pos / length)).
    s_->q_temp.resize(static_cast<size_t>(n));
    for (int64_t t = 0; t < n; ++t) {
      const int64_t steps = batch.pos[static_cast<size_t>(t)] / hp.attn_temp_length;
      s_->q_temp[static_cast<size_t>(t)] =
          1.0f + hp.attn_temp_scale * static_cast<float>(std::log1p(static_cast<double>(steps)));
    }
  }
  uint64_t seen = 0;  // each sequence's cell list once, however many entries it has
  s_->batch_seqs.clear();
  for (int64_t t = 0; t < n; ++t) {
    const int32_t seq = batch.seq_id[static_cast<size_t>(t)];
    if ((seen >> seq & 1) == 0) {
      seen |= uint64_t{1} << seq;
      s_->batch_seqs.push_back(seq);
      s_->seq_tokens[static_cast<size_t>(seq)].clear();
      kv_.seq_cells(seq, s_->seq_cells[static_cast<size_t>(seq)], s_->seq_pos[static_cast<size_t>(seq)]);
    }
    s_->seq_tokens[static_cast<size_t>(seq)].push_back(static_cast<int32_t>(t));
  }
  s_->cur.resize(static_cast<size_t>(n * hp.n_embd));
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    attention_block(il, batch, *slots);
    ffn_block(il, n);
  }
  compute_logits(batch, logits, hidden);
}

}  // namespace tessera::model

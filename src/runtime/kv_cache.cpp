#include "runtime/kv_cache.h"

#include <algorithm>
#include <unordered_set>

#include <fmt/format.h>

namespace tessera::runtime {
namespace {

bool in_range(int32_t pos, int32_t p0, int32_t p1) {
  return pos >= p0 && (p1 < 0 || pos < p1);
}

}  // namespace

KvCache::KvCache(int64_t n_layer, int64_t n_ctx, int64_t n_embd_k, int64_t n_embd_v, ops::KvType type)
    : KvCache(n_ctx, std::vector<int64_t>(static_cast<size_t>(std::max<int64_t>(n_layer, 0)), n_embd_k),
              std::vector<int64_t>(static_cast<size_t>(std::max<int64_t>(n_layer, 0)), n_embd_v), type) {}

KvCache::KvCache(int64_t n_ctx, std::vector<int64_t> n_embd_k, std::vector<int64_t> n_embd_v, ops::KvType type)
    : n_layer_(static_cast<int64_t>(n_embd_k.size())),
      n_ctx_(n_ctx),
      n_embd_k_(std::move(n_embd_k)),
      n_embd_v_(std::move(n_embd_v)),
      type_(type) {
  TESSERA_CHECK(n_layer_ > 0 && n_ctx > 0 && n_embd_v_.size() == n_embd_k_.size(),
                "KV cache dimensions must be positive");
  size_t k_total = 0, v_total = 0;
  for (int64_t il = 0; il < n_layer_; ++il) {
    const int64_t ek = n_embd_k_[static_cast<size_t>(il)], ev = n_embd_v_[static_cast<size_t>(il)];
    TESSERA_CHECK(ek > 0 && ev > 0, "KV cache dimensions must be positive");
    const auto k_row = quant::row_bytes(ops::kv_tensor_type(type), static_cast<uint64_t>(ek));
    const auto v_row = quant::row_bytes(ops::kv_tensor_type(type), static_cast<uint64_t>(ev));
    TESSERA_CHECK(k_row && v_row, "KV row lengths must be whole blocks of the KV type");
    layers_.push_back({*k_row, *v_row, k_total, v_total});
    k_total += static_cast<size_t>(n_ctx) * *k_row;
    v_total += static_cast<size_t>(n_ctx) * *v_row;
  }
  cells_.resize(static_cast<size_t>(n_ctx));
  k_.resize(k_total);
  v_.resize(v_total);
}

Status KvCache::can_allocate(const Batch& batch) const {
  const int64_t n = batch.size();
  std::unordered_set<uint64_t> taken;  // (seq, pos) pairs already present or in this batch
  int64_t free_cells = 0;
  for (const Cell& c : cells_) {
    free_cells += c.seqs == 0;
    for (int s = 0; c.seqs != 0 && s < kMaxSeqs; ++s) {
      if (c.seqs >> s & 1) taken.insert(static_cast<uint64_t>(s) << 32 | static_cast<uint32_t>(c.pos));
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    const int32_t seq = batch.seq_id[static_cast<size_t>(i)];
    const int32_t pos = batch.pos[static_cast<size_t>(i)];
    if (seq < 0 || seq >= kMaxSeqs) {
      return Status::error(fmt::format("batch entry {}: sequence id {} is outside [0, {})", i, seq, kMaxSeqs));
    }
    if (pos < 0) return Status::error(fmt::format("batch entry {}: negative position {}", i, pos));
    if (!taken.insert(static_cast<uint64_t>(seq) << 32 | static_cast<uint32_t>(pos)).second) {
      return Status::error(fmt::format("batch entry {}: sequence {} already has position {}", i, seq, pos));
    }
  }
  if (free_cells < n) {
    return Status::error(
        fmt::format("KV cache full: {} tokens do not fit in the {} free of {} cells", n, free_cells, n_ctx_));
  }
  return Status();
}

Result<std::vector<int32_t>> KvCache::allocate(const Batch& batch) {
  // Validate everything before touching any cell, so a failure leaves the cache unchanged.
  if (Status s = can_allocate(batch); !s.ok()) return s;
  const int64_t n = batch.size();
  std::vector<int32_t> slots;
  slots.reserve(static_cast<size_t>(n));
  for (int64_t probe = 0; probe < n_ctx_ && static_cast<int64_t>(slots.size()) < n; ++probe) {
    const int64_t c = (search_start_ + probe) % n_ctx_;
    if (cells_[static_cast<size_t>(c)].seqs == 0) slots.push_back(static_cast<int32_t>(c));
  }
  TESSERA_CHECK(static_cast<int64_t>(slots.size()) == n, "can_allocate counted the free cells");
  for (int64_t i = 0; i < n; ++i) {
    Cell& c = cells_[static_cast<size_t>(slots[static_cast<size_t>(i)])];
    c.pos = batch.pos[static_cast<size_t>(i)];
    c.seqs = uint64_t{1} << batch.seq_id[static_cast<size_t>(i)];
  }
  search_start_ = (slots.back() + 1) % n_ctx_;
  return slots;
}

void KvCache::seq_rm(int32_t seq, int32_t p0, int32_t p1) {
  const uint64_t mask = seq < 0 ? ~uint64_t{0} : uint64_t{1} << seq;
  for (Cell& c : cells_) {
    if ((c.seqs & mask) == 0 || !in_range(c.pos, p0, p1)) continue;
    c.seqs &= ~mask;
    if (c.seqs == 0) c.pos = -1;
  }
}

void KvCache::seq_cp(int32_t src, int32_t dst, int32_t p0, int32_t p1) {
  TESSERA_CHECK(src >= 0 && src < kMaxSeqs && dst >= 0 && dst < kMaxSeqs, "sequence id out of range");
  if (src == dst) return;
  for (Cell& c : cells_) {
    if ((c.seqs >> src & 1) && in_range(c.pos, p0, p1)) c.seqs |= uint64_t{1} << dst;
  }
}

void KvCache::clear() {
  for (Cell& c : cells_) c = Cell{};
  search_start_ = 0;
}

int32_t KvCache::seq_pos_max(int32_t seq) const {
  int32_t best = -1;
  for (const Cell& c : cells_) {
    if (c.seqs >> seq & 1) best = std::max(best, c.pos);
  }
  return best;
}

int64_t KvCache::used_cells() const {
  return std::count_if(cells_.begin(), cells_.end(), [](const Cell& c) { return c.seqs != 0; });
}

void KvCache::seq_cells(int32_t seq, std::vector<int32_t>& cells, std::vector<int32_t>& positions) const {
  cells.clear();
  positions.clear();
  for (size_t i = 0; i < cells_.size(); ++i) {
    if (cells_[i].seqs >> seq & 1) {
      cells.push_back(static_cast<int32_t>(i));
      positions.push_back(cells_[i].pos);
    }
  }
}

}  // namespace tessera::runtime

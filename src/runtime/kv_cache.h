// The key/value cache: per layer, one row of keys and one of values per cell; each cell records
// its position and the set of sequences that share it. Sequences are independent streams
// (server slots, speculative drafts); a cell shared by several sequences after seq_cp() holds one
// copy of the data (prompt reuse without copying).
//
// Ownership: owned by one context; not thread-safe to mutate. During a forward pass threads
// write disjoint cells and read others.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/ops.h"
#include "runtime/batch.h"
#include "tessera/status.h"

namespace tessera::runtime {

class KvCache {
 public:
  static constexpr int kMaxSeqs = 64;  // sequences are bits of a 64-bit mask per cell

  // n_embd_k / n_embd_v: elements per cell row per layer (n_head_kv * head_dim); for block
  // types (q8_0, q4_0) multiples of the block size.
  KvCache(int64_t n_layer, int64_t n_ctx, int64_t n_embd_k, int64_t n_embd_v, ops::KvType type);

  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_layer() const { return n_layer_; }
  ops::KvType type() const { return type_; }
  int64_t n_embd_k() const { return n_embd_k_; }
  int64_t n_embd_v() const { return n_embd_v_; }
  size_t bytes() const { return k_.size() + v_.size(); }

  // Chooses a free cell for every batch entry and records their positions and sequences.
  // Fails (cache unchanged) when the cache is full, a sequence id is out of range, or a
  // sequence already holds one of the positions.
  Result<std::vector<int32_t>> allocate(const Batch& batch);
  // The checks of allocate() without recording anything: ok when allocate(batch) would succeed.
  Status can_allocate(const Batch& batch) const;

  // Removes sequence `seq`'s cells with position in [p0, p1) (p1 < 0: to the end); seq < 0:
  // every sequence. Cells no sequence uses any more become free.
  void seq_rm(int32_t seq, int32_t p0, int32_t p1);
  // Makes sequence `dst` share `src`'s cells with position in [p0, p1) (p1 < 0: to the end).
  void seq_cp(int32_t src, int32_t dst, int32_t p0, int32_t p1);
  void clear();
  // Largest position of `seq`, or -1 when it has none.
  int32_t seq_pos_max(int32_t seq) const;
  int64_t used_cells() const;

  // The cells of `seq` and their positions, in cell order. cells, positions: [n] each.
  void seq_cells(int32_t seq, std::vector<int32_t>& cells, std::vector<int32_t>& positions) const;

  // Bytes of one cell row: n_embd_k / n_embd_v elements of type().
  size_t k_row_bytes() const { return k_row_bytes_; }
  size_t v_row_bytes() const { return v_row_bytes_; }
  // Row of layer `il`, cell `cell`: [k_row_bytes()] / [v_row_bytes()].
  uint8_t* k_row(int64_t il, int64_t cell) {
    return k_.data() + static_cast<size_t>(il * n_ctx_ + cell) * k_row_bytes_;
  }
  uint8_t* v_row(int64_t il, int64_t cell) {
    return v_.data() + static_cast<size_t>(il * n_ctx_ + cell) * v_row_bytes_;
  }
  // All cells of layer `il`: [n_ctx] rows.
  const uint8_t* k_layer(int64_t il) const { return k_.data() + static_cast<size_t>(il * n_ctx_) * k_row_bytes_; }
  const uint8_t* v_layer(int64_t il) const { return v_.data() + static_cast<size_t>(il * n_ctx_) * v_row_bytes_; }

 private:
  struct Cell {
    int32_t pos = -1;
    uint64_t seqs = 0;  // bit s set: sequence s uses this cell
  };

  int64_t n_layer_, n_ctx_, n_embd_k_, n_embd_v_;
  ops::KvType type_;
  std::vector<Cell> cells_;  // [n_ctx]
  size_t k_row_bytes_, v_row_bytes_;
  std::vector<uint8_t> k_;    // [n_layer, n_ctx] rows of k_row_bytes_ (n_embd_k elements of type_)
  std::vector<uint8_t> v_;    // [n_layer, n_ctx] rows of v_row_bytes_
  int64_t search_start_ = 0;  // where the next free-cell search begins (keeps fills contiguous)
};

}  // namespace tessera::runtime

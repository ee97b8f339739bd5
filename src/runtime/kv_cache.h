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
  // The same with a row width per layer (models whose KV head count differs per layer):
  // n_embd_k, n_embd_v: [n_layer].
  KvCache(int64_t n_ctx, std::vector<int64_t> n_embd_k, std::vector<int64_t> n_embd_v, ops::KvType type);

  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_layer() const { return n_layer_; }
  ops::KvType type() const { return type_; }
  // Row widths of layer `il` (elements).
  int64_t n_embd_k(int64_t il = 0) const { return n_embd_k_[static_cast<size_t>(il)]; }
  int64_t n_embd_v(int64_t il = 0) const { return n_embd_v_[static_cast<size_t>(il)]; }
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

  // Bytes of one cell row of layer `il`: n_embd_k(il) / n_embd_v(il) elements of type().
  size_t k_row_bytes(int64_t il = 0) const { return layers_[static_cast<size_t>(il)].k_row_bytes; }
  size_t v_row_bytes(int64_t il = 0) const { return layers_[static_cast<size_t>(il)].v_row_bytes; }
  // Row of layer `il`, cell `cell`: [k_row_bytes(il)] / [v_row_bytes(il)].
  uint8_t* k_row(int64_t il, int64_t cell) {
    const Layer& l = layers_[static_cast<size_t>(il)];
    return k_.data() + l.k_offset + static_cast<size_t>(cell) * l.k_row_bytes;
  }
  uint8_t* v_row(int64_t il, int64_t cell) {
    const Layer& l = layers_[static_cast<size_t>(il)];
    return v_.data() + l.v_offset + static_cast<size_t>(cell) * l.v_row_bytes;
  }
  // All cells of layer `il`: [n_ctx] rows.
  const uint8_t* k_layer(int64_t il) const { return k_.data() + layers_[static_cast<size_t>(il)].k_offset; }
  const uint8_t* v_layer(int64_t il) const { return v_.data() + layers_[static_cast<size_t>(il)].v_offset; }

 private:
  struct Cell {
    int32_t pos = -1;
    uint64_t seqs = 0;  // bit s set: sequence s uses this cell
  };

  struct Layer {
    size_t k_row_bytes, v_row_bytes;  // one cell row
    size_t k_offset, v_offset;        // where the layer's [n_ctx] rows start in k_ / v_
  };

  int64_t n_layer_, n_ctx_;
  std::vector<int64_t> n_embd_k_, n_embd_v_;  // [n_layer]
  ops::KvType type_;
  std::vector<Cell> cells_;    // [n_ctx]
  std::vector<Layer> layers_;  // [n_layer]
  std::vector<uint8_t> k_;     // per layer, [n_ctx] rows of k_row_bytes(il) (n_embd_k(il) elements of type_)
  std::vector<uint8_t> v_;     // per layer, [n_ctx] rows of v_row_bytes(il)
  int64_t search_start_ = 0;   // where the next free-cell search begins (keeps fills contiguous)
};

}  // namespace tessera::runtime

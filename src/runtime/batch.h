// A batch of tokens to decode together: each entry carries a token id (or an embedding vector,
// for multimodal input), its position, its sequence and whether its logits are wanted.
// A plain value owned by the caller; not thread-safe to mutate concurrently.
#pragma once

#include <cstdint>
#include <vector>

namespace tessera::runtime {

struct Batch {
  std::vector<int32_t> tokens;  // [n_tokens]; empty when `embd` is used instead
  std::vector<float> embd;      // [n_tokens, n_embd]; empty when `tokens` is used
  std::vector<int32_t> pos;     // [n_tokens] position of each entry in its sequence
  std::vector<int32_t> seq_id;  // [n_tokens] sequence of each entry, in [0, KvCache::kMaxSeqs)
  std::vector<uint8_t> output;  // [n_tokens] 1 where logits are wanted

  int64_t size() const { return static_cast<int64_t>(pos.size()); }
  int64_t n_outputs() const {
    int64_t n = 0;
    for (uint8_t o : output) n += o != 0;
    return n;
  }

  void add(int32_t token, int32_t position, int32_t seq, bool want_logits) {
    tokens.push_back(token);
    pos.push_back(position);
    seq_id.push_back(seq);
    output.push_back(want_logits ? 1 : 0);
  }
  // `vector` is one [n_embd] embedding.
  void add_embedding(const float* vector, int64_t n_embd, int32_t position, int32_t seq, bool want_logits) {
    embd.insert(embd.end(), vector, vector + n_embd);
    pos.push_back(position);
    seq_id.push_back(seq);
    output.push_back(want_logits ? 1 : 0);
  }
  void clear() {
    tokens.clear();
    embd.clear();
    pos.clear();
    seq_id.clear();
    output.clear();
  }
};

}  // namespace tessera::runtime

// Byte-level BPE on one word. Symbols start as single bytes (the token ids of their byte-level
// characters); the adjacent pair with the lowest merge rank is joined first (ties: leftmost). Candidates carry the ids
// they were made from, so an entry outdated by another merge no longer matches and is skipped.
#include <queue>

#include "tokenizer/algorithms.h"
#include "tokenizer/unicode.h"

namespace tessera::tokenizer {

namespace {

struct Symbol {
  TokenId id;    // kNoToken for a byte whose character is not in the vocabulary
  uint8_t byte;  // the first byte (what a symbol that never merged stands for)
  int prev;
  int next;  // -1 at the ends; a merged-away symbol is unlinked and its id is kNoToken
  bool alive;
};

struct Candidate {
  int rank;
  int left;
  int right;
  TokenId left_id;
  TokenId right_id;
  TokenId merged;
};

struct CandidateOrder {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

// A byte whose character is not a token: emit whatever single bytes of that character's
// UTF-8 form are tokens (the reference's fallback; usually nothing).
void emit_unknown_byte(const Vocab& vocab, uint8_t byte, std::vector<TokenId>& out) {
  for (char c : byte_to_unicode_table()[byte]) {
    const TokenId b = vocab.find(std::string_view(&c, 1));
    if (b != kNoToken) out.push_back(b);
  }
}

}  // namespace

void tokenize_bpe_word(const Vocab& vocab, std::string_view word, std::vector<TokenId>& out) {
  if (word.empty()) return;
  if (vocab.flags().ignore_merges) {
    if (const TokenId id = vocab.find(byte_level_encode(word)); id != kNoToken) {
      out.push_back(id);
      return;
    }
  }
  if (word.size() == 1) {
    const uint8_t b = static_cast<uint8_t>(word[0]);
    const TokenId id = vocab.byte_level_token(b);
    if (id != kNoToken) {
      out.push_back(id);
    } else {
      emit_unknown_byte(vocab, b, out);
    }
    return;
  }
  std::vector<Symbol> symbols(word.size());
  for (size_t i = 0; i < word.size(); ++i) {
    const uint8_t b = static_cast<uint8_t>(word[i]);
    const int index = static_cast<int>(i);
    symbols[i] = {vocab.byte_level_token(b), b, index - 1, i + 1 == word.size() ? -1 : index + 1, true};
  }

  std::priority_queue<Candidate, std::vector<Candidate>, CandidateOrder> queue;
  const auto try_add = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const TokenId l = symbols[left].id, r = symbols[right].id;
    if (l == kNoToken || r == kNoToken) return;
    TokenId merged = kNoToken;
    const int rank = vocab.merge_rank(l, r, merged);
    if (rank >= 0) queue.push({rank, left, right, l, r, merged});
  };
  for (size_t i = 1; i < symbols.size(); ++i) try_add(static_cast<int>(i - 1), static_cast<int>(i));

  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& left = symbols[c.left];
    Symbol& right = symbols[c.right];
    if (!left.alive || !right.alive || left.next != c.right || left.id != c.left_id || right.id != c.right_id) {
      continue;
    }
    left.id = c.merged;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = c.left;
    try_add(left.prev, c.left);
    try_add(c.left, left.next);
  }

  for (int i = 0; i >= 0; i = symbols[i].next) {
    if (symbols[i].id != kNoToken) {
      out.push_back(symbols[i].id);
    } else {
      emit_unknown_byte(vocab, symbols[i].byte, out);
    }
  }
}

}  // namespace tessera::tokenizer

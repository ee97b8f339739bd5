// BPE on one word. Symbols start as single bytes (the token ids of their byte-level characters),
// or as UTF-8 characters for vocabularies that merge raw text (Gemma 4, "whitespace"); the
// adjacent pair with the lowest merge rank is joined first (ties: leftmost). Candidates carry the
// ids they were made from, so an entry outdated by another merge no longer matches and is skipped.
#include <algorithm>
#include <queue>

#include "tokenizer/algorithms.h"
#include "tokenizer/unicode.h"

namespace tessera::tokenizer {

namespace {

struct Symbol {
  TokenId id;      // kNoToken for a unit whose character is not in the vocabulary
  uint32_t begin;  // the unit's bytes in the word (what a symbol that never merged stands for)
  uint32_t size;
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

// A raw UTF-8 character that is not a token: its bytes as "<0xNN>" tokens, those that exist.
void emit_byte_fallback(const Vocab& vocab, std::string_view bytes, std::vector<TokenId>& out) {
  for (char c : bytes) {
    const TokenId b = vocab.byte_token(static_cast<uint8_t>(c));
    if (b != kNoToken) out.push_back(b);
  }
}

// The starting symbols: one per byte (byte-level vocabularies) or per UTF-8 character (raw).
std::vector<Symbol> initial_symbols(const Vocab& vocab, std::string_view word) {
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  const bool byte_level = vocab.flags().byte_level;
  for (size_t i = 0; i < word.size();) {
    const size_t n = byte_level ? 1 : std::min(word.size() - i, utf8_sequence_length(static_cast<uint8_t>(word[i])));
    const TokenId id =
        byte_level ? vocab.byte_level_token(static_cast<uint8_t>(word[i])) : vocab.find(word.substr(i, n));
    const int index = static_cast<int>(symbols.size());
    symbols.push_back({id, static_cast<uint32_t>(i), static_cast<uint32_t>(n), index - 1, index + 1, true});
    i += n;
  }
  symbols.back().next = -1;
  return symbols;
}

// The word emitted whole when the vocabulary asks for it (ignore_merges, Gemma 4's newline runs).
TokenId whole_word_token(const Vocab& vocab, std::string_view word) {
  const VocabFlags& f = vocab.flags();
  if (f.ignore_merges) return vocab.find(f.byte_level ? byte_level_encode(word) : std::string(word));
  if (f.newlines_whole && word.find_first_not_of('\n') == std::string_view::npos) return vocab.find(word);
  return kNoToken;
}

}  // namespace

void tokenize_bpe_word(const Vocab& vocab, std::string_view word, std::vector<TokenId>& out) {
  if (word.empty()) return;
  if (const TokenId id = whole_word_token(vocab, word); id != kNoToken) {
    out.push_back(id);
    return;
  }
  std::vector<Symbol> symbols = initial_symbols(vocab, word);

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
    const Symbol& s = symbols[i];
    if (s.id != kNoToken) {
      out.push_back(s.id);
    } else if (vocab.flags().byte_level) {
      emit_unknown_byte(vocab, static_cast<uint8_t>(word[s.begin]), out);
    } else {
      emit_byte_fallback(vocab, word.substr(s.begin, s.size), out);
    }
  }
}

}  // namespace tessera::tokenizer

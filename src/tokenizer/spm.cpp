// SentencePiece BPE. Start from single characters; repeatedly join the adjacent pair whose
// concatenation is the highest-scoring token (ties: leftmost). A priority queue holds candidate
// pairs; entries made stale by an earlier merge are recognised by their length and skipped.
#include <queue>

#include "tokenizer/algorithms.h"
#include "tokenizer/unicode.h"

namespace tessera::tokenizer {

namespace {

struct Symbol {
  size_t begin;   // byte offset in the text
  size_t length;  // bytes; 0 once merged into its left neighbour
  int prev;
  int next;  // -1 at the ends
};

struct Candidate {
  float score;
  int left;
  int right;
  size_t length;  // bytes of left + right when the candidate was made
};

struct CandidateOrder {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

const std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581

}  // namespace

bool spm_can_split_at_spaces(const Vocab& vocab) {
  for (size_t i = 0; i < vocab.size(); ++i) {
    const std::string_view text = vocab.token(static_cast<TokenId>(i)).text;
    for (size_t at = text.find(kSpaceMark, 1); at != std::string_view::npos; at = text.find(kSpaceMark, at + 1)) {
      if (at < kSpaceMark.size() || text.substr(at - kSpaceMark.size(), kSpaceMark.size()) != kSpaceMark) return false;
    }
  }
  return true;
}

namespace {
void tokenize_spm_segment(const Vocab& vocab, std::string_view text, std::vector<TokenId>& out);
}  // namespace

void tokenize_spm(const Vocab& vocab, std::string_view text, bool split_at_spaces, std::vector<TokenId>& out) {
  // Malformed UTF-8 must not be cut: a bad lead byte swallows the bytes after it (the
  // reference's character split), possibly across a cut.
  if (!split_at_spaces || !is_valid_utf8(text)) {
    tokenize_spm_segment(vocab, text, out);
    return;
  }
  // Cut before every U+2581 that follows some other character.
  size_t begin = 0;
  for (size_t at = text.find(kSpaceMark, 1); at != std::string_view::npos; at = text.find(kSpaceMark, at + 1)) {
    const bool after_mark =
        at >= kSpaceMark.size() && text.substr(at - kSpaceMark.size(), kSpaceMark.size()) == kSpaceMark;
    if (after_mark || at == begin) continue;
    tokenize_spm_segment(vocab, text.substr(begin, at - begin), out);
    begin = at;
  }
  tokenize_spm_segment(vocab, text.substr(begin), out);
}

namespace {

void tokenize_spm_segment(const Vocab& vocab, std::string_view text, std::vector<TokenId>& out) {
  std::vector<Symbol> symbols;
  symbols.reserve(text.size());
  for (size_t offset = 0; offset < text.size();) {
    const size_t n = std::min(utf8_sequence_length(static_cast<uint8_t>(text[offset])), text.size() - offset);
    const int index = static_cast<int>(symbols.size());
    symbols.push_back({offset, n, index - 1, offset + n == text.size() ? -1 : index + 1});
    offset += n;
  }

  std::priority_queue<Candidate, std::vector<Candidate>, CandidateOrder> queue;
  const auto try_add = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const size_t length = symbols[left].length + symbols[right].length;
    const TokenId id = vocab.find(text.substr(symbols[left].begin, length));
    if (id == kNoToken) return;
    queue.push({vocab.token(id).score, left, right, length});
  };
  for (size_t i = 1; i < symbols.size(); ++i) try_add(static_cast<int>(i - 1), static_cast<int>(i));

  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& left = symbols[c.left];
    Symbol& right = symbols[c.right];
    if (left.length == 0 || right.length == 0 || left.length + right.length != c.length) continue;
    left.length += right.length;
    right.length = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = c.left;
    try_add(left.prev, c.left);
    try_add(c.left, left.next);
  }

  for (int i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[i].next) {
    const std::string_view piece = text.substr(symbols[i].begin, symbols[i].length);
    const TokenId id = vocab.find(piece);
    if (id != kNoToken) {
      out.push_back(id);
      continue;
    }
    for (char c : piece) {
      const TokenId byte = vocab.byte_token(static_cast<uint8_t>(c));
      out.push_back(byte != kNoToken ? byte : vocab.special().unk);
    }
  }
}

}  // namespace

}  // namespace tessera::tokenizer

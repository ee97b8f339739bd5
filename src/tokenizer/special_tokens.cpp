// Special-token partitioning. For each special token, longest first, every plain-text fragment
// is searched left to right and split around non-overlapping occurrences. Matching longest
// first (rather than leftmost) is what llama.cpp does, and so what golden ids assume.
#include <list>

#include "tokenizer/tokenizer.h"

namespace tessera::tokenizer {

namespace {

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

}  // namespace

std::vector<Fragment> partition_special(const Vocab& vocab, const std::vector<TokenId>& special_by_length,
                                        std::string_view text, bool parse_special) {
  std::list<Fragment> fragments;
  if (!text.empty()) fragments.push_back({kNoToken, 0, text.size()});
  for (TokenId id : special_by_length) {
    const TokenData& data = vocab.token(id);
    if (!parse_special && data.type != TokenType::kUserDefined) continue;
    const std::string_view needle = data.text;
    for (auto it = fragments.begin(); it != fragments.end(); ++it) {
      if (it->token != kNoToken) continue;
      while (true) {
        const size_t found = text.substr(it->begin, it->end - it->begin).find(needle);
        if (found == std::string_view::npos) break;
        const size_t pos = it->begin + found, end = it->end;
        size_t left_end = pos, right_begin = pos + needle.size();
        // lstrip/rstrip: the whitespace beside the token goes with it (llama.cpp: C isspace).
        while (data.lstrip && left_end > it->begin && is_ascii_space(text[left_end - 1])) --left_end;
        while (data.rstrip && right_begin < end && is_ascii_space(text[right_begin])) ++right_begin;
        if (left_end > it->begin) fragments.insert(it, {kNoToken, it->begin, left_end});
        // `it` becomes the token; the rest, if any, follows as a new plain fragment.
        it->token = id;
        it->begin = pos;
        it->end = pos + needle.size();
        if (right_begin == end) break;
        it = fragments.insert(std::next(it), {kNoToken, right_begin, end});
      }
    }
  }
  return {fragments.begin(), fragments.end()};
}

}  // namespace tessera::tokenizer

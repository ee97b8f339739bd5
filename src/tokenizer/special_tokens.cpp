// Special-token partitioning. For each special token, longest first, every plain-text fragment
// is searched left to right and split around non-overlapping occurrences. Matching longest
// first (rather than leftmost) is what llama.cpp does, and so what golden ids assume.
#include <list>

#include "tokenizer/tokenizer.h"

namespace tessera::tokenizer {

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
        if (pos > it->begin) fragments.insert(it, {kNoToken, it->begin, pos});
        // `it` becomes the token; the rest, if any, follows as a new plain fragment.
        it->token = id;
        it->begin = pos;
        it->end = pos + needle.size();
        if (it->end == end) break;
        it = fragments.insert(std::next(it), {kNoToken, it->end, end});
      }
    }
  }
  return {fragments.begin(), fragments.end()};
}

}  // namespace tessera::tokenizer

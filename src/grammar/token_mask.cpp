#include "grammar/token_mask.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "tokenizer/tokenizer.h"

namespace tessera::grammar {
namespace {

// The rules of Matcher::step_byte with every code point allowed: valid UTF-8 that may stop
// inside a character whose completion can still be valid.
bool valid_utf8_prefix(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<uint8_t>(s[i]);
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    size_t length;
    uint32_t cp;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      length = 2, cp = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      length = 3, cp = b0 & 0x0F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      length = 4, cp = b0 & 0x07;
    } else {
      return false;
    }
    const uint32_t shortest = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000;
    size_t j = 1;
    for (; j < length && i + j < s.size(); ++j) {
      const auto b = static_cast<uint8_t>(s[i + j]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3F);
    }
    if (j == length) {
      if (cp < shortest || cp > kMaxCodePoint || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    } else {
      const uint32_t shift = 6 * static_cast<uint32_t>(length - j);
      if (std::max(cp << shift, shortest) > std::min((cp << shift) | ((1u << shift) - 1), kMaxCodePoint)) return false;
    }
    i += j;
  }
  return true;
}

}  // namespace

std::shared_ptr<const GrammarVocabulary> GrammarVocabulary::build(std::vector<std::string> pieces,
                                                                  std::vector<std::string> texts,
                                                                  const std::vector<int32_t>& eog) {
  auto v = std::make_shared<GrammarVocabulary>();
  v->pieces_ = std::move(pieces);
  v->texts_ = std::move(texts);
  v->texts_.resize(v->pieces_.size());
  v->eog_.assign(v->pieces_.size(), 0);
  for (int32_t id : eog) {
    if (id >= 0 && static_cast<size_t>(id) < v->pieces_.size() && !v->eog_[static_cast<size_t>(id)]) {
      v->eog_[static_cast<size_t>(id)] = 1;
      v->eog_ids_.push_back(id);
    }
  }
  // Sort the token ids by their bytes; the trie is then built in one pass, in depth-first order,
  // from the common prefix of each piece with the previous one.
  std::vector<int32_t> order;
  for (size_t id = 0; id < v->pieces_.size(); ++id) {
    const std::string& p = v->pieces_[id];
    if (!p.empty() && p.size() < 65535 && !v->eog_[id]) order.push_back(static_cast<int32_t>(id));
  }
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return v->pieces_[a] < v->pieces_[b]; });
  v->byte_.push_back(0);
  v->depth_.push_back(0);
  v->first_token_.push_back(0);
  std::vector<uint32_t> path = {0};  // node index per depth along the current piece
  std::string_view previous;
  for (int32_t id : order) {
    const std::string& p = v->pieces_[static_cast<size_t>(id)];
    size_t common = 0;
    while (common < p.size() && common < previous.size() && p[common] == previous[common]) ++common;
    path.resize(common + 1);
    for (size_t d = common; d < p.size(); ++d) {
      path.push_back(static_cast<uint32_t>(v->byte_.size()));
      v->byte_.push_back(static_cast<uint8_t>(p[d]));
      v->depth_.push_back(static_cast<uint16_t>(d + 1));
      v->first_token_.push_back(static_cast<uint32_t>(v->token_ids_.size()));
    }
    v->token_ids_.push_back(id);  // ends at the last node (nodes are appended in order)
    v->below_ascii_.resize(v->byte_.size());
    v->below_flags_.resize(v->byte_.size());
    v->below_chars_.resize(v->byte_.size());
    for (size_t k = 0; k < p.size(); ++k) {  // the rest of this token below the node at depth k
      const uint32_t node = path[k];
      size_t chars = 0;
      for (size_t j = k; j < p.size(); ++j) chars += (static_cast<uint8_t>(p[j]) & 0xC0) != 0x80;
      v->below_chars_[node] =
          static_cast<uint8_t>(std::max<size_t>(v->below_chars_[node], std::min<size_t>(chars, 255)));
      for (size_t j = k; j < p.size(); ++j) {
        const auto b = static_cast<uint8_t>(p[j]);
        if (b < 0x80) {
          v->below_ascii_[node][b >> 6] |= uint64_t{1} << (b & 63);
        } else {
          v->below_flags_[node] |= kBelowNonAscii;
        }
      }
      if (!valid_utf8_prefix(std::string_view(p).substr(k))) v->below_flags_[node] |= kBelowInvalid;
    }
    previous = p;
  }
  v->first_token_.push_back(static_cast<uint32_t>(v->token_ids_.size()));
  // first_token_[i] was recorded when node i was created; tokens ending at node i are those
  // pushed before node i+1 was created.
  const size_t n = v->byte_.size();
  v->subtree_end_.assign(n, static_cast<uint32_t>(n));
  std::vector<uint32_t> open;  // nodes whose subtree is still open, by depth
  for (uint32_t i = 0; i < n; ++i) {
    while (!open.empty() && v->depth_[open.back()] >= v->depth_[i]) {
      v->subtree_end_[open.back()] = i;
      open.pop_back();
    }
    open.push_back(i);
  }
  return v;
}

std::shared_ptr<const GrammarVocabulary> GrammarVocabulary::from_tokenizer(const tokenizer::Tokenizer& tokenizer) {
  const tokenizer::Vocab& vocab = tokenizer.vocab();
  std::vector<std::string> pieces(vocab.size()), texts(vocab.size());
  std::vector<int32_t> eog;
  for (size_t id = 0; id < vocab.size(); ++id) {
    const auto tid = static_cast<tokenizer::TokenId>(id);
    pieces[id] = tokenizer.token_to_piece(tid, false);
    texts[id] = vocab.token(tid).text;
    if (vocab.is_end_of_generation(tid)) eog.push_back(tid);
  }
  return build(std::move(pieces), std::move(texts), eog);
}

int32_t GrammarVocabulary::find_text(std::string_view text) const {
  for (size_t id = 0; id < texts_.size(); ++id) {
    if (texts_[id] == text) return static_cast<int32_t>(id);
  }
  for (size_t id = 0; id < pieces_.size(); ++id) {
    if (pieces_[id] == text) return static_cast<int32_t>(id);
  }
  return -1;
}

Result<std::vector<int32_t>> GrammarVocabulary::resolve(const Grammar& grammar) const {
  std::vector<int32_t> ids;
  for (const TokenRef& ref : grammar.tokens) {
    int32_t id = ref.id;
    if (id < 0) {
      id = find_text(ref.text);
      if (id < 0) return Status::error(fmt::format("grammar: token {} is not in the vocabulary", ref.text));
    } else if (static_cast<size_t>(id) >= size()) {
      return Status::error(fmt::format("grammar: token <[{}]> is outside the vocabulary of {} tokens", id, size()));
    }
    ids.push_back(id);
  }
  return ids;
}

// Subtrees with fewer tokens are walked: checking a run costs more than walking them.
constexpr uint32_t kMinBulk = 1;

void compute_token_mask(Matcher& matcher, ByteState from, const GrammarVocabulary& vocab,
                        std::span<const int32_t> ref_ids, std::vector<uint64_t>& mask) {
  mask.assign((vocab.size() + 63) / 64, 0);
  auto set = [&](int32_t id) { mask[static_cast<size_t>(id) >> 6] |= uint64_t{1} << (id & 63); };
  const size_t n = vocab.byte_.size();
  std::vector<ByteState> at_depth(1, from);  // [depth] state after the prefix of that length
  for (size_t i = 1; i < n;) {
    const size_t d = vocab.depth_[i];
    const ByteState next = matcher.step_byte(at_depth[d - 1], vocab.byte_[i]);
    if (next.dead()) {
      i = vocab.subtree_end_[i];
      continue;
    }
    if (next.need == 0 && !(vocab.below_flags_[i] & GrammarVocabulary::kBelowInvalid) && vocab.below_chars_[i] > 0 &&
        vocab.first_token_[vocab.subtree_end_[i]] - vocab.first_token_[i] >= kMinBulk &&
        matcher.runs_over(next.state, vocab.below_ascii_[i].data(),
                          vocab.below_flags_[i] & GrammarVocabulary::kBelowNonAscii, vocab.below_chars_[i])) {
      // every text below is allowed: take the subtree's tokens without walking it
      const uint32_t end = vocab.subtree_end_[i];
      for (uint32_t t = vocab.first_token_[i]; t < vocab.first_token_[end]; ++t) set(vocab.token_ids_[t]);
      i = end;
      continue;
    }
    if (at_depth.size() <= d) at_depth.resize(d + 1);
    at_depth[d] = next;
    for (uint32_t t = vocab.first_token_[i]; t < vocab.first_token_[i + 1]; ++t) set(vocab.token_ids_[t]);
    ++i;
  }
  if (from.need != 0) return;
  if (matcher.can_end(from.state)) {
    for (int32_t id : vocab.eog_ids()) set(id);
  }
  for (uint32_t ref : matcher.token_tops(from.state)) {
    const int32_t id = ref < ref_ids.size() ? ref_ids[ref] : matcher.grammar().tokens[ref].id;
    if (!matcher.grammar().tokens[ref].negated) {
      if (id >= 0) set(id);
      continue;
    }
    for (size_t t = 0; t < vocab.size(); ++t) {
      if (static_cast<int32_t>(t) != id && !vocab.is_eog(static_cast<int32_t>(t))) set(static_cast<int32_t>(t));
    }
  }
}

}  // namespace tessera::grammar

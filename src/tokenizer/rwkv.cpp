#include "tokenizer/rwkv.h"

#include <algorithm>

namespace tessera::tokenizer {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 0;
}

}  // namespace

std::string unescape_rwkv_token(std::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  for (size_t i = 0; i < escaped.size(); ++i) {
    const char c = escaped[i];
    if (c != '\\' || i + 1 == escaped.size()) {
      out += c;
      continue;
    }
    const char e = escaped[++i];
    if (e == 't') {
      out += '\t';
    } else if (e == 'n') {
      out += '\n';
    } else if (e == 'r') {
      out += '\r';
    } else if (e == 'x' && i + 2 < escaped.size()) {
      out += static_cast<char>(hex_value(escaped[i + 1]) * 16 + hex_value(escaped[i + 2]));
      i += 2;
    } else {
      out += e;  // "\\" and any other escaped character stand for themselves
    }
  }
  return out;
}

RwkvTrie::RwkvTrie(const Vocab& vocab) : vocab_(&vocab), bytes_(vocab.size()) {
  for (size_t i = 0; i < vocab.size(); ++i) bytes_[i] = unescape_rwkv_token(vocab.token(static_cast<TokenId>(i)).text);
  for (size_t i = 0; i < bytes_.size(); ++i) {
    if (bytes_[i].empty()) continue;
    by_bytes_[bytes_[i]] = static_cast<TokenId>(i);
    max_length_ = std::max(max_length_, bytes_[i].size());
  }
}

void RwkvTrie::tokenize(std::string_view text, std::vector<TokenId>& out) const {
  for (size_t pos = 0; pos < text.size();) {
    size_t length = std::min(max_length_, text.size() - pos);
    for (; length > 0; --length) {
      const auto it = by_bytes_.find(text.substr(pos, length));
      if (it != by_bytes_.end()) {
        out.push_back(it->second);
        break;
      }
    }
    if (length == 0) {
      // No token starts with this byte: unk, or nothing when the vocabulary has no unk.
      if (vocab_->special().unk != kNoToken) out.push_back(vocab_->special().unk);
      length = 1;
    }
    pos += length;
  }
}

}  // namespace tessera::tokenizer

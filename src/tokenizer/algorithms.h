// The tokenization algorithms, one per vocabulary type. Each appends the ids of one fragment of
// plain text (special tokens already cut out) to `out`. Internal to src/tokenizer/.
#pragma once

#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace tessera::tokenizer {

// SentencePiece BPE: merges adjacent pieces by highest score; characters left without a token
// fall back to <0xNN> byte tokens. `text` has spaces already replaced by U+2581.
// `split_at_spaces` (see spm_can_split_at_spaces) runs each word separately: same result, far
// smaller priority queues.
void tokenize_spm(const Vocab& vocab, std::string_view text, bool split_at_spaces, std::vector<TokenId>& out);

// True when no token has U+2581 right after another character (other than U+2581): then no
// merge can join a piece ending before a "\u2581" to one starting with it, and the text may be
// cut before each such mark without changing the result.
bool spm_can_split_at_spaces(const Vocab& vocab);

// BPE on one pre-tokenized word, given as its raw bytes: merges by lowest merge rank. Byte-level
// vocabularies start from each byte's GPT-2 character; the others (flags().byte_level false) from
// each UTF-8 character, with <0xNN> tokens for a character that is not a token.
void tokenize_bpe_word(const Vocab& vocab, std::string_view word, std::vector<TokenId>& out);

// WordPiece (BERT): BERT normalisation, splitting on whitespace and punctuation, then greedy
// longest-match of "\u2581word" against the vocabulary; a word that cannot be covered becomes unk.
void tokenize_wpm(const Vocab& vocab, std::string_view text, std::vector<TokenId>& out);

}  // namespace tessera::tokenizer

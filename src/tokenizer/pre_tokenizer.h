// Byte-level BPE pre-tokenization: `tokenizer.ggml.pre` names a list of regular expressions that
// cut text into words before merges apply. The table of names is data (pre_tokenizer_table.cpp);
// the regexes run on PCRE2 (UTF + Unicode properties, JIT-compiled).
//
// Splitting semantics (those of llama.cpp and of Hugging Face `Split(..., "isolated")`): each
// regex in turn re-splits every piece produced so far; within a piece, every match becomes a
// piece and so does every stretch between matches. A zero-length match only marks a boundary.
//
// A PreTokenizer is immutable after creation and safe to use from many threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tessera/status.h"

namespace tessera::tokenizer {

// One row of the table: a name as it appears in `tokenizer.ggml.pre` and what it implies.
struct PreTokenizerSpec {
  std::string_view name;
  const std::vector<std::string_view>* patterns;  // applied in order
  bool ignore_merges = false;                     // emit a word whole when it is a token
  bool add_bos = false;                           // the family adds BOS unless the file says otherwise
  bool add_sep = false;                           // ... adds SEP at the end (RoBERTa-style encoders)
  bool no_bos = false;                            // ... has no BOS token, whatever the default id
  bool clean_spaces = true;                       // detokenize tidies " ," and " 's" by default
  bool escape_spaces = false;                     // spaces become U+2581 before splitting (Gemma 4)
  bool byte_level = true;                         // merges on GPT-2 byte-level characters, else raw UTF-8
  bool force_add_bos = false;                     // BOS even when the file says add_bos_token = false
  bool newlines_whole = false;                    // a newline-only word that is a token stays whole
};

// The row for `name`, or nullptr when it is not in the table.
const PreTokenizerSpec* find_pre_tokenizer(std::string_view name);
// All names in the table (for error messages and tests).
std::vector<std::string_view> pre_tokenizer_names();

class PreTokenizer {
 public:
  // Compiles `patterns`; fails naming the pattern and PCRE2's message when one does not compile.
  static Result<PreTokenizer> create(const std::vector<std::string_view>& patterns);

  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;
  ~PreTokenizer();

  // Splits valid UTF-8 `text` into pieces, returned as [begin, end) byte offsets in order; the
  // pieces cover `text` exactly.
  std::vector<std::pair<size_t, size_t>> split(std::string_view text) const;

 private:
  struct Compiled;
  PreTokenizer() = default;
  std::vector<std::unique_ptr<Compiled>> regexes_;
};

// Rewrites `\s` and `\S` to the Unicode White_Space set (what Oniguruma and the reference use;
// PCRE2's own \s leaves out U+0085). Exposed for tests.
std::string expand_whitespace_classes(std::string_view pattern);

}  // namespace tessera::tokenizer

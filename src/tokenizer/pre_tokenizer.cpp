#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/pre_tokenizer.h"

#include <fmt/format.h>
#include <pcre2.h>

#include "tessera/check.h"
#include "tokenizer/unicode.h"

namespace tessera::tokenizer {

namespace {

// The Unicode White_Space property as class items (no brackets).
constexpr std::string_view kWhiteSpaceItems =
    "\\t-\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}";

}  // namespace

std::string expand_whitespace_classes(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() + 64);
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char e = pattern[++i];
      if (e == 's') {
        out += in_class ? fmt::format("{}", kWhiteSpaceItems) : fmt::format("[{}]", kWhiteSpaceItems);
      } else if (e == 'S') {
        TESSERA_CHECK(!in_class, "\\S inside a character class is not supported");
        out += fmt::format("[^{}]", kWhiteSpaceItems);
      } else {
        out += c;
        out += e;
      }
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal, not the end of the class.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

struct PreTokenizer::Compiled {
  pcre2_code* code = nullptr;
  ~Compiled() { pcre2_code_free(code); }
};

PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;
PreTokenizer::~PreTokenizer() = default;

Result<PreTokenizer> PreTokenizer::create(const std::vector<std::string_view>& patterns) {
  PreTokenizer pre;
  for (std::string_view pattern : patterns) {
    const std::string expanded = expand_whitespace_classes(pattern);
    int error = 0;
    PCRE2_SIZE error_offset = 0;
    // DOLLAR_ENDONLY: '$' means the end of the piece, not also "before a final newline".
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(expanded.data()), expanded.size(),
                                     PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY | PCRE2_NO_UTF_CHECK, &error,
                                     &error_offset, nullptr);
    if (!code) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error, message, sizeof(message));
      return Status::error(fmt::format("pre-tokenizer regex '{}' does not compile at offset {}: {}", pattern,
                                       error_offset, reinterpret_cast<const char*>(message)));
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT is unavailable
    auto compiled = std::make_unique<Compiled>();
    compiled->code = code;
    pre.regexes_.push_back(std::move(compiled));
  }
  return pre;
}

namespace {

using Span = std::pair<size_t, size_t>;

// Splits text[begin, end) by one regex and appends the pieces. The regex sees only the piece,
// so lookarounds stop at its edges.
void split_piece(const pcre2_code* code, pcre2_match_data* match, pcre2_match_context* context, std::string_view text,
                 size_t begin, size_t end, std::vector<Span>& out) {
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data() + begin);
  const size_t length = end - begin;
  size_t last = 0;  // end of the previous piece, relative to begin
  size_t start = 0;
  while (start <= length) {
    const int rc = pcre2_match(code, subject, length, start, PCRE2_NO_UTF_CHECK, match, context);
    if (rc < 0) break;  // PCRE2_ERROR_NOMATCH, or a resource limit: keep the rest as one piece
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match);
    const size_t s = ovector[0], e = ovector[1];
    if (s > last) out.emplace_back(begin + last, begin + s);
    if (e > s) {
      out.emplace_back(begin + s, begin + e);
      last = start = e;
      continue;
    }
    // Zero-length match: a boundary only; step one character to make progress.
    last = s;
    if (s >= length) break;
    start = s + utf8_sequence_length(static_cast<uint8_t>(text[begin + s]));
  }
  if (last < length) out.emplace_back(begin + last, end);
}

}  // namespace

std::vector<Span> PreTokenizer::split(std::string_view text) const {
  std::vector<Span> pieces;
  if (text.empty()) return pieces;
  pieces.emplace_back(0, text.size());
  std::vector<Span> next;
  // A private JIT stack (32 KiB growing to 8 MiB) so long runs of one class never hit the
  // default 32 KiB limit; per call, because PCRE2 stacks must not be shared between threads.
  pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  TESSERA_CHECK(stack != nullptr && context != nullptr, "out of memory for PCRE2 match context");
  pcre2_jit_stack_assign(context, nullptr, stack);
  for (const auto& regex : regexes_) {
    pcre2_match_data* match = pcre2_match_data_create_from_pattern(regex->code, nullptr);
    TESSERA_CHECK(match != nullptr, "out of memory for PCRE2 match data");
    next.clear();
    next.reserve(pieces.size() * 2);
    for (const Span& p : pieces) split_piece(regex->code, match, context, text, p.first, p.second, next);
    pcre2_match_data_free(match);
    pieces.swap(next);
  }
  pcre2_match_context_free(context);
  pcre2_jit_stack_free(stack);
  return pieces;
}

}  // namespace tessera::tokenizer

target_sources(tessera_core PRIVATE
  src/tokenizer/bpe.cpp
  src/tokenizer/plamo2.cpp
  src/tokenizer/pre_tokenizer.cpp
  src/tokenizer/pre_tokenizer_table.cpp
  src/tokenizer/rwkv.cpp
  src/tokenizer/special_tokens.cpp
  src/tokenizer/spm.cpp
  src/tokenizer/stream_decoder.cpp
  src/tokenizer/tokenizer.cpp
  src/tokenizer/ugm.cpp
  src/tokenizer/unicode.cpp
  src/tokenizer/vocab.cpp
  src/tokenizer/wpm.cpp
)

# PCRE2 (pre-tokenizer regexes, with JIT) and utf8proc (Unicode categories, NFD).
find_package(PkgConfig REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)
target_link_libraries(tessera_core PRIVATE PkgConfig::PCRE2 PkgConfig::UTF8PROC)

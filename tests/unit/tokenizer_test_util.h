// Helpers shared by the tokenizer unit tests: where the golden vocabularies are, and loading them.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "tokenizer/tokenizer.h"

namespace tessera::testing {

// ../shared/testdata/vocab beside the repository (tests/fixtures is TESSERA_FIXTURES_DIR).
inline std::filesystem::path vocab_dir() {
  return std::filesystem::path(TESSERA_FIXTURES_DIR) / ".." / ".." / ".." / "shared" / "testdata" / "vocab";
}

inline std::filesystem::path default_model() {
  return std::filesystem::path(TESSERA_FIXTURES_DIR) / ".." / ".." / "models" / "gemma-3-270m-q4_k_m.gguf";
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The vocabularies that come with a .gguf file, by NAME in ggml-vocab-NAME.gguf.
inline std::vector<std::string> golden_vocab_names() {
  std::vector<std::string> names;
  if (!std::filesystem::exists(vocab_dir())) return names;
  for (const auto& entry : std::filesystem::directory_iterator(vocab_dir())) {
    const std::string file = entry.path().filename().string();
    const std::string prefix = "ggml-vocab-", suffix = ".gguf";
    if (file.size() > prefix.size() + suffix.size() && file.starts_with(prefix) && file.ends_with(suffix)) {
      names.push_back(file.substr(prefix.size(), file.size() - prefix.size() - suffix.size()));
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

inline tokenizer::Tokenizer load_tokenizer(const std::filesystem::path& path) {
  Result<gguf::GgufFile> file = gguf::GgufFile::open(path.string());
  TESSERA_CHECK(file.ok(), file.ok() ? "" : file.error().c_str());
  Result<tokenizer::Tokenizer> tok = tokenizer::Tokenizer::load(*file);
  TESSERA_CHECK(tok.ok(), tok.ok() ? "" : tok.error().c_str());
  return std::move(tok).value();
}

}  // namespace tessera::testing

// Helpers shared by the GGUF unit tests.
#pragma once

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace tessera::testing {

inline std::string fixture_path(const std::string& name) {
  return std::string(TESSERA_FIXTURES_DIR) + "/" + name;
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace tessera::testing

// libFuzzer target: the GGUF parser must accept or reject any byte string without crashing,
// reading out of bounds, or allocating from an unchecked count (run under ASan and UBSan).
#include <cstddef>
#include <cstdint>

#include "gguf/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tessera::Result<tessera::gguf::ParsedGguf> parsed = tessera::gguf::parse_gguf({data, size}, "fuzz");
  if (parsed.ok()) {
    // Touch everything a caller could: every value and every tensor byte range.
    size_t sum = 0;
    for (const auto& kv : parsed->metadata) {
      sum += kv.value.to_display_string(4).size();
    }
    for (const auto& t : parsed->tensors) {
      if (t.n_bytes > 0) sum += t.data[0] + t.data[t.n_bytes - 1];
    }
    volatile size_t sink = sum;  // keeps the reads from being optimised away
    (void)sink;
  }
  return 0;
}

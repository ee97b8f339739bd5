// Parses and validates one GGUF file image (GGUF v2 and v3, little-endian).
//
// Nothing in the image is trusted: every count, length, type id, shape and offset is checked with
// overflow-safe arithmetic before it is used, and no allocation is sized from a count that has not
// been checked against the bytes that remain. Every failure names the field and its byte offset.
// The parsed structure holds views into `bytes`, which must outlive it.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gguf/value.h"
#include "quant/type_traits.h"
#include "tessera/status.h"

namespace tessera::gguf {

constexpr uint32_t kDefaultAlignment = 32;
constexpr uint32_t kMaxDims = 4;

struct TensorInfo {
  std::string_view name;
  quant::TensorType type;
  uint32_t n_dims;
  std::array<uint64_t, kMaxDims> shape;  // ggml order: shape[0] is the row length; unused dims are 1
  uint64_t n_elements;
  uint64_t n_bytes;
  uint64_t data_offset;  // as stored: relative to the start of the data section
  uint64_t file_offset;  // absolute offset of the data in its file
  uint32_t split;        // which file of a split model holds the data (0 for single files)
  const uint8_t* data;   // [n_bytes] inside the mapping
};

struct ParsedGguf {
  uint32_t version = 0;
  uint32_t alignment = kDefaultAlignment;
  uint64_t data_section_offset = 0;  // absolute start of tensor data
  uint64_t data_section_size = 0;    // bytes from data_section_offset to the end of the image
  std::vector<KeyValue> metadata;    // in file order
  std::unordered_map<std::string_view, size_t> metadata_index;  // key -> index in metadata
  std::vector<TensorInfo> tensors;                              // in file order
  std::unordered_map<std::string_view, size_t> tensor_index;    // name -> index in tensors

  const Value* find(std::string_view key) const {
    auto it = metadata_index.find(key);
    return it == metadata_index.end() ? nullptr : &metadata[it->second].value;
  }
};

// Parses `bytes` (a whole file image). `source` names the file in error messages.
Result<ParsedGguf> parse_gguf(std::span<const uint8_t> bytes, std::string_view source);

}  // namespace tessera::gguf

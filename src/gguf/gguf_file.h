// An opened GGUF model: one file, or all files of a split model (NAME-00001-of-0000N.gguf),
// memory-mapped and validated. Tensor data is used in place from the mappings, never copied.
//
// Ownership: GgufFile owns the mappings; every Value, name and tensor data pointer it hands out
// stays valid while it lives. Immutable after open(), so it may be shared across threads.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gguf/mapped_file.h"
#include "gguf/parser.h"

namespace tessera::gguf {

class GgufFile {
 public:
  // Opens `path`; when it is the first file of a split model, the other files are found beside it
  // by name and opened too. Fails with a message naming the file, field and offset.
  static Result<GgufFile> open(const std::string& path);

  uint32_t version() const { return parts_[0].version; }
  uint32_t alignment() const { return parts_[0].alignment; }
  // Metadata of the first file (split files repeat only the split.* keys).
  const std::vector<KeyValue>& metadata() const { return parts_[0].metadata; }
  const Value* find(std::string_view key) const { return parts_[0].find(key); }

  // Tensors of all files, in file order.
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(std::string_view name) const;

  size_t split_count() const { return files_.size(); }
  const std::string& path(size_t split = 0) const { return files_[split].path(); }
  uint64_t file_size(size_t split) const { return files_[split].bytes().size(); }
  uint64_t total_file_size() const;
  const ParsedGguf& part(size_t split) const { return parts_[split]; }

 private:
  GgufFile() = default;
  Status add_part(std::string path);
  Status open_remaining_splits(uint16_t split_count);

  std::vector<MappedFile> files_;
  std::vector<ParsedGguf> parts_;  // [split_count], views into files_
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string_view, size_t> tensor_index_;  // name -> index in tensors_
};

// "NAME-00002-of-00005.gguf" for (NAME, 2, 5): llama.cpp's split file naming (1-based).
std::string split_file_path(std::string_view prefix, uint32_t split_no, uint32_t split_count);

}  // namespace tessera::gguf

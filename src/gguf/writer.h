// Writes GGUF v3 files: metadata of every value type and tensors padded to the alignment,
// laid out exactly as gguf-py and llama.cpp write them, so either can read the result.
//
// Metadata is serialized when it is set; tensor data is referenced, not copied, and must stay
// valid until write() returns (so a model can be rewritten straight from its mmap).
// Not thread-safe; one writer per output file.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/value.h"
#include "quant/type_traits.h"
#include "tessera/status.h"

namespace tessera::gguf {

class GgufWriter {
 public:
  // Setting a key that is already set replaces its value and keeps its position.
  template <class T>
  void set(std::string_view key, T value) {
    std::string bytes;
    append_scalar(bytes, ValueTypeOf<T>::kType, &value);
    set_raw(key, std::move(bytes));
  }
  void set_string(std::string_view key, std::string_view value);
  template <class T>
  void set_array(std::string_view key, std::span<const T> values) {
    std::string bytes;
    append_array_header(bytes, ValueTypeOf<T>::kType, values.size());
    for (const T& v : values) append_scalar_value(bytes, ValueTypeOf<T>::kType, &v);
    set_raw(key, std::move(bytes));
  }
  void set_string_array(std::string_view key, std::span<const std::string> values);
  // Copies a value read from another file (any type).
  void set_value(std::string_view key, const Value& value);
  // Sets general.alignment (a power of two) and pads tensors to it.
  Status set_alignment(uint32_t alignment);

  // Adds a tensor; `shape` is in ggml order (shape[0] = row length), 1 to 4 dimensions.
  // `data` must hold exactly the tensor's byte size and outlive write().
  Status add_tensor(std::string_view name, quant::TensorType type, std::span<const uint64_t> shape,
                    std::span<const uint8_t> data);

  // Fills a tensor's bytes ([n_bytes], zero-initialised) when write() reaches it, so a model can be
  // converted tensor by tensor without holding the whole output in memory.
  using Producer = std::function<Status(std::span<uint8_t> out)>;
  Status add_tensor(std::string_view name, quant::TensorType type, std::span<const uint64_t> shape, Producer producer);

  // Writes the file (to a temporary name, then renamed, so a failed write leaves no half file).
  Status write(const std::string& path) const;

 private:
  struct PendingTensor {
    std::string name;
    quant::TensorType type;
    std::vector<uint64_t> shape;
    uint64_t n_bytes;
    std::span<const uint8_t> data;  // used when producer is empty
    Producer producer;
  };

  Result<uint64_t> check_new_tensor(std::string_view name, quant::TensorType type,
                                    std::span<const uint64_t> shape) const;

  void set_raw(std::string_view key, std::string value_bytes);
  static void append_scalar(std::string& out, ValueType type, const void* value);
  static void append_scalar_value(std::string& out, ValueType type, const void* value);
  static void append_array_header(std::string& out, ValueType element_type, uint64_t count);
  std::string header_and_infos() const;

  std::vector<std::pair<std::string, std::string>> metadata_;  // key -> serialized type + value
  std::vector<PendingTensor> tensors_;
  uint32_t alignment_ = 32;
};

}  // namespace tessera::gguf

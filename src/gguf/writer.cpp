#include "gguf/writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace tessera::gguf {
namespace {

static_assert(std::endian::native == std::endian::little, "the GGUF writer emits host byte order");

constexpr uint32_t kVersion = 3;
constexpr char kMagic[4] = {'G', 'G', 'U', 'F'};

template <class T>
void append_pod(std::string& out, const T& value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

void append_string(std::string& out, std::string_view text) {
  append_pod(out, static_cast<uint64_t>(text.size()));
  out.append(text);
}

uint64_t padded(uint64_t n, uint64_t alignment) {
  return (n + alignment - 1) / alignment * alignment;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

void GgufWriter::append_scalar_value(std::string& out, ValueType type, const void* value) {
  out.append(static_cast<const char*>(value), scalar_size(type));
}

void GgufWriter::append_scalar(std::string& out, ValueType type, const void* value) {
  append_pod(out, static_cast<uint32_t>(type));
  append_scalar_value(out, type, value);
}

void GgufWriter::append_array_header(std::string& out, ValueType element_type, uint64_t count) {
  append_pod(out, static_cast<uint32_t>(ValueType::kArray));
  append_pod(out, static_cast<uint32_t>(element_type));
  append_pod(out, count);
}

void GgufWriter::set_raw(std::string_view key, std::string value_bytes) {
  // Tensor padding follows general.alignment however it was set; readers reject other types for it.
  uint32_t type_id = 0;
  uint32_t alignment = 0;
  if (key == "general.alignment" && value_bytes.size() == 8) {
    std::memcpy(&type_id, value_bytes.data(), 4);
    std::memcpy(&alignment, value_bytes.data() + 4, 4);
    if (type_id == static_cast<uint32_t>(ValueType::kUint32) && alignment != 0 && (alignment & (alignment - 1)) == 0) {
      alignment_ = alignment;
    }
  }
  auto it = std::find_if(metadata_.begin(), metadata_.end(), [&](const auto& kv) { return kv.first == key; });
  if (it != metadata_.end()) {
    it->second = std::move(value_bytes);
  } else {
    metadata_.emplace_back(std::string(key), std::move(value_bytes));
  }
}

void GgufWriter::set_string(std::string_view key, std::string_view value) {
  std::string bytes;
  append_pod(bytes, static_cast<uint32_t>(ValueType::kString));
  append_string(bytes, value);
  set_raw(key, std::move(bytes));
}

void GgufWriter::set_string_array(std::string_view key, std::span<const std::string> values) {
  std::string bytes;
  append_array_header(bytes, ValueType::kString, values.size());
  for (const std::string& v : values) append_string(bytes, v);
  set_raw(key, std::move(bytes));
}

void GgufWriter::set_value(std::string_view key, const Value& value) {
  std::string bytes;
  if (value.type() == ValueType::kString) {
    append_pod(bytes, static_cast<uint32_t>(ValueType::kString));
    append_string(bytes, *value.get_string());
  } else if (!value.is_array()) {
    append_scalar(bytes, value.type(), value.scalar_bytes());
  } else {
    append_array_header(bytes, value.element_type(), value.size());
    if (value.element_type() == ValueType::kString) {
      for (uint64_t i = 0; i < value.size(); ++i) append_string(bytes, value.string_at(i));
    } else {
      bytes.append(reinterpret_cast<const char*>(value.array_bytes()),
                   value.size() * scalar_size(value.element_type()));
    }
  }
  set_raw(key, std::move(bytes));
}

Status GgufWriter::set_alignment(uint32_t alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
    return Status::error(fmt::format("alignment {} is not a power of two", alignment));
  }
  set("general.alignment", alignment);
  return {};
}

Result<uint64_t> GgufWriter::check_new_tensor(std::string_view name, quant::TensorType type,
                                              std::span<const uint64_t> shape) const {
  if (shape.empty() || shape.size() > 4) {
    return Status::error(fmt::format("tensor '{}': {} dimensions (1 to 4 allowed)", name, shape.size()));
  }
  for (const PendingTensor& t : tensors_) {
    if (t.name == name) return Status::error(fmt::format("tensor '{}' added twice", name));
  }
  uint64_t n_rows = 1;
  for (size_t d = 1; d < shape.size(); ++d) n_rows *= shape[d];
  const std::optional<uint64_t> row = quant::row_bytes(type, shape[0]);
  if (!row) {
    return Status::error(fmt::format("tensor '{}': row length {} is not a multiple of the {} block size", name,
                                     shape[0], quant::type_name(type)));
  }
  return *row * n_rows;
}

Status GgufWriter::add_tensor(std::string_view name, quant::TensorType type, std::span<const uint64_t> shape,
                              std::span<const uint8_t> data) {
  Result<uint64_t> n_bytes = check_new_tensor(name, type, shape);
  if (!n_bytes) return n_bytes.status();
  if (*n_bytes != data.size()) {
    return Status::error(fmt::format("tensor '{}': {} bytes of data, but its {} shape needs {}", name, data.size(),
                                     quant::type_name(type), *n_bytes));
  }
  tensors_.push_back({std::string(name), type, std::vector<uint64_t>(shape.begin(), shape.end()), *n_bytes, data, {}});
  return {};
}

Status GgufWriter::add_tensor(std::string_view name, quant::TensorType type, std::span<const uint64_t> shape,
                              Producer producer) {
  Result<uint64_t> n_bytes = check_new_tensor(name, type, shape);
  if (!n_bytes) return n_bytes.status();
  tensors_.push_back(
      {std::string(name), type, std::vector<uint64_t>(shape.begin(), shape.end()), *n_bytes, {}, std::move(producer)});
  return {};
}

std::string GgufWriter::header_and_infos() const {
  std::string out(kMagic, sizeof(kMagic));
  append_pod(out, kVersion);
  append_pod(out, static_cast<uint64_t>(tensors_.size()));
  append_pod(out, static_cast<uint64_t>(metadata_.size()));
  for (const auto& [key, value] : metadata_) {
    append_string(out, key);
    out += value;
  }
  uint64_t offset = 0;
  for (const PendingTensor& t : tensors_) {
    append_string(out, t.name);
    append_pod(out, static_cast<uint32_t>(t.shape.size()));
    for (uint64_t dim : t.shape) append_pod(out, dim);
    append_pod(out, static_cast<uint32_t>(t.type));
    append_pod(out, offset);
    offset += padded(t.n_bytes, alignment_);
  }
  out.resize(padded(out.size(), alignment_), '\0');
  return out;
}

Status GgufWriter::write(const std::string& path) const {
  const std::string temp_path = path + ".tmp";
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(temp_path.c_str(), "wb"));
  if (!file) return Status::error(fmt::format("{}: cannot create: {}", temp_path, std::strerror(errno)));
  auto write_bytes = [&](const void* data, size_t size) { return std::fwrite(data, 1, size, file.get()) == size; };

  const std::string head = header_and_infos();
  Status status;
  if (!write_bytes(head.data(), head.size())) status = Status::error(std::strerror(errno));
  const std::string zeros(alignment_, '\0');
  std::vector<uint8_t> produced;
  for (const PendingTensor& t : tensors_) {
    if (!status) break;
    std::span<const uint8_t> data = t.data;
    if (t.producer) {
      produced.assign(t.n_bytes, 0);
      status = t.producer(produced);
      if (!status) break;
      data = produced;
    }
    if (!write_bytes(data.data(), data.size()) ||
        !write_bytes(zeros.data(), padded(data.size(), alignment_) - data.size())) {
      status = Status::error(std::strerror(errno));
    }
  }
  if (std::fclose(file.release()) != 0 && status) status = Status::error(std::strerror(errno));
  if (!status) {
    std::remove(temp_path.c_str());
    return Status::error(fmt::format("{}: write failed: {}", temp_path, status.message()));
  }
  if (std::rename(temp_path.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(temp_path.c_str());
    return Status::error(fmt::format("{}: cannot rename to {}: {}", temp_path, path, std::strerror(err)));
  }
  return {};
}

}  // namespace tessera::gguf

#include "gguf/parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <numeric>

namespace tessera::gguf {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint64_t kMaxInt64 = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
// Smallest possible encodings, used to bound counts by the bytes left before allocating.
constexpr uint64_t kMinKeyValueBytes = 8 + 4 + 1;        // key length, type, 1-byte value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;  // name length, n_dims, type, offset
constexpr uint64_t kStringLengthBytes = 8;

// Keys whose type the rest of Tessera (and llama.cpp) relies on. A file that stores one of them
// with another type is rejected here instead of being misread later.
struct WellKnownKey {
  std::string_view key;
  ValueType type;
  ValueType element_type;  // for arrays
};
constexpr WellKnownKey kWellKnownKeys[] = {
    {"general.alignment", ValueType::kUint32, ValueType::kCount},
    {"general.architecture", ValueType::kString, ValueType::kCount},
    {"split.no", ValueType::kUint16, ValueType::kCount},
    {"split.count", ValueType::kUint16, ValueType::kCount},
    {"split.tensors.count", ValueType::kInt32, ValueType::kCount},
    {"tokenizer.ggml.tokens", ValueType::kArray, ValueType::kString},
    {"tokenizer.ggml.merges", ValueType::kArray, ValueType::kString},
    {"tokenizer.ggml.scores", ValueType::kArray, ValueType::kFloat32},
    {"tokenizer.ggml.token_type", ValueType::kArray, ValueType::kInt32},
};

std::string type_description(ValueType type, ValueType element_type) {
  if (type != ValueType::kArray) return std::string(value_type_name(type));
  return fmt::format("array of {}", value_type_name(element_type));
}

class Parser {
 public:
  Parser(std::span<const uint8_t> bytes, std::string_view source) : bytes_(bytes), source_(source) {}

  Result<ParsedGguf> run() {
    if (Status s = parse_header(); !s) return s;
    if (Status s = parse_metadata(); !s) return s;
    if (Status s = check_well_known_keys(); !s) return s;
    if (Status s = parse_tensor_infos(); !s) return s;
    if (Status s = check_data_layout(); !s) return s;
    return std::move(out_);
  }

 private:
  uint64_t remaining() const { return bytes_.size() - pos_; }

  template <class... Args>
  Status fail(uint64_t offset, fmt::format_string<Args...> format, Args&&... args) const {
    return Status::error(
        fmt::format("{}: offset {}: {}", source_, offset, fmt::format(format, std::forward<Args>(args)...)));
  }

  Status truncated(uint64_t offset, std::string_view what, uint64_t needed) const {
    return fail(offset, "{} needs {} bytes but only {} remain (file truncated?)", what, needed, bytes_.size() - offset);
  }

  // Reads a little-endian scalar; false when the file ends first.
  template <class T>
  bool read(T& out) {
    if (remaining() < sizeof(T)) return false;
    std::memcpy(&out, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }

  template <class T>
  Status read_field(T& out, std::string_view what) {
    const uint64_t at = pos_;
    if (!read(out)) return truncated(at, what, sizeof(T));
    return {};
  }

  // `describe` is called only on failure, so the hot path builds no strings.
  template <class Describe>
  Status read_string(std::string_view& out, Describe describe) {
    const uint64_t at = pos_;
    uint64_t length = 0;
    if (!read(length)) return truncated(at, describe() + " length", kStringLengthBytes);
    if (length > remaining()) {
      return fail(at, "{}: string length {} exceeds the {} bytes left in the file", describe(), length, remaining());
    }
    out = std::string_view(reinterpret_cast<const char*>(bytes_.data() + pos_), length);
    pos_ += length;
    return {};
  }

  Status parse_header() {
    uint32_t magic = 0;
    if (!read(magic)) return truncated(0, "magic", 4);
    if (magic != kMagic) {
      return fail(0, "bad magic {:02x} {:02x} {:02x} {:02x}: not a GGUF file (expected \"GGUF\")", bytes_[0], bytes_[1],
                  bytes_[2], bytes_[3]);
    }
    if (Status s = read_field(out_.version, "version"); !s) return s;
    if (out_.version == 1) {
      return fail(4, "GGUF version 1 (files from before August 2023) is not supported; convert the model again");
    }
    if ((out_.version & 0xffff) == 0 && (out_.version >> 24) >= 1 && (out_.version >> 24) <= 3) {
      return fail(4, "version {:#x} looks byte-swapped: big-endian GGUF files are not supported", out_.version);
    }
    if (out_.version != 2 && out_.version != 3) {
      return fail(4, "unsupported GGUF version {} (supported: 2 and 3)", out_.version);
    }
    if (Status s = read_field(n_tensors_, "tensor count"); !s) return s;
    if (Status s = read_field(n_kv_, "metadata key/value count"); !s) return s;
    if (n_kv_ > remaining() / kMinKeyValueBytes) {
      return fail(16, "metadata key/value count {} cannot fit in the {} bytes left in the file", n_kv_, remaining());
    }
    if (n_tensors_ > remaining() / kMinTensorInfoBytes) {
      return fail(8, "tensor count {} cannot fit in the {} bytes left in the file", n_tensors_, remaining());
    }
    return {};
  }

  std::string describe_key(uint64_t index, std::string_view key) const {
    return fmt::format("key #{} '{}'", index, key);
  }

  Status parse_metadata() {
    out_.metadata.reserve(n_kv_);  // bounded by the file size in parse_header
    out_.metadata_index.reserve(n_kv_);
    for (uint64_t i = 0; i < n_kv_; ++i) {
      const uint64_t key_offset = pos_;
      std::string_view key;
      if (Status s = read_string(key, [&] { return fmt::format("key #{} name", i); }); !s) return s;
      auto describe = [&] { return describe_key(i, key); };
      const uint64_t type_offset = pos_;
      uint32_t type_id = 0;
      if (!read(type_id)) return truncated(type_offset, describe() + " value type", 4);
      if (type_id >= static_cast<uint32_t>(ValueType::kCount)) {
        return fail(type_offset, "{}: unknown value type id {}", describe(), type_id);
      }
      Result<Value> value = parse_value(static_cast<ValueType>(type_id), describe);
      if (!value) return value.status();
      if (!out_.metadata_index.emplace(key, out_.metadata.size()).second) {
        return fail(key_offset, "{}: duplicate key (first defined at offset {})", describe(),
                    out_.metadata[out_.metadata_index[key]].file_offset);
      }
      out_.metadata.push_back({key, std::move(value.value()), key_offset});
    }
    return {};
  }

  template <class Describe>
  Result<Value> parse_value(ValueType type, Describe describe) {
    const uint64_t at = pos_;
    if (type == ValueType::kString) {
      std::string_view text;
      if (Status s = read_string(text, describe); !s) return s;
      return Value::string(text);
    }
    if (type != ValueType::kArray) {
      const uint32_t size = scalar_size(type);
      if (remaining() < size) return truncated(at, describe() + " value", size);
      if (type == ValueType::kBool && bytes_[at] > 1) {
        return fail(at, "{}: bool value {} is neither 0 nor 1", describe(), bytes_[at]);
      }
      pos_ += size;
      return Value::scalar(type, bytes_.data() + at);
    }
    uint32_t element_id = 0;
    if (!read(element_id)) return truncated(at, describe() + " array element type", 4);
    if (element_id == static_cast<uint32_t>(ValueType::kArray)) {
      return fail(at, "{}: arrays of arrays are not supported", describe());
    }
    if (element_id >= static_cast<uint32_t>(ValueType::kCount)) {
      return fail(at, "{}: unknown array element type id {}", describe(), element_id);
    }
    const auto element_type = static_cast<ValueType>(element_id);
    const uint64_t count_offset = pos_;
    uint64_t count = 0;
    if (!read(count)) return truncated(count_offset, describe() + " array length", 8);
    const uint64_t min_element_bytes =
        element_type == ValueType::kString ? kStringLengthBytes : scalar_size(element_type);
    if (count > remaining() / min_element_bytes) {
      return fail(count_offset, "{}: array length {} of {} cannot fit in the {} bytes left in the file", describe(),
                  count, value_type_name(element_type), remaining());
    }
    if (element_type != ValueType::kString) {
      const uint8_t* elements = bytes_.data() + pos_;
      if (element_type == ValueType::kBool) {
        for (uint64_t j = 0; j < count; ++j) {
          if (elements[j] > 1) {
            return fail(pos_ + j, "{}: element {} is bool value {}, neither 0 nor 1", describe(), j, elements[j]);
          }
        }
      }
      pos_ += count * min_element_bytes;
      return Value::scalar_array(element_type, elements, count);
    }
    std::vector<std::string_view> strings(count);
    for (uint64_t j = 0; j < count; ++j) {
      auto describe_element = [&] { return fmt::format("{} element {}", describe(), j); };
      if (Status s = read_string(strings[j], describe_element); !s) return s;
    }
    return Value::string_array(std::move(strings));
  }

  Status check_well_known_keys() {
    for (const WellKnownKey& known : kWellKnownKeys) {
      auto it = out_.metadata_index.find(known.key);
      if (it == out_.metadata_index.end()) continue;
      const KeyValue& kv = out_.metadata[it->second];
      if (kv.value.type() != known.type ||
          (known.type == ValueType::kArray && kv.value.element_type() != known.element_type)) {
        return fail(kv.file_offset, "key '{}' must be of type {}, but the file stores {}", known.key,
                    type_description(known.type, known.element_type),
                    type_description(kv.value.type(), kv.value.element_type()));
      }
    }
    if (const Value* alignment = out_.find("general.alignment")) {
      const uint32_t value = *alignment->get<uint32_t>();
      if (value == 0 || (value & (value - 1)) != 0) {
        return fail(out_.metadata[out_.metadata_index["general.alignment"]].file_offset,
                    "general.alignment = {} is not a power of two", value);
      }
      out_.alignment = value;
    }
    return {};
  }

  Status parse_tensor_infos() {
    out_.tensors.reserve(n_tensors_);  // bounded by the file size in parse_header
    out_.tensor_index.reserve(n_tensors_);
    for (uint64_t i = 0; i < n_tensors_; ++i) {
      const uint64_t info_offset = pos_;
      TensorInfo info{};
      if (Status s = read_string(info.name, [&] { return fmt::format("tensor #{} name", i); }); !s) return s;
      if (Status s = parse_tensor_shape_and_type(i, info); !s) return s;
      const uint64_t offset_at = pos_;
      if (!read(info.data_offset)) return truncated(offset_at, describe_tensor(i, info.name) + " offset", 8);
      if (!out_.tensor_index.emplace(info.name, out_.tensors.size()).second) {
        return fail(info_offset, "{}: duplicate tensor name", describe_tensor(i, info.name));
      }
      out_.tensors.push_back(info);
    }
    return {};
  }

  std::string describe_tensor(uint64_t index, std::string_view name) const {
    return fmt::format("tensor #{} '{}'", index, name);
  }

  Status parse_tensor_shape_and_type(uint64_t i, TensorInfo& info) {
    auto describe = [&] { return describe_tensor(i, info.name); };
    const uint64_t dims_offset = pos_;
    if (!read(info.n_dims)) return truncated(dims_offset, describe() + " n_dims", 4);
    if (info.n_dims > kMaxDims) {
      return fail(dims_offset, "{}: n_dims = {} exceeds the maximum of {}", describe(), info.n_dims, kMaxDims);
    }
    info.shape.fill(1);
    info.n_elements = 1;
    for (uint32_t d = 0; d < info.n_dims; ++d) {
      const uint64_t at = pos_;
      if (!read(info.shape[d])) return truncated(at, describe() + fmt::format(" dimension {}", d), 8);
      if (info.shape[d] == 0) return fail(at, "{}: dimension {} is zero", describe(), d);
      if (info.shape[d] > kMaxInt64 || info.n_elements > kMaxInt64 / info.shape[d]) {
        return fail(at, "{}: dimension {} = {} makes the element count overflow int64", describe(), d, info.shape[d]);
      }
      info.n_elements *= info.shape[d];
    }
    const uint64_t type_offset = pos_;
    uint32_t type_id = 0;
    if (!read(type_id)) return truncated(type_offset, describe() + " type", 4);
    const std::optional<quant::TensorType> type = quant::tensor_type_from_id(type_id);
    if (!type) return fail(type_offset, "{}: unknown tensor type id {}", describe(), type_id);
    const quant::TypeTraits& traits = quant::type_traits(*type);
    if (traits.removed) {
      return fail(type_offset, "{}: tensor type {} (id {}) was removed from ggml; re-quantize the model", describe(),
                  traits.name, type_id);
    }
    info.type = *type;
    if (info.shape[0] % traits.block_size != 0) {
      return fail(type_offset, "{}: row length {} is not a multiple of the {} block size {}", describe(), info.shape[0],
                  traits.name, traits.block_size);
    }
    const uint64_t n_blocks = info.n_elements / traits.block_size;
    if (__builtin_mul_overflow(n_blocks, uint64_t{traits.bytes_per_block}, &info.n_bytes)) {
      return fail(type_offset, "{}: byte size of {} {} elements overflows", describe(), info.n_elements, traits.name);
    }
    return {};
  }

  Status check_data_layout() {
    const uint64_t infos_end = pos_;
    // infos_end <= file size < 2^63 and alignment < 2^32, so this cannot wrap.
    out_.data_section_offset = (infos_end + out_.alignment - 1) / out_.alignment * out_.alignment;
    if (out_.data_section_offset > bytes_.size()) {
      if (!out_.tensors.empty()) {
        return fail(infos_end, "data section (aligned to {}) would start at {}, past the end of the file ({} bytes)",
                    out_.alignment, out_.data_section_offset, bytes_.size());
      }
      out_.data_section_offset = bytes_.size();
    }
    out_.data_section_size = bytes_.size() - out_.data_section_offset;
    for (size_t i = 0; i < out_.tensors.size(); ++i) {
      TensorInfo& t = out_.tensors[i];
      if (t.data_offset % out_.alignment != 0) {
        return fail(out_.data_section_offset, "{}: data offset {} is not a multiple of the alignment {}",
                    describe_tensor(i, t.name), t.data_offset, out_.alignment);
      }
      if (t.data_offset > out_.data_section_size || t.n_bytes > out_.data_section_size - t.data_offset) {
        return fail(out_.data_section_offset,
                    "{}: data [{}, +{} bytes) lies outside the data section ({} bytes; file truncated?)",
                    describe_tensor(i, t.name), t.data_offset, t.n_bytes, out_.data_section_size);
      }
      t.file_offset = out_.data_section_offset + t.data_offset;
      t.data = bytes_.data() + t.file_offset;
    }
    return check_no_overlap();
  }

  Status check_no_overlap() const {
    std::vector<size_t> order(out_.tensors.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return out_.tensors[a].data_offset < out_.tensors[b].data_offset; });
    for (size_t k = 1; k < order.size(); ++k) {
      const TensorInfo& prev = out_.tensors[order[k - 1]];
      const TensorInfo& next = out_.tensors[order[k]];
      if (next.data_offset < prev.data_offset + prev.n_bytes) {
        return fail(out_.data_section_offset, "tensor '{}' (data offset {}) overlaps tensor '{}' ({} bytes at {})",
                    next.name, next.data_offset, prev.name, prev.n_bytes, prev.data_offset);
      }
    }
    return {};
  }

  std::span<const uint8_t> bytes_;
  std::string_view source_;
  uint64_t pos_ = 0;
  uint64_t n_tensors_ = 0;
  uint64_t n_kv_ = 0;
  ParsedGguf out_;
};

}  // namespace

Result<ParsedGguf> parse_gguf(std::span<const uint8_t> bytes, std::string_view source) {
  return Parser(bytes, source).run();
}

}  // namespace tessera::gguf

// GGUF metadata values, as views into the memory-mapped file (no copies of strings or arrays).
//
// A Value is valid as long as the GgufFile (or the byte buffer) it was parsed from is alive.
// Values are immutable after parsing and safe to read from many threads.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "tessera/check.h"

namespace tessera::gguf {

// On-disk value type ids (GGUF spec); never renumber.
enum class ValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
  kCount = 13,
};

// "u8", "i32", "f32", "string", "array", ... as gguf-py's GGUFValueType names them, lower-cased.
std::string_view value_type_name(ValueType type);

// Bytes one scalar of `type` occupies; 0 for string and array (variable length).
uint32_t scalar_size(ValueType type);

// Maps a C++ scalar type to its GGUF value type.
template <class T>
struct ValueTypeOf;
template <>
struct ValueTypeOf<uint8_t> {
  static constexpr ValueType kType = ValueType::kUint8;
};
template <>
struct ValueTypeOf<int8_t> {
  static constexpr ValueType kType = ValueType::kInt8;
};
template <>
struct ValueTypeOf<uint16_t> {
  static constexpr ValueType kType = ValueType::kUint16;
};
template <>
struct ValueTypeOf<int16_t> {
  static constexpr ValueType kType = ValueType::kInt16;
};
template <>
struct ValueTypeOf<uint32_t> {
  static constexpr ValueType kType = ValueType::kUint32;
};
template <>
struct ValueTypeOf<int32_t> {
  static constexpr ValueType kType = ValueType::kInt32;
};
template <>
struct ValueTypeOf<float> {
  static constexpr ValueType kType = ValueType::kFloat32;
};
template <>
struct ValueTypeOf<bool> {
  static constexpr ValueType kType = ValueType::kBool;
};
template <>
struct ValueTypeOf<uint64_t> {
  static constexpr ValueType kType = ValueType::kUint64;
};
template <>
struct ValueTypeOf<int64_t> {
  static constexpr ValueType kType = ValueType::kInt64;
};
template <>
struct ValueTypeOf<double> {
  static constexpr ValueType kType = ValueType::kFloat64;
};

class Value {
 public:
  // Scalars (anything but string and array): `bytes` points at the little-endian value.
  static Value scalar(ValueType type, const uint8_t* bytes) { return Value(type, ValueType::kCount, bytes, 0); }
  static Value string(std::string_view text) {
    return Value(ValueType::kString, ValueType::kCount, reinterpret_cast<const uint8_t*>(text.data()), text.size());
  }
  // Arrays of scalars: `count` packed elements starting at `bytes`.
  static Value scalar_array(ValueType element_type, const uint8_t* bytes, uint64_t count) {
    return Value(ValueType::kArray, element_type, bytes, count);
  }
  static Value string_array(std::vector<std::string_view> strings) {
    Value value(ValueType::kArray, ValueType::kString, nullptr, strings.size());
    value.strings_ = std::move(strings);
    return value;
  }

  ValueType type() const { return type_; }
  bool is_array() const { return type_ == ValueType::kArray; }
  // Element type of an array; kCount for non-arrays.
  ValueType element_type() const { return element_type_; }

  // The scalar if this value has exactly type T (no conversions), else nullopt.
  template <class T>
  std::optional<T> get() const {
    if (type_ != ValueTypeOf<T>::kType) return std::nullopt;
    return load<T>(bytes_);
  }
  std::optional<std::string_view> get_string() const {
    if (type_ != ValueType::kString) return std::nullopt;
    return std::string_view(reinterpret_cast<const char*>(bytes_), count_);
  }
  // Any integer type holding a non-negative value, widened; nullopt otherwise.
  std::optional<uint64_t> get_unsigned() const;
  // Any integer type that fits in int64, widened; nullopt otherwise.
  std::optional<int64_t> get_signed() const;
  // f32 or f64, widened.
  std::optional<double> get_float() const;

  // Number of array elements (0 for non-arrays).
  uint64_t size() const { return is_array() ? count_ : 0; }
  // Element i of a scalar array whose element type is exactly T.
  template <class T>
  T at(uint64_t i) const {
    TESSERA_CHECK(is_array() && element_type_ == ValueTypeOf<T>::kType, "array element type mismatch");
    TESSERA_CHECK(i < count_, "array index out of range");
    return load<T>(bytes_ + i * sizeof(T));
  }
  std::string_view string_at(uint64_t i) const {
    TESSERA_CHECK(is_array() && element_type_ == ValueType::kString, "not an array of strings");
    return strings_.at(i);
  }
  // Raw packed elements of a scalar array: size() * scalar_size(element_type()) bytes.
  const uint8_t* array_bytes() const { return bytes_; }
  // Raw little-endian bytes of a scalar.
  const uint8_t* scalar_bytes() const { return bytes_; }

  // Human-readable rendering for `tessera inspect`; arrays longer than `max_elements` are cut.
  std::string to_display_string(uint64_t max_elements) const;

 private:
  Value(ValueType type, ValueType element_type, const uint8_t* bytes, uint64_t count)
      : type_(type), element_type_(element_type), bytes_(bytes), count_(count) {}

  template <class T>
  static T load(const uint8_t* p) {
    if constexpr (std::is_same_v<T, bool>) return *p != 0;  // a byte other than 0/1 is not a valid bool
    T value;
    std::memcpy(&value, p, sizeof(T));  // file data is not aligned for T
    return value;
  }

  ValueType type_;
  ValueType element_type_;
  const uint8_t* bytes_;                   // scalar bytes, string characters, or packed array elements
  uint64_t count_;                         // string length or array element count
  std::vector<std::string_view> strings_;  // [count_] for arrays of strings
};

struct KeyValue {
  std::string_view key;
  Value value;
  uint64_t file_offset;  // where the key starts, for error messages
};

}  // namespace tessera::gguf

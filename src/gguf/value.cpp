#include "gguf/value.h"

#include <fmt/format.h>

#include <array>
#include <limits>

namespace tessera::gguf {
namespace {

struct ValueTypeRow {
  std::string_view name;
  uint32_t size;
};

constexpr std::array<ValueTypeRow, static_cast<size_t>(ValueType::kCount)> kValueTypes = {{
    {"u8", 1},
    {"i8", 1},
    {"u16", 2},
    {"i16", 2},
    {"u32", 4},
    {"i32", 4},
    {"f32", 4},
    {"bool", 1},
    {"string", 0},
    {"array", 0},
    {"u64", 8},
    {"i64", 8},
    {"f64", 8},
}};

// Appends `text` quoted, with control characters and quotes escaped so one value stays on one line.
void append_quoted(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

}  // namespace

std::string_view value_type_name(ValueType type) {
  const auto index = static_cast<size_t>(type);
  return index < kValueTypes.size() ? kValueTypes[index].name : std::string_view("invalid");
}

uint32_t scalar_size(ValueType type) {
  const auto index = static_cast<size_t>(type);
  TESSERA_CHECK(index < kValueTypes.size(), "value type out of range");
  return kValueTypes[index].size;
}

std::optional<uint64_t> Value::get_unsigned() const {
  if (auto s = get_signed(); s && *s >= 0) return static_cast<uint64_t>(*s);
  if (auto u = get<uint64_t>()) return u;
  return std::nullopt;
}

std::optional<int64_t> Value::get_signed() const {
  switch (type_) {
    case ValueType::kUint8: return *get<uint8_t>();
    case ValueType::kInt8: return *get<int8_t>();
    case ValueType::kUint16: return *get<uint16_t>();
    case ValueType::kInt16: return *get<int16_t>();
    case ValueType::kUint32: return *get<uint32_t>();
    case ValueType::kInt32: return *get<int32_t>();
    case ValueType::kInt64: return *get<int64_t>();
    case ValueType::kUint64: {
      const uint64_t u = *get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
      return static_cast<int64_t>(u);
    }
    default: return std::nullopt;
  }
}

std::optional<double> Value::get_float() const {
  if (auto f = get<float>()) return *f;
  return get<double>();
}

namespace {

std::string scalar_to_string(const Value& v) {
  switch (v.type()) {
    case ValueType::kBool: return *v.get<bool>() ? "true" : "false";
    case ValueType::kFloat32: return fmt::format("{}", *v.get<float>());
    case ValueType::kFloat64: return fmt::format("{}", *v.get<double>());
    case ValueType::kUint64: return fmt::format("{}", *v.get<uint64_t>());
    default: return fmt::format("{}", *v.get_signed());
  }
}

std::string array_element_to_string(const Value& v, uint64_t i) {
  const ValueType t = v.element_type();
  if (t == ValueType::kString) {
    std::string out;
    append_quoted(out, v.string_at(i));
    return out;
  }
  return scalar_to_string(Value::scalar(t, v.array_bytes() + i * scalar_size(t)));
}

}  // namespace

std::string Value::to_display_string(uint64_t max_elements) const {
  if (type_ == ValueType::kString) {
    std::string out;
    append_quoted(out, *get_string());
    return out;
  }
  if (!is_array()) return scalar_to_string(*this);
  std::string out = "[";
  const uint64_t shown = count_ < max_elements ? count_ : max_elements;
  for (uint64_t i = 0; i < shown; ++i) {
    if (i > 0) out += ", ";
    out += array_element_to_string(*this, i);
  }
  if (shown < count_) out += fmt::format(", ... ({} more)", count_ - shown);
  out += "]";
  return out;
}

}  // namespace tessera::gguf

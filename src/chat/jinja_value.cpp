#include "chat/jinja_value.h"

#include <fmt/format.h>
#include <utf8proc.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "tokenizer/unicode.h"

namespace tessera::chat::jinja {

Value Value::list(std::vector<Value> items, bool is_tuple) {
  Value v(Kind::kList);
  v.list_ = std::make_shared<ListData>(ListData{std::move(items), is_tuple});
  return v;
}

Value Value::generator(std::vector<Value> items) {
  Value v = list(std::move(items));
  v.list_->is_generator = true;
  return v;
}

Value Value::dict() {
  Value v(Kind::kDict);
  v.dict_ = std::make_shared<DictData>();
  return v;
}

Value Value::namespace_object() {
  Value v = dict();
  v.dict_->is_namespace = true;
  return v;
}

Value Value::callable(std::string name, NativeFunction fn) {
  Value v(Kind::kCallable);
  v.fn_ = std::make_shared<CallableData>(CallableData{std::move(name), std::move(fn)});
  return v;
}

Value Value::from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return none();
    case nlohmann::ordered_json::value_t::boolean: return Value(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Value(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const uint64_t u = j.get<uint64_t>();
      return u <= uint64_t(INT64_MAX) ? Value(int64_t(u)) : Value(double(u));
    }
    case nlohmann::ordered_json::value_t::number_float: return Value(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return Value(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(from_json(e));
      return list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      Value d = dict();
      for (const auto& [k, e] : j.items()) d.dict_data().set(Value(k), from_json(e));
      return d;
    }
    default: return none();
  }
}

bool Value::is_namespace() const {
  return kind_ == Kind::kDict && dict_->is_namespace;
}

bool Value::truthy() const {
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone: return false;
    case Kind::kBool:
    case Kind::kInt: return int_ != 0;
    case Kind::kFloat: return float_ != 0.0;
    case Kind::kString: return !str_.empty();
    case Kind::kList: return list_->is_generator || !list_->items.empty();
    case Kind::kDict: return dict_->is_namespace || !dict_->entries.empty();
    case Kind::kCallable: return true;
  }
  return false;
}

bool Value::same_as(const Value& other) const {
  if (kind_ != other.kind_) return false;
  switch (kind_) {
    case Kind::kList: return list_ == other.list_;
    case Kind::kDict: return dict_ == other.dict_;
    case Kind::kCallable: return fn_ == other.fn_;
    default: return equals(*this, other);
  }
}

std::optional<std::string> Value::hash_key() const {
  switch (kind_) {
    case Kind::kNone: return std::string("n");
    case Kind::kBool:
    case Kind::kInt: return "i" + std::to_string(int_);
    case Kind::kFloat:
      if (float_ == std::floor(float_) && std::fabs(float_) < 9e18) return "i" + std::to_string(int64_t(float_));
      return "f" + format_float(float_);
    case Kind::kString: return "s" + str_;
    case Kind::kList: {
      if (!list_->is_tuple) return std::nullopt;
      std::string key = "t";
      for (const Value& e : list_->items) {
        std::optional<std::string> k = e.hash_key();
        if (!k) return std::nullopt;
        key += std::to_string(k->size()) + ":" + *k;
      }
      return key;
    }
    default: return std::nullopt;
  }
}

std::string Value::type_name() const {
  switch (kind_) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "NoneType";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "str";
    case Kind::kList: return list_->is_generator ? "generator" : list_->is_tuple ? "tuple" : "list";
    case Kind::kDict: return dict_->is_namespace ? "Namespace" : "dict";
    case Kind::kCallable: return "function";
  }
  return "object";
}

const Value* DictData::find(const Value& key) const {
  std::optional<std::string> k = key.hash_key();
  if (!k) return nullptr;
  auto it = index.find(*k);
  return it == index.end() ? nullptr : &entries[it->second].second;
}

void DictData::set(const Value& key, Value value) {
  std::optional<std::string> k = key.hash_key();
  if (!k) return;  // callers check hashability first
  auto [it, inserted] = index.emplace(*k, entries.size());
  if (inserted) {
    entries.emplace_back(key, std::move(value));
  } else {
    entries[it->second].second = std::move(value);
  }
}

bool equals(const Value& a, const Value& b) {
  using K = Value::Kind;
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_float() == b.as_float();
    return a.as_int() == b.as_int();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case K::kUndefined:
    case K::kNone: return true;
    case K::kString: return a.as_string() == b.as_string();
    case K::kList: {
      if (a.is_generator() || b.is_generator()) return a.same_as(b);
      if (a.is_tuple() != b.is_tuple() || a.items().size() != b.items().size()) return false;
      for (size_t i = 0; i < a.items().size(); ++i) {
        if (!equals(a.items()[i], b.items()[i])) return false;
      }
      return true;
    }
    case K::kDict: {
      const DictData& da = a.dict_data();
      const DictData& db = b.dict_data();
      if (da.is_namespace || db.is_namespace) return &da == &db;
      if (da.entries.size() != db.entries.size()) return false;
      for (const auto& [k, v] : da.entries) {
        const Value* other = db.find(k);
        if (!other || !equals(v, *other)) return false;
      }
      return true;
    }
    case K::kCallable: return a.same_as(b);
    default: return false;
  }
}

std::string format_float(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);  // "-1.2345e+02"
  const bool negative = sci[0] == '-';
  if (negative) sci.erase(0, 1);
  const size_t e_pos = sci.find('e');
  std::string digits = sci.substr(0, e_pos);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int exponent = std::stoi(sci.substr(e_pos + 1));
  std::string out = negative ? "-" : "";
  if (exponent >= -5 + 1 && exponent < 16) {  // Python repr uses fixed notation for 1e-4 <= |d| < 1e16
    if (exponent < 0) {
      out += "0." + std::string(size_t(-exponent - 1), '0') + digits;
    } else if (size_t(exponent) + 1 >= digits.size()) {
      out += digits + std::string(size_t(exponent) + 1 - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, size_t(exponent) + 1) + "." + digits.substr(size_t(exponent) + 1);
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  out += fmt::format("e{}{:02d}", exponent < 0 ? '-' : '+', std::abs(exponent));
  return out;
}

namespace {

bool is_printable(uint32_t cp) {
  if (cp == ' ') return true;
  switch (utf8proc_category(utf8proc_int32_t(cp))) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_ZS: return false;
    default: return true;
  }
}

std::string repr_string(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (size_t i = 0; i < s.size();) {
    size_t len = 1;
    const uint32_t cp = tokenizer::decode_utf8(s, i, len);
    const std::string_view raw = s.substr(i, len);
    i += len;
    if (cp == uint32_t(quote) || cp == '\\') {
      out += '\\';
      out += char(cp);
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (is_printable(cp)) {
      out += raw;
    } else if (cp < 0x100) {
      out += fmt::format("\\x{:02x}", cp);
    } else if (cp < 0x10000) {
      out += fmt::format("\\u{:04x}", cp);
    } else {
      out += fmt::format("\\U{:08x}", cp);
    }
  }
  out += quote;
  return out;
}

void append_repr(const Value& v, std::string& out, int depth);

void append_sequence(const Value& v, std::string& out, int depth) {
  if (v.is_generator()) {
    out += "<generator object>";
    return;
  }
  const bool tuple = v.is_tuple();
  out += tuple ? '(' : '[';
  const auto& items = v.items();
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    append_repr(items[i], out, depth + 1);
  }
  if (tuple && items.size() == 1) out += ',';
  out += tuple ? ')' : ']';
}

void append_repr(const Value& v, std::string& out, int depth) {
  if (depth > 200) {
    out += "...";
    return;
  }
  switch (v.kind()) {
    case Value::Kind::kString: out += repr_string(v.as_string()); return;
    case Value::Kind::kList: append_sequence(v, out, depth); return;
    case Value::Kind::kDict: {
      const DictData& d = v.dict_data();
      if (d.is_namespace) out += "<Namespace ";
      out += '{';
      for (size_t i = 0; i < d.entries.size(); ++i) {
        if (i) out += ", ";
        append_repr(d.entries[i].first, out, depth + 1);
        out += ": ";
        append_repr(d.entries[i].second, out, depth + 1);
      }
      out += '}';
      if (d.is_namespace) out += '>';
      return;
    }
    default: out += to_str(v); return;
  }
}

}  // namespace

std::string to_repr(const Value& v) {
  std::string out;
  append_repr(v, out, 0);
  return out;
}

std::string to_str(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return "";
    case Value::Kind::kNone: return "None";
    case Value::Kind::kBool: return v.as_bool() ? "True" : "False";
    case Value::Kind::kInt: return std::to_string(v.as_int());
    case Value::Kind::kFloat: return format_float(v.as_float());
    case Value::Kind::kString: return v.as_string();
    case Value::Kind::kCallable: return "<function " + v.callable_data().name + ">";
    default: return to_repr(v);
  }
}

namespace {

void append_json_string(std::string_view s, std::string& out) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (uint8_t(c) < 0x20) {
          out += fmt::format("\\u{:04x}", unsigned(uint8_t(c)));
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

struct JsonWriter {
  const JsonDumpOptions& options;
  std::string& out;
  std::string& error;

  void newline(int level) {
    out += '\n';
    for (int i = 0; i < level; ++i) out += *options.indent;
  }

  std::optional<std::string> key_text(const Value& k) {
    switch (k.kind()) {
      case Value::Kind::kString: return k.as_string();
      case Value::Kind::kNone: return std::string("null");
      case Value::Kind::kBool: return std::string(k.as_bool() ? "true" : "false");
      case Value::Kind::kInt: return std::to_string(k.as_int());
      case Value::Kind::kFloat: return float_text(k.as_float());
      default: error = "keys must be str, int, float, bool or None, not " + k.type_name(); return std::nullopt;
    }
  }

  static std::string float_text(double d) {
    if (std::isnan(d)) return "NaN";
    if (std::isinf(d)) return d < 0 ? "-Infinity" : "Infinity";
    return format_float(d);
  }

  bool write(const Value& v, int level) {
    if (level > 500) {
      error = "maximum recursion depth exceeded while encoding a JSON object";
      return false;
    }
    switch (v.kind()) {
      case Value::Kind::kNone: out += "null"; return true;
      case Value::Kind::kBool: out += v.as_bool() ? "true" : "false"; return true;
      case Value::Kind::kInt: out += std::to_string(v.as_int()); return true;
      case Value::Kind::kFloat: out += float_text(v.as_float()); return true;
      case Value::Kind::kString: append_json_string(v.as_string(), out); return true;
      case Value::Kind::kList:
        if (!v.is_generator()) return write_list(v.items(), level);
        error = "Object of type generator is not JSON serializable";
        return false;
      case Value::Kind::kDict:
        if (!v.is_namespace()) return write_dict(v.dict_data(), level);
        [[fallthrough]];
      default: error = "Object of type " + v.type_name() + " is not JSON serializable"; return false;
    }
  }

  bool write_list(const std::vector<Value>& items, int level) {
    if (items.empty()) {
      out += "[]";
      return true;
    }
    out += '[';
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) out += options.item_separator;
      if (options.indent) newline(level + 1);
      if (!write(items[i], level + 1)) return false;
    }
    if (options.indent) newline(level);
    out += ']';
    return true;
  }

  bool write_dict(const DictData& d, int level) {
    if (d.entries.empty()) {
      out += "{}";
      return true;
    }
    std::vector<std::pair<std::string, const Value*>> entries;
    for (const auto& [k, v] : d.entries) {
      std::optional<std::string> key = key_text(k);
      if (!key) return false;
      entries.emplace_back(std::move(*key), &v);
    }
    if (options.sort_keys) {
      std::stable_sort(entries.begin(), entries.end(),
                       [](const auto& a, const auto& b) { return code_points(a.first) < code_points(b.first); });
    }
    out += '{';
    for (size_t i = 0; i < entries.size(); ++i) {
      if (i) out += options.item_separator;
      if (options.indent) newline(level + 1);
      append_json_string(entries[i].first, out);
      out += options.key_separator;
      if (!write(*entries[i].second, level + 1)) return false;
    }
    if (options.indent) newline(level);
    out += '}';
    return true;
  }
};

}  // namespace

std::optional<std::string> to_json(const Value& v, const JsonDumpOptions& options, std::string& error) {
  std::string out;
  JsonWriter writer{options, out, error};
  if (!writer.write(v, 0)) return std::nullopt;
  return out;
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<uint32_t> code_points(std::string_view s) {
  return tokenizer::decode_utf8_all(s);
}

std::string from_code_points(const std::vector<uint32_t>& cps, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end && i < cps.size(); ++i) tokenizer::append_utf8(cps[i], out);
  return out;
}

size_t code_point_length(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (uint8_t(c) & 0xC0) != 0x80;
  return n;
}

}  // namespace tessera::chat::jinja

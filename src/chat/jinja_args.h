// Reading the arguments of a built-in function call by position or keyword, Python style.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

#include "chat/jinja_error.h"
#include "chat/jinja_value.h"

namespace tessera::chat::jinja {

class ArgReader {
 public:
  ArgReader(CallArgs& args, std::string_view function) : args_(args), function_(function) {}

  // The argument at `index` (0-based, after the filter input) or named `name`; `fallback` if absent.
  Value get(size_t index, std::string_view name, Value fallback = Value()) const {
    if (index < args_.positional.size()) return args_.positional[index];
    for (const auto& [k, v] : args_.keyword) {
      if (k == name) return v;
    }
    return fallback;
  }
  bool has(size_t index, std::string_view name) const {
    if (index < args_.positional.size()) return true;
    for (const auto& [k, v] : args_.keyword) {
      if (k == name) return true;
    }
    return false;
  }
  std::string string(size_t index, std::string_view name, std::string fallback = "") const {
    const Value v = get(index, name);
    if (v.is_undefined()) return fallback;
    if (!v.is_string())
      fail(fmt::format("{}(): argument '{}' must be a string, not {}", function_, name, v.type_name()));
    return v.as_string();
  }
  int64_t integer(size_t index, std::string_view name, int64_t fallback) const {
    const Value v = get(index, name);
    if (v.is_undefined() || v.is_none()) return fallback;
    if (!v.is_integral())
      fail(fmt::format("{}(): argument '{}' must be an integer, not {}", function_, name, v.type_name()));
    return v.as_int();
  }
  bool flag(size_t index, std::string_view name, bool fallback) const {
    const Value v = get(index, name);
    return v.is_undefined() ? fallback : v.truthy();
  }
  size_t positional_count() const { return args_.positional.size(); }
  CallArgs& raw() { return args_; }

 private:
  CallArgs& args_;
  std::string_view function_;
};

}  // namespace tessera::chat::jinja

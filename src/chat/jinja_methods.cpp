// Python methods of str, list and dict values as jinja2's ImmutableSandboxedEnvironment exposes
// them (mutating list/dict methods are refused), and printf-style `%` formatting.
#include <fmt/format.h>

#include <cmath>
#include <set>

#include "chat/jinja_args.h"
#include "chat/jinja_builtins.h"
#include "chat/jinja_interpreter.h"
#include "chat/jinja_strings.h"

namespace tessera::chat::jinja {
namespace {

std::optional<std::string> optional_string(const Value& v, std::string_view what) {
  if (v.is_undefined() || v.is_none()) return std::nullopt;
  if (!v.is_string()) fail(fmt::format("{} arg must be None or str", what));
  return v.as_string();
}

Value string_list(std::vector<std::string> parts) {
  std::vector<Value> items;
  items.reserve(parts.size());
  for (std::string& p : parts) items.emplace_back(std::move(p));
  return Value::list(std::move(items));
}

bool affix_matches(const std::string& s, const Value& affix, bool prefix, std::string_view method) {
  auto one = [&](const Value& a) {
    if (!a.is_string()) fail(fmt::format("{} first arg must be str or a tuple of str, not {}", method, a.type_name()));
    const std::string& x = a.as_string();
    if (x.size() > s.size()) return false;
    return prefix ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0;
  };
  if (affix.is_tuple()) {
    for (const Value& a : affix.items()) {
      if (one(a)) return true;
    }
    return false;
  }
  return one(affix);
}

// The string from code point `start` on (startswith/endswith/find with a start argument).
std::string from_index(const std::string& s, const Value& start_v, const Value& end_v) {
  if ((start_v.is_undefined() || start_v.is_none()) && (end_v.is_undefined() || end_v.is_none())) return s;
  return slice_value(Value(s), start_v, end_v, Value::none()).as_string();
}

template <class Pred>
bool all_chars(const std::string& s, Pred pred) {
  const std::vector<uint32_t> cps = code_points(s);
  return !cps.empty() && std::all_of(cps.begin(), cps.end(), pred);
}

std::string python_format(const std::string& fmt_str, CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt_str.size(); ++i) {
    const char c = fmt_str[i];
    if (c == '{' && i + 1 < fmt_str.size() && fmt_str[i + 1] == '{') {
      out += '{';
      ++i;
    } else if (c == '}' && i + 1 < fmt_str.size() && fmt_str[i + 1] == '}') {
      out += '}';
      ++i;
    } else if (c == '{') {
      const size_t close = fmt_str.find('}', i);
      if (close == std::string::npos) fail("Single '{' encountered in format string");
      std::string field = fmt_str.substr(i + 1, close - i - 1);
      const size_t colon = field.find_first_of(":!");
      if (colon != std::string::npos) field.resize(colon);
      Value v;
      if (field.empty()) {
        if (auto_index >= args.positional.size()) fail("Replacement index out of range for positional args tuple");
        v = args.positional[auto_index++];
      } else if (std::isdigit(uint8_t(field[0]))) {
        const size_t k = std::stoul(field);
        if (k >= args.positional.size()) fail("Replacement index out of range for positional args tuple");
        v = args.positional[k];
      } else {
        bool found = false;
        for (const auto& [name, value] : args.keyword) {
          if (name == field) {
            v = value;
            found = true;
          }
        }
        if (!found) fail(fmt::format("KeyError: '{}'", field));
      }
      out += to_str(v);
      i = close;
    } else if (c == '}') {
      fail("Single '}' encountered in format string");
    } else {
      out += c;
    }
  }
  return out;
}

Value string_method(const std::string& s, const std::string& name, CallArgs& call) {
  ArgReader a(call, name);
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    return Value(pystr::strip(s, optional_string(a.get(0, "chars"), name), name != "rstrip", name != "lstrip"));
  }
  if (name == "split" || name == "rsplit") {
    return string_list(
        pystr::split(s, optional_string(a.get(0, "sep"), name), a.integer(1, "maxsplit", -1), name == "rsplit"));
  }
  if (name == "splitlines") return string_list(pystr::splitlines(s, a.flag(0, "keepends", false)));
  if (name == "startswith" || name == "endswith") {
    return Value(affix_matches(from_index(s, a.get(1, "start"), a.get(2, "end")), a.get(0, "prefix"),
                               name == "startswith", name));
  }
  if (name == "replace") {
    return Value(pystr::replace(s, a.string(0, "old"), a.string(1, "new"), a.integer(2, "count", -1)));
  }
  if (name == "upper") return Value(pystr::upper(s));
  if (name == "lower" || name == "casefold") return Value(pystr::lower(s));
  if (name == "title") return Value(pystr::title(s));
  if (name == "capitalize") return Value(pystr::capitalize(s));
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex") {
    const int64_t at = pystr::find(s, a.string(0, "sub"), name[0] == 'r');
    if (at < 0 && (name == "index" || name == "rindex")) fail("substring not found");
    return Value(at);
  }
  if (name == "count") return Value(pystr::count(s, a.string(0, "sub")));
  if (name == "join") {
    std::string out;
    bool first = true;
    for (const Value& v : iterate(a.get(0, "iterable"))) {
      if (!v.is_string()) fail(fmt::format("sequence item: expected str instance, {} found", v.type_name()));
      if (!first) out += s;
      out += v.as_string();
      first = false;
    }
    return Value(std::move(out));
  }
  if (name == "isdigit" || name == "isnumeric" || name == "isdecimal") {
    return Value(all_chars(s, [](uint32_t c) { return c >= '0' && c <= '9'; }));
  }
  if (name == "isalpha") {
    return Value(all_chars(s, [](uint32_t c) { return c < 0x80 ? std::isalpha(int(c)) != 0 : c > 0xBF; }));
  }
  if (name == "isalnum") {
    return Value(all_chars(s, [](uint32_t c) { return c < 0x80 ? std::isalnum(int(c)) != 0 : c > 0xBF; }));
  }
  if (name == "isspace") return Value(all_chars(s, pystr::is_whitespace));
  if (name == "isupper") return Value(pystr::upper(s) == s && pystr::lower(s) != s);
  if (name == "islower") return Value(pystr::lower(s) == s && pystr::upper(s) != s);
  if (name == "format") return Value(python_format(s, call));
  if (name == "center" || name == "ljust" || name == "rjust") {
    return Value(
        pystr::center(s, a.integer(0, "width", 0), name == "ljust", name == "rjust", a.string(1, "fillchar", " ")));
  }
  if (name == "zfill") {
    const int64_t width = a.integer(0, "width", 0);
    const int64_t len = int64_t(code_point_length(s));
    if (width <= len) return Value(s);
    const bool sign = !s.empty() && (s[0] == '-' || s[0] == '+');
    return Value((sign ? s.substr(0, 1) : "") + std::string(size_t(width - len), '0') + s.substr(sign ? 1 : 0));
  }
  if (name == "removeprefix" || name == "removesuffix") {
    const std::string affix = a.string(0, name == "removeprefix" ? "prefix" : "suffix");
    if (affix_matches(s, Value(affix), name == "removeprefix", name)) {
      return Value(name == "removeprefix" ? s.substr(affix.size()) : s.substr(0, s.size() - affix.size()));
    }
    return Value(s);
  }
  if (name == "partition" || name == "rpartition") {
    const std::string sep = a.string(0, "sep");
    if (sep.empty()) fail("empty separator");
    const size_t at = name == "partition" ? s.find(sep) : s.rfind(sep);
    if (at == std::string::npos) {
      return name == "partition" ? Value::list({Value(s), Value(""), Value("")}, true)
                                 : Value::list({Value(""), Value(""), Value(s)}, true);
    }
    return Value::list({Value(s.substr(0, at)), Value(sep), Value(s.substr(at + sep.size()))}, true);
  }
  fail(fmt::format("'str' object has no attribute '{}'", name));
}

const std::set<std::string>& string_methods() {
  static const std::set<std::string> kNames = {
      "strip",   "lstrip",       "rstrip",       "split",     "rsplit",    "splitlines", "startswith", "endswith",
      "replace", "upper",        "lower",        "casefold",  "title",     "capitalize", "find",       "rfind",
      "index",   "rindex",       "count",        "join",      "isdigit",   "isnumeric",  "isdecimal",  "isalpha",
      "isalnum", "isspace",      "isupper",      "islower",   "format",    "center",     "ljust",      "rjust",
      "zfill",   "removeprefix", "removesuffix", "partition", "rpartition"};
  return kNames;
}

Value list_method(const Value& list, const std::string& name, CallArgs& call) {
  ArgReader a(call, name);
  if (name == "index") {
    const Value needle = a.get(0, "value");
    for (size_t i = 0; i < list.items().size(); ++i) {
      if (equals(list.items()[i], needle)) return Value(int64_t(i));
    }
    fail(fmt::format("{} is not in list", to_repr(needle)));
  }
  if (name == "count") {
    const Value needle = a.get(0, "value");
    int64_t n = 0;
    for (const Value& v : list.items()) n += equals(v, needle);
    return Value(n);
  }
  return Value::list(list.items(), list.is_tuple());  // copy
}

Value dict_method(const Value& dict, const std::string& name, CallArgs& call) {
  ArgReader a(call, name);
  const DictData& d = dict.dict_data();
  if (name == "get") {
    const Value key = a.get(0, "key");
    if (const Value* v = d.find(key)) return *v;
    return a.get(1, "default", Value::none());
  }
  std::vector<Value> out;
  for (const auto& [k, v] : d.entries) {
    if (name == "keys") {
      out.push_back(k);
    } else if (name == "values") {
      out.push_back(v);
    } else if (name == "items") {
      out.push_back(Value::list({k, v}, true));
    }
  }
  if (name == "copy") {
    Value copy = Value::dict();
    for (const auto& [k, v] : d.entries) copy.dict_data().set(k, v);
    return copy;
  }
  return Value::list(std::move(out));
}

Value bind_method(const Value& self, const std::string& name,
                  Value (*method)(const Value&, const std::string&, CallArgs&)) {
  return Value::callable(name, [self, name, method](Interpreter&, CallArgs& args) { return method(self, name, args); });
}

}  // namespace

Value get_method(const Value& obj, const std::string& name) {
  if (!name.empty() && name[0] == '_')
    return Value::undefined(fmt::format("'{}' object has no attribute '{}'", obj.type_name(), name));
  if (obj.is_string()) {
    if (!string_methods().count(name)) return Value();
    return bind_method(obj, name, [](const Value& self, const std::string& n, CallArgs& args) {
      return string_method(self.as_string(), n, args);
    });
  }
  const auto unsafe = [&] {
    return Value::unsafe(fmt::format("access to attribute '{}' of '{}' object is unsafe.", name, obj.type_name()));
  };
  if (obj.is_list() && !obj.is_generator()) {
    static const std::set<std::string> kMutating = {"append", "clear", "pop",    "reverse",
                                                    "insert", "sort",  "extend", "remove"};
    if (kMutating.count(name) && !obj.is_tuple()) return unsafe();
    if (name == "index" || name == "count" || (name == "copy" && !obj.is_tuple()))
      return bind_method(obj, name, list_method);
    return Value();
  }
  if (obj.is_dict() && !obj.is_namespace()) {
    static const std::set<std::string> kMutating = {"clear", "pop", "popitem", "setdefault", "update"};
    if (kMutating.count(name)) return unsafe();
    if (name == "get" || name == "keys" || name == "values" || name == "items" || name == "copy") {
      return bind_method(obj, name, dict_method);
    }
  }
  return Value();
}

std::string percent_format(const std::string& fmt_str, const Value& args) {
  std::vector<Value> values = args.is_tuple() ? args.items() : std::vector<Value>{args};
  size_t next = 0;
  std::string out;
  for (size_t i = 0; i < fmt_str.size(); ++i) {
    if (fmt_str[i] != '%') {
      out += fmt_str[i];
      continue;
    }
    size_t j = i + 1;
    std::string spec;
    while (j < fmt_str.size() && std::string_view("-+ #0123456789.").find(fmt_str[j]) != std::string_view::npos) {
      spec += fmt_str[j++];
    }
    if (j >= fmt_str.size()) fail("incomplete format");
    const char conv = fmt_str[j];
    i = j;
    if (conv == '%') {
      out += '%';
      continue;
    }
    if (next >= values.size()) fail("not enough arguments for format string");
    const Value& v = values[next++];
    switch (conv) {
      case 's':
      case 'r': {
        std::string text = conv == 's' ? to_str(v) : to_repr(v);
        const bool left = spec.find('-') != std::string::npos;
        const size_t digits = spec.find_first_of("123456789");
        const size_t dot = spec.find('.');
        if (dot != std::string::npos) {
          const std::vector<uint32_t> cps = code_points(text);
          text = from_code_points(cps, 0, size_t(std::atoi(spec.c_str() + dot + 1)));
        }
        const size_t width = digits != std::string::npos && digits < dot ? size_t(std::atoi(spec.c_str() + digits)) : 0;
        const size_t len = code_point_length(text);
        const std::string pad = width > len ? std::string(std::min<size_t>(width - len, 1 << 20), ' ') : "";
        out += left ? text + pad : pad + text;
        break;
      }
      case 'd':
      case 'i':
      case 'f':
      case 'x':
      case 'e':
      case 'g': {
        if (!v.is_number()) fail(fmt::format("%{} format: a real number is required, not {}", conv, v.type_name()));
        const std::string c_spec = "%" + spec +
                                   (conv == 'd' || conv == 'i' ? "lld"
                                    : conv == 'x'              ? "llx"
                                                               : std::string(1, conv));
        char buf[128];
        if (conv == 'd' || conv == 'i' || conv == 'x') {
          const long long n = v.is_float() ? (long long)std::trunc(v.as_float()) : (long long)v.as_int();
          std::snprintf(buf, sizeof buf, c_spec.c_str(), n);
        } else {
          std::snprintf(buf, sizeof buf, c_spec.c_str(), v.as_float());
        }
        out += buf;
        break;
      }
      default: fail(fmt::format("unsupported format character '{}'", conv));
    }
  }
  if (next < values.size() && args.is_tuple()) fail("not all arguments converted during string formatting");
  return out;
}

}  // namespace tessera::chat::jinja

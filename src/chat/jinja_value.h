// The value type of the Jinja engine: the Python objects a chat template sees (None, bool, int,
// float, str, list/tuple, insertion-ordered dict, callables) plus jinja2's Undefined.
//
// Lists and dicts are shared by reference like Python objects (copying a Value copies a pointer);
// only namespace() objects are ever mutated (the sandbox forbids list.append and friends, as
// jinja2's ImmutableSandboxedEnvironment does). Strings are UTF-8; operations whose result
// depends on characters (len, slicing, upper...) work on code points like Python.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tessera::chat::jinja {

class Value;
class Interpreter;

// Arguments of a call: `f(1, x, key=3)` has positional {1, x} and keyword {key: 3}.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

using NativeFunction = std::function<Value(Interpreter&, CallArgs&)>;

struct ListData {
  std::vector<Value> items;
  bool is_tuple = false;
  // A Python generator (what map/select/selectattr/unique/items return): iterable and truthy, but
  // len(), indexing and JSON encoding fail on it as they do in jinja2.
  bool is_generator = false;
};

struct DictData;

struct CallableData {
  std::string name;  // for error messages: "strip", "macro 'render_tool'"
  NativeFunction fn;
};

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kCallable };

  Value() : kind_(Kind::kUndefined) {}  // undefined with no hint
  static Value undefined(std::string hint) {
    Value v;
    v.str_ = std::move(hint);
    return v;
  }
  // An attribute the sandbox refuses: undefined, and calling it fails with `message`.
  static Value unsafe(std::string message) {
    Value v = undefined(std::move(message));
    v.unsafe_ = true;
    return v;
  }
  static Value none() { return Value(Kind::kNone); }
  // A markupsafe.Markup string (from `|safe` / `|escape`): `+` with a plain string escapes the
  // plain one, as in jinja2.
  static Value markup(std::string s) {
    Value v(std::move(s));
    v.unsafe_ = true;
    return v;
  }
  Value(bool b) : kind_(Kind::kBool), int_(b) {}                      // NOLINT: implicit like Python literals
  Value(int v) : kind_(Kind::kInt), int_(v) {}                        // NOLINT
  Value(int64_t v) : kind_(Kind::kInt), int_(v) {}                    // NOLINT
  Value(double v) : kind_(Kind::kFloat), float_(v) {}                 // NOLINT
  Value(std::string s) : kind_(Kind::kString), str_(std::move(s)) {}  // NOLINT
  Value(std::string_view s) : kind_(Kind::kString), str_(s) {}        // NOLINT
  Value(const char* s) : kind_(Kind::kString), str_(s) {}             // NOLINT
  static Value list(std::vector<Value> items = {}, bool is_tuple = false);
  static Value generator(std::vector<Value> items);
  static Value dict();
  static Value namespace_object();
  static Value callable(std::string name, NativeFunction fn);
  static Value from_json(const nlohmann::ordered_json& j);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_unsafe() const { return unsafe_ && kind_ == Kind::kUndefined; }
  bool is_markup() const { return unsafe_ && kind_ == Kind::kString; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }  // excludes bool
  bool is_float() const { return kind_ == Kind::kFloat; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat || kind_ == Kind::kBool; }
  bool is_integral() const { return kind_ == Kind::kInt || kind_ == Kind::kBool; }  // Python int incl. bool
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_tuple() const { return kind_ == Kind::kList && list_->is_tuple; }
  bool is_generator() const { return kind_ == Kind::kList && list_->is_generator; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_namespace() const;
  bool is_callable() const { return kind_ == Kind::kCallable; }

  bool as_bool() const { return int_ != 0; }
  int64_t as_int() const { return int_; }  // bool and int
  double as_float() const { return kind_ == Kind::kFloat ? float_ : double(int_); }
  const std::string& as_string() const { return str_; }
  const std::string& undefined_hint() const { return str_; }
  std::vector<Value>& items() const { return list_->items; }
  DictData& dict_data() const { return *dict_; }
  const CallableData& callable_data() const { return *fn_; }

  // Python truthiness (undefined is false).
  bool truthy() const;
  // Same object (Python `is`) for lists, dicts and callables; equal value for scalars.
  bool same_as(const Value& other) const;
  // A string that is equal for equal hashable values (dict key index); nullopt when unhashable.
  std::optional<std::string> hash_key() const;

  std::string type_name() const;  // Python's: "str", "dict", "NoneType", ...

 private:
  explicit Value(Kind k) : kind_(k) {}
  Kind kind_;
  bool unsafe_ = false;  // undefined: refused by the sandbox; string: Markup
  int64_t int_ = 0;
  double float_ = 0;
  std::string str_;
  std::shared_ptr<ListData> list_;
  std::shared_ptr<DictData> dict_;
  std::shared_ptr<CallableData> fn_;
};

// An insertion-ordered dict (Python 3.7+ semantics). Keys are any hashable Value.
struct DictData {
  std::vector<std::pair<Value, Value>> entries;
  std::unordered_map<std::string, size_t> index;  // hash_key -> position in entries
  bool is_namespace = false;

  const Value* find(const Value& key) const;
  void set(const Value& key, Value value);  // keeps the position of an existing key
};

// Python `==` (1 == 1.0 == True; (1, 2) != [1, 2]; undefined == undefined).
bool equals(const Value& a, const Value& b);

// Python str() / repr() of a value, as jinja2 prints them: `{{ [1, 'a', None] }}` -> "[1, 'a', None]".
std::string to_str(const Value& v);
std::string to_repr(const Value& v);
std::string format_float(double d);  // Python repr(float): "1.0", "1e-05", "1e+16", "inf"

// json.dumps(v, ensure_ascii=False, indent=indent, separators=..., sort_keys=...) as Hugging Face's
// `tojson` filter calls it. `indent` empty = none. Throws JinjaError-compatible messages via
// the returned nullopt + `error`.
struct JsonDumpOptions {
  std::optional<std::string> indent;  // the per-level indent string ("  " for indent=2)
  std::string item_separator = ", ";
  std::string key_separator = ": ";
  bool sort_keys = false;
};
std::optional<std::string> to_json(const Value& v, const JsonDumpOptions& options, std::string& error);

// markupsafe.escape: & < > " ' as HTML entities.
std::string html_escape(std::string_view s);

// Code-point helpers for Python string semantics.
std::vector<uint32_t> code_points(std::string_view s);
std::string from_code_points(const std::vector<uint32_t>& cps, size_t begin, size_t end);
size_t code_point_length(std::string_view s);

}  // namespace tessera::chat::jinja

// jinja2's built-in filters (with Hugging Face's `tojson` override) and tests.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_map>

#include "chat/jinja_args.h"
#include "chat/jinja_builtins.h"
#include "chat/jinja_interpreter.h"
#include "chat/jinja_strings.h"
#include "tokenizer/unicode.h"

namespace tessera::chat::jinja {
namespace {

using FilterFn = Value (*)(Interpreter&, const Value&, ArgReader&);
using TestFn = bool (*)(Interpreter&, const Value&, ArgReader&);

std::string soft_str(const Value& v) {
  return to_str(v);
}

// Filters that keep a Markup input Markup (str methods on markupsafe.Markup return Markup).
Value keep_markup(const Value& input, std::string text) {
  return input.is_markup() ? Value::markup(std::move(text)) : Value(std::move(text));
}

int64_t py_len(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return 0;
    case Value::Kind::kString: return int64_t(code_point_length(v.as_string()));
    case Value::Kind::kList:
      if (v.is_generator()) break;
      return int64_t(v.items().size());
    case Value::Kind::kDict:
      if (v.is_namespace()) break;
      return int64_t(v.dict_data().entries.size());
    default: break;
  }
  fail(fmt::format("object of type '{}' has no len()", v.type_name()));
}

// jinja2's make_attrgetter: "a.b.0" looked up item by item (dict key first, then attribute).
Value attribute_of(Interpreter& interp, const Value& item, const std::string& path) {
  Value v = item;
  for (const std::string& part : pystr::split(path, std::string("."), -1, false)) {
    const bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    v = interp.get_item(v, numeric ? Value(int64_t(std::stoll(part))) : Value(part));
  }
  return v;
}

Value lower_if_string(const Value& v, bool case_sensitive) {
  return !case_sensitive && v.is_string() ? Value(pystr::lower(v.as_string())) : v;
}

Value f_default(Interpreter&, const Value& v, ArgReader& a) {
  const bool boolean = a.flag(1, "boolean", false);
  if (v.is_undefined() || (boolean && !v.truthy())) return a.get(0, "default_value", Value(""));
  return v;
}

Value f_length(Interpreter&, const Value& v, ArgReader&) {
  return Value(py_len(v));
}

Value f_string(Interpreter&, const Value& v, ArgReader&) {
  return v.is_markup() ? v : Value(soft_str(v));
}

Value f_trim(Interpreter&, const Value& v, ArgReader& a) {
  const Value chars = a.get(0, "chars");
  std::optional<std::string> set;
  if (chars.is_string()) set = chars.as_string();
  return v.is_markup() ? Value::markup(pystr::strip(soft_str(v), set, true, true))
                       : Value(pystr::strip(soft_str(v), set, true, true));
}

Value f_upper(Interpreter&, const Value& v, ArgReader&) {
  return keep_markup(v, pystr::upper(soft_str(v)));
}
Value f_lower(Interpreter&, const Value& v, ArgReader&) {
  return keep_markup(v, pystr::lower(soft_str(v)));
}
Value f_capitalize(Interpreter&, const Value& v, ArgReader&) {
  return Value(pystr::capitalize(soft_str(v)));
}

// jinja2's do_title: splits on runs of [-\s({\[<] and capitalizes each piece.
Value f_title(Interpreter&, const Value& v, ArgReader&) {
  const std::vector<uint32_t> cps = code_points(soft_str(v));
  auto is_sep = [](uint32_t c) {
    return pystr::is_whitespace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
  };
  std::string out;
  size_t i = 0;
  while (i < cps.size()) {
    size_t j = i;
    const bool sep = is_sep(cps[i]);
    while (j < cps.size() && is_sep(cps[j]) == sep) ++j;
    const std::string piece = from_code_points(cps, i, j);
    if (sep) {
      out += piece;
    } else {
      out += pystr::upper(from_code_points(cps, i, i + 1)) + pystr::lower(from_code_points(cps, i + 1, j));
    }
    i = j;
  }
  return Value(out);
}

Value f_replace(Interpreter& interp, const Value& v, ArgReader& a) {
  std::string out =
      pystr::replace(soft_str(v), soft_str(a.get(0, "old")), soft_str(a.get(1, "new")), a.integer(2, "count", -1));
  interp.check_size(out.size());
  return Value(std::move(out));
}

Value f_join(Interpreter& interp, const Value& v, ArgReader& a) {
  const std::string sep = soft_str(a.get(0, "d", Value("")));
  const Value attribute = a.get(1, "attribute");
  std::string out;
  bool first = true;
  for (const Value& item : iterate(v)) {
    if (!first) out += sep;
    out += soft_str(attribute.is_undefined() || attribute.is_none() ? item
                                                                    : attribute_of(interp, item, soft_str(attribute)));
    interp.check_size(out.size());
    first = false;
  }
  return Value(std::move(out));
}

Value f_first(Interpreter&, const Value& v, ArgReader&) {
  std::vector<Value> items = iterate(v);
  if (items.empty()) return Value::undefined("No first item, sequence was empty.");
  return items.front();
}

Value f_last(Interpreter&, const Value& v, ArgReader&) {
  if (v.is_generator() || v.is_undefined()) fail(fmt::format("'{}' object is not reversible", v.type_name()));
  std::vector<Value> items = iterate(v);
  if (items.empty()) return Value::undefined("No last item, sequence was empty.");
  return items.back();
}

Value f_list(Interpreter&, const Value& v, ArgReader&) {
  return Value::list(iterate(v));
}

Value f_items(Interpreter&, const Value& v, ArgReader&) {
  if (v.is_undefined()) return Value::generator({});
  if (!v.is_dict() || v.is_namespace()) fail("Can only get item pairs from a mapping.");
  std::vector<Value> out;
  for (const auto& [k, e] : v.dict_data().entries) out.push_back(Value::list({k, e}, true));
  return Value::generator(std::move(out));
}

Value f_tojson(Interpreter&, const Value& v, ArgReader& a) {
  JsonDumpOptions options;
  const Value indent = a.get(1, "indent", Value::none());
  if (indent.is_integral()) {
    options.indent = std::string(size_t(std::max<int64_t>(0, std::min<int64_t>(indent.as_int(), 1000))), ' ');
  } else if (indent.is_string()) {
    options.indent = indent.as_string();
  } else if (!indent.is_none()) {
    fail("tojson: indent must be an integer or a string");
  }
  if (options.indent) options.item_separator = ",";
  const Value separators = a.get(2, "separators", Value::none());
  if (!separators.is_none()) {
    if (!separators.is_list() || separators.items().size() != 2 || !separators.items()[0].is_string() ||
        !separators.items()[1].is_string()) {
      fail("tojson: separators must be a pair of strings");
    }
    options.item_separator = separators.items()[0].as_string();
    options.key_separator = separators.items()[1].as_string();
  }
  options.sort_keys = a.flag(3, "sort_keys", false);
  std::string error;
  std::optional<std::string> json = to_json(v, options, error);
  if (!json) fail(error);
  if (a.flag(0, "ensure_ascii", false)) {
    std::string ascii;
    for (uint32_t cp : code_points(*json)) {
      if (cp < 0x80) {
        ascii += char(cp);
      } else if (cp < 0x10000) {
        ascii += fmt::format("\\u{:04x}", cp);
      } else {
        const uint32_t u = cp - 0x10000;
        ascii += fmt::format("\\u{:04x}\\u{:04x}", 0xD800 + (u >> 10), 0xDC00 + (u & 0x3FF));
      }
    }
    return Value(std::move(ascii));
  }
  return Value(std::move(*json));
}

Value f_int(Interpreter&, const Value& v, ArgReader& a) {
  const Value fallback = a.get(0, "default", Value(0));
  if (v.is_integral()) return Value(v.as_int());
  if (v.is_float()) {
    if (!std::isfinite(v.as_float())) return fallback;
    return Value(int64_t(std::trunc(v.as_float())));
  }
  if (v.is_string()) {
    std::string s = pystr::strip(v.as_string(), std::nullopt, true, true);
    s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
    const int64_t base = a.integer(1, "base", 10);
    if (!s.empty()) {
      char* end = nullptr;
      errno = 0;
      const long long n = std::strtoll(s.c_str(), &end, int(base));
      if (end && *end == 0 && errno == 0) return Value(int64_t(n));
      const double d = std::strtod(s.c_str(), &end);
      if (end && *end == 0 && std::isfinite(d)) return Value(int64_t(std::trunc(d)));
    }
  }
  return fallback;
}

Value f_float(Interpreter&, const Value& v, ArgReader& a) {
  const Value fallback = a.get(0, "default", Value(0.0));
  if (v.is_number()) return Value(v.as_float());
  if (v.is_string()) {
    const std::string s = pystr::strip(v.as_string(), std::nullopt, true, true);
    char* end = nullptr;
    const double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end && *end == 0) return Value(d);
  }
  return fallback;
}

Value f_abs(Interpreter&, const Value& v, ArgReader&) {
  if (v.is_float()) return Value(std::fabs(v.as_float()));
  if (v.is_integral()) return Value(v.as_int() < 0 ? -v.as_int() : v.as_int());
  fail(fmt::format("bad operand type for abs(): '{}'", v.type_name()));
}

Value f_round(Interpreter&, const Value& v, ArgReader& a) {
  const int64_t precision = a.integer(0, "precision", 0);
  const std::string method = a.string(1, "method", "common");
  if (!v.is_number()) fail(fmt::format("type {} doesn't define __round__ method", v.type_name()));
  if (method == "common") {
    if (v.is_integral()) return Value(v.as_int());
    char buf[512];
    std::snprintf(buf, sizeof buf, "%.*f", int(std::clamp<int64_t>(precision, 0, 300)), v.as_float());
    return Value(std::strtod(buf, nullptr));
  }
  if (method != "ceil" && method != "floor") fail("method must be common, ceil or floor");
  const double scale = std::pow(10.0, double(precision));
  const double x = v.as_float() * scale;
  return Value((method == "ceil" ? std::ceil(x) : std::floor(x)) / scale);
}

Value f_indent(Interpreter& interp, const Value& v, ArgReader& a) {
  const Value width = a.get(0, "width", Value(4));
  const std::string indention =
      width.is_string() ? width.as_string() : std::string(size_t(std::clamp<int64_t>(width.as_int(), 0, 1000)), ' ');
  const bool first = a.flag(1, "first", false);
  const bool blank = a.flag(2, "blank", false);
  if (!v.is_string()) fail(fmt::format("can only concatenate str (not \"{}\") to str", v.type_name()));
  const std::string s = v.as_string() + "\n";
  std::vector<std::string> lines = pystr::splitlines(s, false);
  std::string rv;
  if (blank) {
    for (size_t i = 0; i < lines.size(); ++i) rv += (i ? "\n" + indention : "") + lines[i];
  } else if (!lines.empty()) {
    rv = lines[0];
    for (size_t i = 1; i < lines.size(); ++i) rv += "\n" + (lines[i].empty() ? "" : indention) + lines[i];
  }
  if (first) rv = indention + rv;
  interp.check_size(rv.size());
  return Value(std::move(rv));
}

Value f_escape(Interpreter&, const Value& v, ArgReader&) {
  if (v.is_markup()) return v;
  return Value::markup(html_escape(soft_str(v)));
}

Value f_forceescape(Interpreter&, const Value& v, ArgReader&) {
  return Value::markup(html_escape(soft_str(v)));
}

Value f_safe(Interpreter&, const Value& v, ArgReader&) {
  return v.is_markup() ? v : Value::markup(soft_str(v));
}

Value f_center(Interpreter&, const Value& v, ArgReader& a) {
  return Value(pystr::center(soft_str(v), a.integer(0, "width", 80), false, false, " "));
}

Value f_reverse(Interpreter&, const Value& v, ArgReader&) {
  if (v.is_string()) {
    std::vector<uint32_t> cps = code_points(v.as_string());
    std::reverse(cps.begin(), cps.end());
    return Value(from_code_points(cps, 0, cps.size()));
  }
  std::vector<Value> items = iterate(v);
  std::reverse(items.begin(), items.end());
  return Value::generator(std::move(items));
}

// Python's sorted() with a key; stable.
std::vector<Value> sorted_by(std::vector<Value> items, const std::function<Value(const Value&)>& key, bool reverse) {
  std::vector<std::pair<Value, Value>> keyed;
  for (Value& item : items) keyed.emplace_back(key(item), std::move(item));
  std::stable_sort(keyed.begin(), keyed.end(), [reverse](const auto& x, const auto& y) {
    return reverse ? less_than(y.first, x.first) : less_than(x.first, y.first);
  });
  std::vector<Value> out;
  for (auto& [k, v] : keyed) out.push_back(std::move(v));
  return out;
}

Value f_sort(Interpreter& interp, const Value& v, ArgReader& a) {
  const bool reverse = a.flag(0, "reverse", false);
  const bool case_sensitive = a.flag(1, "case_sensitive", false);
  const Value attribute = a.get(2, "attribute");
  return Value::list(sorted_by(
      iterate(v),
      [&](const Value& item) {
        const Value key =
            attribute.is_undefined() || attribute.is_none() ? item : attribute_of(interp, item, soft_str(attribute));
        return lower_if_string(key, case_sensitive);
      },
      reverse));
}

Value f_dictsort(Interpreter&, const Value& v, ArgReader& a) {
  const bool case_sensitive = a.flag(0, "case_sensitive", false);
  const std::string by = a.string(1, "by", "key");
  const bool reverse = a.flag(2, "reverse", false);
  if (!v.is_dict()) fail("You can only sort by either \"key\" or \"value\" of a mapping");
  const size_t pos = by == "key" ? 0 : by == "value" ? 1 : 2;
  if (pos == 2) fail("You can only sort by either \"key\" or \"value\"");
  std::vector<Value> pairs;
  for (const auto& [k, e] : v.dict_data().entries) pairs.push_back(Value::list({k, e}, true));
  return Value::list(sorted_by(
      std::move(pairs), [&](const Value& p) { return lower_if_string(p.items()[pos], case_sensitive); }, reverse));
}

Value f_unique(Interpreter& interp, const Value& v, ArgReader& a) {
  const bool case_sensitive = a.flag(0, "case_sensitive", false);
  const Value attribute = a.get(1, "attribute");
  std::vector<Value> out, seen;
  for (const Value& item : iterate(v)) {
    const Value key = lower_if_string(
        attribute.is_undefined() || attribute.is_none() ? item : attribute_of(interp, item, soft_str(attribute)),
        case_sensitive);
    if (!key.hash_key()) fail(fmt::format("unhashable type: '{}'", key.type_name()));
    if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return equals(s, key); })) {
      seen.push_back(key);
      out.push_back(item);
    }
  }
  return Value::generator(std::move(out));
}

Value min_max(Interpreter& interp, const Value& v, ArgReader& a, bool want_max) {
  const bool case_sensitive = a.flag(0, "case_sensitive", false);
  const Value attribute = a.get(1, "attribute");
  std::vector<Value> items = iterate(v);
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  auto key = [&](const Value& item) {
    return lower_if_string(
        attribute.is_undefined() || attribute.is_none() ? item : attribute_of(interp, item, soft_str(attribute)),
        case_sensitive);
  };
  size_t best = 0;
  for (size_t i = 1; i < items.size(); ++i) {
    if (want_max ? less_than(key(items[best]), key(items[i])) : less_than(key(items[i]), key(items[best]))) best = i;
  }
  return items[best];
}

Value f_max(Interpreter& interp, const Value& v, ArgReader& a) {
  return min_max(interp, v, a, true);
}
Value f_min(Interpreter& interp, const Value& v, ArgReader& a) {
  return min_max(interp, v, a, false);
}

Value f_sum(Interpreter& interp, const Value& v, ArgReader& a) {
  const Value attribute = a.get(0, "attribute");
  Value total = a.get(1, "start", Value(0));
  for (const Value& item : iterate(v)) {
    const Value x =
        attribute.is_undefined() || attribute.is_none() ? item : attribute_of(interp, item, soft_str(attribute));
    total = arithmetic("+", total, x, interp.limits().max_output_bytes);
  }
  return total;
}

Value f_map(Interpreter& interp, const Value& v, ArgReader& a) {
  std::vector<Value> out;
  if (!v.truthy()) return Value::generator({});  // jinja2: `if value: for item in value: ...`
  const Value attribute = a.get(99, "attribute");
  if (!attribute.is_undefined()) {
    const Value fallback = a.get(99, "default");
    for (const Value& item : iterate(v)) {
      Value x = attribute_of(interp, item, soft_str(attribute));
      out.push_back(x.is_undefined() && !fallback.is_undefined() ? fallback : x);
    }
    return Value::generator(std::move(out));
  }
  CallArgs& raw = a.raw();
  if (raw.positional.empty() || !raw.positional[0].is_string()) fail("map requires a filter name or attribute=");
  const std::string filter = raw.positional[0].as_string();
  for (const Value& item : iterate(v)) {
    CallArgs rest;
    rest.positional.assign(raw.positional.begin() + 1, raw.positional.end());
    rest.keyword = raw.keyword;
    out.push_back(apply_filter(interp, filter, item, rest));
  }
  return Value::generator(std::move(out));
}

Value select_or_reject(Interpreter& interp, const Value& v, ArgReader& a, bool by_attribute, bool select) {
  CallArgs& raw = a.raw();
  size_t next = 0;
  std::string attribute;
  if (by_attribute) {
    if (raw.positional.empty()) fail("selectattr/rejectattr need an attribute name");
    attribute = soft_str(raw.positional[next++]);
  }
  std::string test;
  if (next < raw.positional.size()) test = soft_str(raw.positional[next++]);
  std::vector<Value> out;
  if (!v.truthy()) return Value::generator({});  // jinja2: `if value: for item in value: ...`
  for (const Value& item : iterate(v)) {
    const Value x = by_attribute ? attribute_of(interp, item, attribute) : item;
    bool ok = false;
    if (test.empty()) {
      ok = x.truthy();
    } else {
      CallArgs rest;
      rest.positional.assign(raw.positional.begin() + long(next), raw.positional.end());
      rest.keyword = raw.keyword;
      ok = apply_test(interp, test, x, rest);
    }
    if (ok == select) out.push_back(item);
  }
  return Value::generator(std::move(out));
}

Value f_select(Interpreter& i, const Value& v, ArgReader& a) {
  return select_or_reject(i, v, a, false, true);
}
Value f_reject(Interpreter& i, const Value& v, ArgReader& a) {
  return select_or_reject(i, v, a, false, false);
}
Value f_selectattr(Interpreter& i, const Value& v, ArgReader& a) {
  return select_or_reject(i, v, a, true, true);
}
Value f_rejectattr(Interpreter& i, const Value& v, ArgReader& a) {
  return select_or_reject(i, v, a, true, false);
}

Value f_attr(Interpreter&, const Value& v, ArgReader& a) {
  Value m = get_method(v, soft_str(a.get(0, "name")));
  return m;
}

Value f_format(Interpreter&, const Value& v, ArgReader& a) {
  CallArgs& raw = a.raw();
  if (!raw.keyword.empty() && !raw.positional.empty())
    fail("can't handle positional and keyword arguments at the same time");
  return Value(percent_format(soft_str(v), Value::list(raw.positional, true)));
}

Value f_wordcount(Interpreter&, const Value& v, ArgReader&) {
  int64_t n = 0;
  bool in_word = false;
  for (uint32_t cp : code_points(soft_str(v))) {
    const bool word = cp == '_' || (cp < 0x80 ? std::isalnum(int(cp)) != 0 : !pystr::is_whitespace(cp));
    if (word && !in_word) ++n;
    in_word = word;
  }
  return Value(n);
}

Value f_batch(Interpreter&, const Value& v, ArgReader& a) {
  const int64_t size = a.integer(0, "linecount", 1);
  if (size <= 0) fail("batch size must be positive");
  const Value fill = a.get(1, "fill_with");
  std::vector<Value> out, current;
  for (const Value& item : iterate(v)) {
    current.push_back(item);
    if (int64_t(current.size()) == size) {
      out.push_back(Value::list(std::move(current)));
      current.clear();
    }
  }
  if (!current.empty()) {
    if (!fill.is_undefined()) {
      while (int64_t(current.size()) < size) current.push_back(fill);
    }
    out.push_back(Value::list(std::move(current)));
  }
  return Value::generator(std::move(out));
}

const std::unordered_map<std::string_view, FilterFn>& filters() {
  static const std::unordered_map<std::string_view, FilterFn> kFilters = {
      {"default", f_default},
      {"d", f_default},
      {"length", f_length},
      {"count", f_length},
      {"string", f_string},
      {"trim", f_trim},
      {"upper", f_upper},
      {"lower", f_lower},
      {"capitalize", f_capitalize},
      {"title", f_title},
      {"replace", f_replace},
      {"join", f_join},
      {"first", f_first},
      {"last", f_last},
      {"list", f_list},
      {"items", f_items},
      {"tojson", f_tojson},
      {"int", f_int},
      {"float", f_float},
      {"abs", f_abs},
      {"round", f_round},
      {"indent", f_indent},
      {"escape", f_escape},
      {"e", f_escape},
      {"forceescape", f_forceescape},
      {"safe", f_safe},
      {"center", f_center},
      {"reverse", f_reverse},
      {"sort", f_sort},
      {"dictsort", f_dictsort},
      {"unique", f_unique},
      {"max", f_max},
      {"min", f_min},
      {"sum", f_sum},
      {"map", f_map},
      {"select", f_select},
      {"reject", f_reject},
      {"selectattr", f_selectattr},
      {"rejectattr", f_rejectattr},
      {"attr", f_attr},
      {"format", f_format},
      {"wordcount", f_wordcount},
      {"batch", f_batch},
  };
  return kFilters;
}

// ---- tests ----
bool t_defined(Interpreter&, const Value& v, ArgReader&) {
  return !v.is_undefined();
}
bool t_undefined(Interpreter&, const Value& v, ArgReader&) {
  return v.is_undefined();
}
bool t_none(Interpreter&, const Value& v, ArgReader&) {
  return v.is_none();
}
bool t_boolean(Interpreter&, const Value& v, ArgReader&) {
  return v.is_bool();
}
bool t_true(Interpreter&, const Value& v, ArgReader&) {
  return v.is_bool() && v.as_bool();
}
bool t_false(Interpreter&, const Value& v, ArgReader&) {
  return v.is_bool() && !v.as_bool();
}
bool t_string(Interpreter&, const Value& v, ArgReader&) {
  return v.is_string();
}
bool t_number(Interpreter&, const Value& v, ArgReader&) {
  return v.is_number();
}
bool t_integer(Interpreter&, const Value& v, ArgReader&) {
  return v.is_int();
}
bool t_float(Interpreter&, const Value& v, ArgReader&) {
  return v.is_float();
}
bool t_mapping(Interpreter&, const Value& v, ArgReader&) {
  return v.is_dict() && !v.is_namespace();
}
bool t_iterable(Interpreter&, const Value& v, ArgReader&) {
  return v.is_undefined() || v.is_string() || v.is_list() || (v.is_dict() && !v.is_namespace());
}
bool t_sequence(Interpreter&, const Value& v, ArgReader&) {
  return v.is_undefined() || v.is_string() || (v.is_list() && !v.is_generator()) || (v.is_dict() && !v.is_namespace());
}
bool t_callable(Interpreter&, const Value& v, ArgReader&) {
  return v.is_callable();
}
bool t_eq(Interpreter&, const Value& v, ArgReader& a) {
  return equals(v, a.get(0, "other"));
}
bool t_ne(Interpreter&, const Value& v, ArgReader& a) {
  return !equals(v, a.get(0, "other"));
}
bool t_lt(Interpreter&, const Value& v, ArgReader& a) {
  return less_than(v, a.get(0, "other"));
}
bool t_gt(Interpreter&, const Value& v, ArgReader& a) {
  return less_than(a.get(0, "other"), v);
}
bool t_le(Interpreter&, const Value& v, ArgReader& a) {
  return !less_than(a.get(0, "other"), v);
}
bool t_ge(Interpreter&, const Value& v, ArgReader& a) {
  return !less_than(v, a.get(0, "other"));
}
bool t_in(Interpreter&, const Value& v, ArgReader& a) {
  return contains(a.get(0, "seq"), v);
}
bool t_sameas(Interpreter&, const Value& v, ArgReader& a) {
  const Value other = a.get(0, "other");
  if (v.kind() != other.kind()) return false;
  return v.same_as(other);
}
bool t_divisibleby(Interpreter&, const Value& v, ArgReader& a) {
  const Value n = a.get(0, "num");
  const Value r = arithmetic("%", v, n, 1);
  return equals(r, Value(0));
}
bool t_odd(Interpreter&, const Value& v, ArgReader&) {
  return equals(arithmetic("%", v, Value(2), 1), Value(1));
}
bool t_even(Interpreter&, const Value& v, ArgReader&) {
  return equals(arithmetic("%", v, Value(2), 1), Value(0));
}
bool t_lower(Interpreter&, const Value& v, ArgReader&) {
  const std::string s = soft_str(v);
  return pystr::lower(s) == s && pystr::upper(s) != s;
}
bool t_upper(Interpreter&, const Value& v, ArgReader&) {
  const std::string s = soft_str(v);
  return pystr::upper(s) == s && pystr::lower(s) != s;
}
bool t_filter(Interpreter&, const Value& v, ArgReader&) {
  return v.is_string() && is_known_filter(v.as_string());
}
bool t_test(Interpreter&, const Value& v, ArgReader&) {
  return v.is_string() && is_known_test(v.as_string());
}
bool t_escaped(Interpreter&, const Value&, ArgReader&) {
  return false;
}

const std::unordered_map<std::string_view, TestFn>& tests() {
  static const std::unordered_map<std::string_view, TestFn> kTests = {
      {"defined", t_defined},
      {"undefined", t_undefined},
      {"none", t_none},
      {"boolean", t_boolean},
      {"true", t_true},
      {"false", t_false},
      {"string", t_string},
      {"number", t_number},
      {"integer", t_integer},
      {"float", t_float},
      {"mapping", t_mapping},
      {"iterable", t_iterable},
      {"sequence", t_sequence},
      {"callable", t_callable},
      {"eq", t_eq},
      {"equalto", t_eq},
      {"==", t_eq},
      {"ne", t_ne},
      {"!=", t_ne},
      {"lt", t_lt},
      {"lessthan", t_lt},
      {"<", t_lt},
      {"gt", t_gt},
      {"greaterthan", t_gt},
      {">", t_gt},
      {"le", t_le},
      {"<=", t_le},
      {"ge", t_ge},
      {">=", t_ge},
      {"in", t_in},
      {"sameas", t_sameas},
      {"divisibleby", t_divisibleby},
      {"odd", t_odd},
      {"even", t_even},
      {"lower", t_lower},
      {"upper", t_upper},
      {"filter", t_filter},
      {"test", t_test},
      {"escaped", t_escaped},
  };
  return kTests;
}

}  // namespace

bool is_known_filter(std::string_view name) {
  return filters().count(name) > 0;
}
bool is_known_test(std::string_view name) {
  return tests().count(name) > 0;
}

Value apply_filter(Interpreter& interp, std::string_view name, const Value& input, CallArgs& args) {
  auto it = filters().find(name);
  if (it == filters().end()) fail(fmt::format("No filter named '{}' found.", name));
  ArgReader reader(args, name);
  return it->second(interp, input, reader);
}

bool apply_test(Interpreter& interp, std::string_view name, const Value& input, CallArgs& args) {
  auto it = tests().find(name);
  if (it == tests().end()) fail(fmt::format("No test named '{}' found.", name));
  ArgReader reader(args, name);
  return it->second(interp, input, reader);
}

}  // namespace tessera::chat::jinja

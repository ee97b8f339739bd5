// JSON Schema -> GBNF. The converter walks the schema and returns, for each subschema, a GBNF
// expression for one JSON value (no surrounding whitespace); named rules are added for
// primitives, $ref targets (so recursive schemas work) and the helper chains of objects and
// unique-item arrays. Containers put `space` after each punctuation mark and value.
#include "grammar/json_schema.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <regex>
#include <set>

#include "grammar/json_schema_parts.h"

namespace tessera::grammar {
namespace {

using json = nlohmann::ordered_json;
using json_schema::integer_range;
using json_schema::number_range;

const std::map<std::string, std::string>& primitive_rules() {
  static const std::map<std::string, std::string> rules = {
      {"space", R"(| " " | "\n" [ \t]{0,20})"},
      {"value", "object | array | string | number | boolean | null"},
      {"object",
       R"("{" space ( string space ":" space value space ( "," space string space ":" space value space )* )? "}")"},
      {"array", R"("[" space ( value space ( "," space value space )* )? "]")"},
      {"string", R"("\"" char* "\"")"},
      // \u escapes: no surrogates, so every escape is one character (string lengths stay exact)
      {"char",
       R"([^"\\\x7F\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" ( [0-9a-cA-CefEF] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2} ) ))"},
      {"number", R"("-"? integral-part ( "." [0-9]{1,16} )? ( [eE] [-+]? [0-9]{1,3} )?)"},
      {"integer", R"("-"? integral-part)"},
      {"integral-part", R"("0" | [1-9] [0-9]{0,15})"},
      {"boolean", R"("true" | "false")"},
      {"null", R"("null")"},
      {"date", R"([0-9]{4} "-" ( "0" [1-9] | "1" [0-2] ) "-" ( "0" [1-9] | "1" [0-9] | "2" [0-8] ))"},
      {"time",
       R"(( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{1,6} )? ( "Z" | [+-] ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] ))"},
      {"date-time", R"(date "T" time)"},
      {"uuid", R"([0-9a-f]{8} "-" [0-9a-f]{4} "-" [0-9a-f]{4} "-" [0-9a-f]{4} "-" [0-9a-f]{12})"},
      {"email",
       R"([a-zA-Z0-9._+-]{1,32} "@" [a-zA-Z0-9] [a-zA-Z0-9-]{0,30} ( "." [a-zA-Z0-9] [a-zA-Z0-9-]{0,30} )* "." [a-zA-Z]{2,8})"},
      {"uri",
       R"([a-zA-Z] [a-zA-Z0-9+.-]{0,15} "://" [a-zA-Z0-9] [a-zA-Z0-9.-]{0,62} ( "/" [a-zA-Z0-9._~!$&'()*+,;=:@-]{0,32} ){0,8})"},
  };
  return rules;
}

const std::map<std::string, std::vector<std::string>>& primitive_deps() {
  static const std::map<std::string, std::vector<std::string>> deps = {
      {"value", {"object", "array", "string", "number", "boolean", "null"}},
      {"object", {"space", "string", "value"}},
      {"array", {"space", "value"}},
      {"string", {"char"}},
      {"number", {"integral-part"}},
      {"integer", {"integral-part"}},
      {"date-time", {"date", "time"}},
  };
  return deps;
}

// Keywords that describe but do not constrain: ignored.
const std::set<std::string>& annotation_keywords() {
  static const std::set<std::string> k = {"title",
                                          "description",
                                          "default",
                                          "examples",
                                          "example",
                                          "$schema",
                                          "$id",
                                          "id",
                                          "$comment",
                                          "deprecated",
                                          "readOnly",
                                          "writeOnly",
                                          "contentMediaType",
                                          "contentEncoding",
                                          "contentSchema",
                                          "$anchor",
                                          "$defs",
                                          "definitions",
                                          "format",
                                          "nullable",
                                          "discriminator",
                                          "xml",
                                          "externalDocs",
                                          "markdownDescription",
                                          "enumDescriptions",
                                          "markdownEnumDescriptions",
                                          "deprecationMessage",
                                          "errorMessage",
                                          "$vocabulary",
                                          "$dynamicAnchor",
                                          "$recursiveAnchor",
                                          "defaultSnippets",
                                          "patternErrorMessage",
                                          "allowComments",
                                          "allowTrailingCommas",
                                          "doNotSuggest",
                                          "suggestSortText",
                                          "tsType",
                                          "additionalItems",
                                          "uniqueItems"};
  return k;
}

// Keywords that constrain values in ways no grammar here expresses: an error.
const std::set<std::string>& unsupported_keywords() {
  static const std::set<std::string> k = {"not",
                                          "if",
                                          "then",
                                          "else",
                                          "contains",
                                          "minContains",
                                          "maxContains",
                                          "multipleOf",
                                          "dependencies",
                                          "dependentRequired",
                                          "dependentSchemas",
                                          "propertyNames",
                                          "unevaluatedProperties",
                                          "unevaluatedItems",
                                          "$dynamicRef",
                                          "$recursiveRef"};
  return k;
}

bool is_annotation_or_unknown(const std::string& key) {
  static const std::set<std::string> handled = {"type",
                                                "properties",
                                                "required",
                                                "additionalProperties",
                                                "patternProperties",
                                                "minProperties",
                                                "maxProperties",
                                                "items",
                                                "prefixItems",
                                                "minItems",
                                                "maxItems",
                                                "enum",
                                                "const",
                                                "anyOf",
                                                "oneOf",
                                                "allOf",
                                                "$ref",
                                                "pattern",
                                                "minLength",
                                                "maxLength",
                                                "minimum",
                                                "maximum",
                                                "exclusiveMinimum",
                                                "exclusiveMaximum"};
  return !handled.count(key) && !unsupported_keywords().count(key);
}

std::string sanitize(std::string_view name) {
  std::string out;
  for (char c : name) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-') ? c : '-';
  if (out.empty()) out = "x";
  if (out.size() > 40) out.resize(40);
  return out;
}

std::string literal(const json& value) {
  return gbnf_literal(value.dump());
}

class Converter {
 public:
  explicit Converter(const json& root) : root_(root) {}

  Result<std::string> run() {
    Result<std::string> top = visit(root_, "root", "");
    if (!top.ok()) return top.status();
    std::string out = "root ::= " + *top + "\n";
    for (const auto& [name, body] : rules_) out += name + " ::= " + body + "\n";
    return out;
  }

 private:
  Status fail(const std::string& path, const std::string& what) const {
    return Status::error(fmt::format("json schema: {}: {}", path.empty() ? "/" : path, what));
  }

  std::string use(const std::string& primitive) {
    if (rules_.count(primitive)) return primitive;
    rules_[primitive] = primitive_rules().at(primitive);
    auto deps = primitive_deps().find(primitive);
    if (deps != primitive_deps().end()) {
      for (const std::string& d : deps->second) use(d);
    }
    return primitive;
  }

  std::string new_rule_name(const std::string& hint) {
    std::string base = sanitize(hint);
    std::string name = base;
    for (int n = 1; rules_.count(name) || reserved_.count(name) || primitive_rules().count(name) || name == "root";
         ++n) {
      name = fmt::format("{}-{}", base, n);
    }
    reserved_.insert(name);
    return name;
  }

  std::string add_rule(const std::string& hint, const std::string& body) {
    const std::string name = new_rule_name(hint);
    rules_[name] = body;
    return name;
  }

  Result<const json*> resolve_ref(const std::string& ref, const std::string& path) {
    if (ref.empty() || ref[0] != '#') return fail(path, fmt::format("remote $ref '{}' is not supported", ref));
    const json* node = &root_;
    std::string pointer = ref.substr(1);
    if (!pointer.empty()) {
      try {
        node = &root_.at(json::json_pointer(pointer));
      } catch (const std::exception&) {
        return fail(path, fmt::format("$ref '{}' does not point into the schema", ref));
      }
    }
    return node;
  }

  // A schema with every $ref at its top level replaced by the target (for merging).
  Result<json> deref(const json& schema, const std::string& path, int depth = 0) {
    if (!schema.is_object() || !schema.contains("$ref")) return schema;
    if (depth > 32) return fail(path, "$ref chain too long");
    if (!schema["$ref"].is_string()) return fail(path, "$ref must be a string");
    Result<const json*> target = resolve_ref(schema["$ref"].get<std::string>(), path);
    if (!target.ok()) return target.status();
    json merged = schema;
    merged.erase("$ref");
    Result<json> t = deref(**target, path, depth + 1);
    if (!t.ok()) return t;
    if (merged.empty()) return *t;
    return merge(*t, merged, path);
  }

  // allOf of two schemas as one (object keywords combined, bounds tightened, the rest: b wins).
  Result<json> merge(const json& a, const json& b, const std::string& path) {
    if (a.is_boolean() || b.is_boolean()) {
      if (a == false || b == false) return fail(path, "allOf with a false schema allows nothing");
      return a.is_boolean() ? b : a;
    }
    json out = a;
    for (auto it = b.begin(); it != b.end(); ++it) {
      const std::string& k = it.key();
      if (!out.contains(k)) {
        out[k] = *it;
      } else if (k == "properties" && it->is_object() && out[k].is_object()) {
        for (auto p = it->begin(); p != it->end(); ++p) {
          if (out[k].contains(p.key())) {
            out[k][p.key()] = json{{"allOf", json::array({out[k][p.key()], *p})}};
          } else {
            out[k][p.key()] = *p;
          }
        }
      } else if (k == "required" && it->is_array() && out[k].is_array()) {
        for (const json& r : *it) {
          if (std::find(out[k].begin(), out[k].end(), r) == out[k].end()) out[k].push_back(r);
        }
      } else if (k == "type") {
        auto types = [](const json& t) {
          std::set<std::string> s;
          if (t.is_string()) s.insert(t.get<std::string>());
          if (t.is_array()) {
            for (const json& x : t) {
              if (x.is_string()) s.insert(x.get<std::string>());
            }
          }
          return s;
        };
        std::set<std::string> ta = types(out[k]), tb = types(*it), both;
        for (const std::string& t : ta) {
          if (tb.count(t)) both.insert(t);
          if (t == "number" && tb.count("integer")) both.insert("integer");
          if (t == "integer" && tb.count("number")) both.insert("integer");
        }
        if (both.empty()) return fail(path, "allOf combines types that share no value");
        out[k] = json(std::vector<std::string>(both.begin(), both.end()));
      } else if ((k == "minimum" || k == "minLength" || k == "minItems" || k == "minProperties") && it->is_number()) {
        out[k] = std::max(out[k].get<double>(), it->get<double>());
      } else if ((k == "maximum" || k == "maxLength" || k == "maxItems" || k == "maxProperties") && it->is_number()) {
        out[k] = std::min(out[k].get<double>(), it->get<double>());
      } else if ((k == "anyOf" || k == "oneOf" || k == "allOf") && out[k] != *it) {
        return fail(path, fmt::format("allOf over several different '{}' lists is not supported", k));
      } else if (out[k] != *it && !annotation_keywords().count(k)) {
        out[k] = *it;
      }
    }
    return out;
  }

  bool has_validation_keywords(const json& schema, const std::string& except) const {
    for (auto it = schema.begin(); it != schema.end(); ++it) {
      if (it.key() != except && !is_annotation_or_unknown(it.key())) return true;
    }
    return false;
  }

  Result<std::string> visit(const json& schema, const std::string& hint, const std::string& path) {
    if (++depth_ > 200) return fail(path, "schema nested too deeply");
    Result<std::string> r = visit_inner(schema, hint, path);
    --depth_;
    return r;
  }

  Result<std::string> visit_inner(const json& schema, const std::string& hint, const std::string& path) {
    if (schema.is_boolean()) {
      if (!schema.get<bool>()) return fail(path, "the schema 'false' allows no value");
      return use("value");
    }
    if (!schema.is_object()) return fail(path, "a schema must be an object or a boolean");
    for (auto it = schema.begin(); it != schema.end(); ++it) {
      if (unsupported_keywords().count(it.key())) {
        if (it.key() == "multipleOf" && it->is_number() && it->get<double>() == 1.0) continue;
        return fail(path, fmt::format("unsupported keyword '{}'", it.key()));
      }
    }
    if (schema.contains("$ref")) {
      if (!schema["$ref"].is_string()) return fail(path, "$ref must be a string");
      const std::string ref = schema["$ref"].get<std::string>();
      if (has_validation_keywords(schema, "$ref")) {
        Result<json> d = deref(schema, path);
        if (!d.ok()) return d.status();
        return visit(*d, hint, path);
      }
      if (auto failed = ref_errors_.find(ref); failed != ref_errors_.end()) return failed->second;
      auto known = ref_rules_.find(ref);
      if (known != ref_rules_.end()) return known->second;
      Result<const json*> target = resolve_ref(ref, path);
      if (!target.ok()) return target.status();
      const std::string name = new_rule_name(ref.substr(ref.rfind('/') + 1));
      ref_rules_[ref] = name;
      Result<std::string> body = visit(**target, name, ref);
      if (!body.ok()) {
        // Rules made while visiting may name this one; they are unused, but must still parse.
        rules_[name] = R"([^\x00-\U0010FFFF])";
        ref_errors_.emplace(ref, body.status());
        return body;
      }
      rules_[name] = *body;
      return name;
    }
    if (schema.contains("allOf")) {
      if (!schema["allOf"].is_array()) return fail(path, "allOf must be an array");
      json merged = schema;
      merged.erase("allOf");
      for (size_t i = 0; i < schema["allOf"].size(); ++i) {
        Result<json> part = deref(schema["allOf"][i], fmt::format("{}/allOf/{}", path, i));
        if (!part.ok()) return part.status();
        Result<json> m = merge(merged, *part, path);
        if (!m.ok()) return m.status();
        merged = std::move(*m);
      }
      return visit(merged, hint, path);
    }
    for (const char* key : {"anyOf", "oneOf"}) {
      if (!schema.contains(key)) continue;
      const json& alts = schema[key];
      if (!alts.is_array() || alts.empty()) return fail(path, fmt::format("{} must be a non-empty array", key));
      json rest = schema;
      rest.erase(key);
      const bool plain = !has_validation_keywords(rest, "");
      std::vector<std::string> exprs;
      Status first_error;
      for (size_t i = 0; i < alts.size(); ++i) {
        const std::string sub = fmt::format("{}/{}/{}", path, key, i);
        json branch = alts[i];
        if (!plain) {
          Result<json> d = deref(alts[i], sub);
          if (!d.ok()) return d.status();
          Result<json> m = merge(rest, *d, sub);
          if (!m.ok()) return m.status();
          branch = std::move(*m);
        }
        Result<std::string> e = visit(branch, fmt::format("{}-{}", hint, i), sub);
        if (!e.ok()) {  // a branch we cannot express is left out, unless none is left
          if (first_error.ok()) first_error = e.status();
          continue;
        }
        exprs.push_back(*e);
      }
      if (exprs.empty()) return first_error;
      return alternation(exprs);
    }
    if (schema.contains("const")) return literal(schema["const"]);
    if (schema.contains("enum")) {
      if (!schema["enum"].is_array() || schema["enum"].empty()) return fail(path, "enum must be a non-empty array");
      std::vector<std::string> exprs;
      for (const json& v : schema["enum"]) {
        if (matches_type(schema, v)) exprs.push_back(literal(v));
      }
      if (exprs.empty()) return fail(path, "no enum value has the schema's type");
      return alternation(exprs);
    }
    std::vector<std::string> types;
    if (schema.contains("type")) {
      const json& t = schema["type"];
      if (t.is_string()) {
        types.push_back(t.get<std::string>());
      } else if (t.is_array()) {
        for (const json& x : t) {
          if (!x.is_string()) return fail(path, "type must be a string or an array of strings");
          types.push_back(x.get<std::string>());
        }
      } else {
        return fail(path, "type must be a string or an array of strings");
      }
      if (types.empty()) return fail(path, "type is an empty array");
    } else {
      types.push_back(infer_type(schema));
    }
    std::vector<std::string> exprs;
    for (const std::string& t : types) {
      Result<std::string> e = visit_typed(schema, t, hint, path);
      if (!e.ok()) return e;
      exprs.push_back(*e);
    }
    return alternation(exprs);
  }

  static std::string infer_type(const json& s) {
    for (const char* k :
         {"properties", "additionalProperties", "patternProperties", "required", "minProperties", "maxProperties"}) {
      if (s.contains(k)) return "object";
    }
    for (const char* k : {"items", "prefixItems", "minItems", "maxItems"}) {
      if (s.contains(k)) return "array";
    }
    for (const char* k : {"pattern", "minLength", "maxLength"}) {
      if (s.contains(k)) return "string";
    }
    for (const char* k : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}) {
      if (s.contains(k)) return "number";
    }
    return "any";
  }

  static bool matches_type(const json& schema, const json& v) {
    if (!schema.contains("type")) return true;
    std::vector<std::string> ts;
    if (schema["type"].is_string()) ts.push_back(schema["type"].get<std::string>());
    if (schema["type"].is_array()) {
      for (const json& x : schema["type"]) {
        if (x.is_string()) ts.push_back(x.get<std::string>());
      }
    }
    for (const std::string& t : ts) {
      if ((t == "string" && v.is_string()) || (t == "object" && v.is_object()) || (t == "array" && v.is_array()) ||
          (t == "boolean" && v.is_boolean()) || (t == "null" && v.is_null()) || (t == "number" && v.is_number()) ||
          (t == "integer" &&
           (v.is_number_integer() || (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>())))) {
        return true;
      }
    }
    return false;
  }

  static std::string alternation(const std::vector<std::string>& exprs) {
    std::vector<std::string> unique;
    for (const std::string& e : exprs) {
      if (std::find(unique.begin(), unique.end(), e) == unique.end()) unique.push_back(e);
    }
    if (unique.size() == 1) return unique[0];
    std::string out = "(";
    for (size_t i = 0; i < unique.size(); ++i) out += (i ? " | " : "") + unique[i];
    return out + ")";
  }

  Result<std::string> visit_typed(const json& s, const std::string& type, const std::string& hint,
                                  const std::string& path) {
    if (type == "any") return use("value");
    if (type == "null") return use("null");
    if (type == "boolean") return use("boolean");
    if (type == "string") return visit_string(s, hint, path);
    if (type == "integer" || type == "number") return visit_number(s, type == "integer", hint, path);
    if (type == "array") return visit_array(s, hint, path);
    if (type == "object") return visit_object(s, hint, path);
    return fail(path, fmt::format("unknown type '{}'", type));
  }

  Result<std::optional<int64_t>> count_keyword(const json& s, const char* key, const std::string& path) {
    if (!s.contains(key)) return std::optional<int64_t>();
    const json& v = s[key];
    if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1e9) {
      return fail(path, fmt::format("{} must be a non-negative number", key));
    }
    return std::optional<int64_t>(static_cast<int64_t>(v.get<double>()));
  }

  Result<std::string> visit_string(const json& s, const std::string& hint, const std::string& path) {
    auto min = count_keyword(s, "minLength", path);
    if (!min.ok()) return min.status();
    auto max = count_keyword(s, "maxLength", path);
    if (!max.ok()) return max.status();
    const bool lengths = min->has_value() || max->has_value();
    if (s.contains("pattern")) {
      if (!s["pattern"].is_string()) return fail(path, "pattern must be a string");
      std::optional<uint64_t> lo, hi;
      if (min->has_value()) lo = static_cast<uint64_t>(**min);
      if (max->has_value()) hi = static_cast<uint64_t>(**max);
      Result<std::string> re = json_schema::regex_to_gbnf(s["pattern"].get<std::string>(), lo, hi);
      if (!re.ok()) return fail(path, re.error());
      return add_rule(hint + "-string", "\"\\\"\" " + *re + " \"\\\"\"");
    }
    if (s.contains("format") && s["format"].is_string()) {
      const std::string f = s["format"].get<std::string>();
      if (f == "date" || f == "time" || f == "date-time" || f == "uuid" || f == "email" || f == "uri") {
        if (lengths)
          return fail(path, fmt::format("format '{}' together with minLength/maxLength is not supported", f));
        return add_rule(f + "-string", "\"\\\"\" " + use(f) + " \"\\\"\"");
      }
    }
    if (!lengths) return use("string");
    const int64_t lo = min->value_or(0);
    if (max->has_value() && **max < lo) return fail(path, "maxLength is below minLength");
    if (lo > 100000 || (max->has_value() && **max > 100000))
      return fail(path, "string lengths above 100000 are not supported");
    use("char");
    const std::string count = max->has_value() ? fmt::format("{{{},{}}}", lo, **max) : fmt::format("{{{},}}", lo);
    return add_rule(hint + "-string", "\"\\\"\" char" + count + " \"\\\"\"");
  }

  Result<std::string> visit_number(const json& s, bool integer, const std::string& hint, const std::string& path) {
    json_schema::NumberBounds b;
    for (const char* k : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}) {
      if (s.contains(k) && !s[k].is_number() && !s[k].is_boolean())
        return fail(path, fmt::format("{} must be a number", k));
    }
    if (s.contains("minimum")) b.min = s["minimum"].get<double>();
    if (s.contains("maximum")) b.max = s["maximum"].get<double>();
    if (s.contains("exclusiveMinimum")) {
      const json& e = s["exclusiveMinimum"];
      if (e.is_boolean()) {
        b.min_exclusive = e.get<bool>();  // draft 4
      } else if (!b.min || e.get<double>() >= *b.min) {
        b.min = e.get<double>();
        b.min_exclusive = true;
      }
    }
    if (s.contains("exclusiveMaximum")) {
      const json& e = s["exclusiveMaximum"];
      if (e.is_boolean()) {
        b.max_exclusive = e.get<bool>();
      } else if (!b.max || e.get<double>() <= *b.max) {
        b.max = e.get<double>();
        b.max_exclusive = true;
      }
    }
    if (!b.min && !b.max) return use(integer ? "integer" : "number");
    Result<std::string> body = Status::error("unset");
    if (integer) {
      std::optional<int64_t> lo, hi;
      constexpr double kLimit = 9e15;
      if (b.min && std::fabs(*b.min) < kLimit) {
        lo = static_cast<int64_t>(std::ceil(*b.min)) + ((b.min_exclusive && std::ceil(*b.min) == *b.min) ? 1 : 0);
      } else if (b.min && *b.min > 0) {
        return fail(path, "minimum too large");
      }
      if (b.max && std::fabs(*b.max) < kLimit) {
        hi = static_cast<int64_t>(std::floor(*b.max)) - ((b.max_exclusive && std::floor(*b.max) == *b.max) ? 1 : 0);
      } else if (b.max && *b.max < 0) {
        return fail(path, "maximum too small");
      }
      body = integer_range(lo, hi);
    } else {
      body = number_range(b);
    }
    if (!body.ok()) return fail(path, body.error());
    return add_rule(hint + (integer ? "-int" : "-num"), *body);
  }

  // Items with a finite, small set of values (for uniqueItems): their literals, or nullopt.
  std::optional<std::vector<std::string>> finite_values(const json& items, const std::string& path) {
    Result<json> d = deref(items, path);
    if (!d.ok() || !d->is_object()) return std::nullopt;
    std::vector<std::string> out;
    if (d->contains("const")) return std::vector<std::string>{literal((*d)["const"])};
    if (d->contains("enum") && (*d)["enum"].is_array()) {
      std::set<std::string> seen;
      for (const json& v : (*d)["enum"]) {
        if (matches_type(*d, v) && seen.insert(v.dump()).second) out.push_back(literal(v));
      }
      return out.size() <= 32 ? std::optional(out) : std::nullopt;
    }
    if (d->contains("type") && (*d)["type"] == "boolean" && d->size() <= 3)
      return std::vector<std::string>{"\"true\"", "\"false\""};
    if (d->contains("type") && (*d)["type"] == "null") return std::vector<std::string>{"\"null\""};
    return std::nullopt;
  }

  // `"[" ... "]"` with `count` items in [lo, hi] drawn from `values` in order, each at most once.
  std::string unique_items(const std::vector<std::string>& values, int64_t lo, int64_t hi, const std::string& hint) {
    const int64_t k = static_cast<int64_t>(values.size());
    std::map<std::pair<int64_t, int64_t>, std::string> names;
    // rule (i, c): choose from values[i..] with c already chosen
    auto name_of = [&](auto&& self, int64_t i, int64_t c) -> std::string {
      auto key = std::make_pair(i, c);
      if (auto it = names.find(key); it != names.end()) return it->second;
      const std::string name = new_rule_name(fmt::format("{}-u{}-{}", hint, i, c));
      names[key] = name;
      std::vector<std::string> alts;
      if (i == k) {
        alts.push_back("\"\"");
      } else {
        const std::string sep = c > 0 ? "\",\" space " : "";
        if (c < hi && c + 1 + (k - i - 1) >= lo)
          alts.push_back(sep + values[static_cast<size_t>(i)] + " space " + self(self, i + 1, c + 1));
        if (c + (k - i - 1) >= lo) alts.push_back(self(self, i + 1, c));
      }
      rules_[name] = alternation(alts);
      return name;
    };
    use("space");
    return "\"[\" space " + name_of(name_of, 0, 0) + " \"]\"";
  }

  static std::string repeat_suffix(int64_t lo, std::optional<int64_t> hi) {
    if (hi && *hi == lo) return lo == 1 ? "" : fmt::format("{{{}}}", lo);
    if (!hi) return lo == 0 ? "*" : lo == 1 ? "+" : fmt::format("{{{},}}", lo);
    if (lo == 0 && *hi == 1) return "?";
    return fmt::format("{{{},{}}}", lo, *hi);
  }

  Result<std::string> visit_array(const json& s, const std::string& hint, const std::string& path) {
    auto min_r = count_keyword(s, "minItems", path);
    if (!min_r.ok()) return min_r.status();
    auto max_r = count_keyword(s, "maxItems", path);
    if (!max_r.ok()) return max_r.status();
    const int64_t min = min_r->value_or(0);
    const std::optional<int64_t> max = *max_r;
    if (max && *max < min) return fail(path, "maxItems is below minItems");
    if ((max && *max > 10000) || min > 10000) return fail(path, "array lengths above 10000 are not supported");
    std::vector<const json*> prefix;
    const json* rest = nullptr;  // schema of the items after the prefix; nullptr: none allowed
    json any = true;
    if (s.contains("prefixItems")) {
      if (!s["prefixItems"].is_array()) return fail(path, "prefixItems must be an array");
      for (const json& p : s["prefixItems"]) prefix.push_back(&p);
      rest = s.contains("items") ? &s["items"] : nullptr;
    } else if (s.contains("items") && s["items"].is_array()) {  // draft 4 tuples
      for (const json& p : s["items"]) prefix.push_back(&p);
      rest = s.contains("additionalItems") ? &s["additionalItems"] : nullptr;
    } else {
      rest = s.contains("items") ? &s["items"] : &any;
    }
    if (rest && rest->is_boolean() && !rest->get<bool>()) rest = nullptr;
    const bool unique = s.value("uniqueItems", false) && (!max || *max > 1);
    use("space");
    if (unique) {
      if (!prefix.empty() || !rest) return fail(path, "uniqueItems with tuple items is not supported");
      auto values = finite_values(*rest, path + "/items");
      if (!values)
        return fail(path, "uniqueItems is supported only for items with a finite set of values (enum, const, boolean)");
      const int64_t hi = std::min<int64_t>(max.value_or(INT64_MAX), static_cast<int64_t>(values->size()));
      if (hi < min) return fail(path, "uniqueItems: fewer distinct values than minItems");
      return add_rule(hint + "-array", unique_items(*values, min, hi, hint));
    }
    const int64_t n_prefix = std::min<int64_t>(static_cast<int64_t>(prefix.size()), max.value_or(INT64_MAX));
    std::string body = "\"[\" space";
    for (int64_t i = 0; i < n_prefix; ++i) {
      Result<std::string> e = visit(*prefix[static_cast<size_t>(i)], fmt::format("{}-{}", hint, i),
                                    fmt::format("{}/prefixItems/{}", path, i));
      if (!e.ok()) return e;
      body += (i ? " \",\" space " : " ") + *e + " space";
    }
    const int64_t rest_min = std::max<int64_t>(0, min - n_prefix);
    std::optional<int64_t> rest_max;
    if (max) rest_max = *max - n_prefix;
    if (!rest) rest_max = 0;
    if (rest_max && *rest_max < rest_min) return fail(path, "minItems needs more items than the schema allows");
    if (!rest_max || *rest_max > 0) {
      Result<std::string> item = visit(*rest, hint + "-item", path + "/items");
      if (!item.ok()) return item;
      const std::string one = *item + " space";
      const std::string more = "( \",\" space " + one + " )";
      if (n_prefix > 0) {
        body += " " + more + repeat_suffix(rest_min, rest_max);
      } else if (rest_min == 0) {
        std::optional<int64_t> m;
        if (rest_max) m = *rest_max - 1;
        body += " ( " + one + " " + more + repeat_suffix(0, m) + " )?";
      } else {
        std::optional<int64_t> m;
        if (rest_max) m = *rest_max - 1;
        body += " " + one + " " + more + repeat_suffix(rest_min - 1, m);
      }
    }
    body += " \"]\"";
    return add_rule(hint + "-array", body);
  }

  Result<std::string> visit_object(const json& s, const std::string& hint, const std::string& path) {
    struct Property {
      std::string kv;  // "key" space ":" space value space
      bool required;
    };
    std::vector<Property> props;
    std::set<std::string> required;
    if (s.contains("required")) {
      if (!s["required"].is_array()) return fail(path, "required must be an array");
      for (const json& r : s["required"]) {
        if (!r.is_string()) return fail(path, "required must list strings");
        required.insert(r.get<std::string>());
      }
    }
    use("space");
    std::set<std::string> named;
    if (s.contains("properties")) {
      if (!s["properties"].is_object()) return fail(path, "properties must be an object");
      for (auto it = s["properties"].begin(); it != s["properties"].end(); ++it) {
        // a named key that a patternProperties pattern matches must satisfy both schemas
        json prop = *it;
        Result<json> extra_schema = pattern_schemas_for(s, it.key(), path);
        if (!extra_schema.ok()) return extra_schema.status();
        if (!extra_schema->is_null()) prop = json{{"allOf", json::array({prop, *extra_schema})}};
        Result<std::string> v = visit(prop, hint + "-" + it.key(), path + "/properties/" + it.key());
        if (!v.ok() && !required.count(it.key())) continue;  // an optional property we cannot express: left out
        if (!v.ok()) return v;
        props.push_back({literal(it.key()) + " space \":\" space " + *v + " space", required.count(it.key()) > 0});
        named.insert(it.key());
      }
    }
    for (const std::string& r : required) {  // required but not described: any value
      if (!named.count(r)) props.push_back({literal(r) + " space \":\" space " + use("value") + " space", true});
    }
    auto min_r = count_keyword(s, "minProperties", path);
    if (!min_r.ok()) return min_r.status();
    auto max_r = count_keyword(s, "maxProperties", path);
    if (!max_r.ok()) return max_r.status();
    // Extra keys: only when the schema names no properties (see the header).
    std::optional<std::string> extra;
    if (props.empty()) {
      std::vector<std::string> kvs;
      if (s.contains("patternProperties")) {
        if (!s["patternProperties"].is_object()) return fail(path, "patternProperties must be an object");
        for (auto it = s["patternProperties"].begin(); it != s["patternProperties"].end(); ++it) {
          Result<std::string> key = json_schema::regex_to_gbnf(it.key());
          if (!key.ok()) return fail(path + "/patternProperties", key.error());
          Result<std::string> v = visit(*it, hint + "-value", path + "/patternProperties/" + it.key());
          if (!v.ok()) return v;
          kvs.push_back("\"\\\"\" " + *key + " \"\\\"\" space \":\" space " + *v + " space");
        }
      } else {
        const json ap = s.value("additionalProperties", json(true));
        if (!(ap.is_boolean() && !ap.get<bool>())) {
          Result<std::string> v = visit(ap, hint + "-value", path + "/additionalProperties");
          if (!v.ok()) return v;
          kvs.push_back(use("string") + " space \":\" space " + *v + " space");
        }
      }
      if (!kvs.empty()) extra = add_rule(hint + "-kv", alternation(kvs));
    }
    const int64_t n_required = std::count_if(props.begin(), props.end(), [](const Property& p) { return p.required; });
    if (extra) {  // a map: the count of pairs is what min/maxProperties bound
      const int64_t lo = min_r->value_or(0);
      const std::optional<int64_t> hi = *max_r;
      if (hi && *hi < lo) return fail(path, "maxProperties is below minProperties");
      std::string body = "\"{\" space ";
      std::optional<int64_t> more_max;
      if (hi) more_max = *hi - 1;
      if (hi && *hi == 0) {
        body += "\"}\"";
      } else if (lo == 0) {
        body += "( " + *extra + " ( \",\" space " + *extra + " )" + repeat_suffix(0, more_max) + " )? \"}\"";
      } else {
        body += *extra + " ( \",\" space " + *extra + " )" + repeat_suffix(lo - 1, more_max) + " \"}\"";
      }
      return add_rule(hint, body);
    }
    if (min_r->has_value() && **min_r > n_required) {
      // make the first optional properties required until the minimum is met
      int64_t need = **min_r - n_required;
      for (Property& p : props) {
        if (need > 0 && !p.required) {
          p.required = true;
          --need;
        }
      }
      if (need > 0) return fail(path, "minProperties exceeds the properties the schema allows");
    }
    if (max_r->has_value() && **max_r < static_cast<int64_t>(props.size())) {
      if (**max_r < n_required) return fail(path, "maxProperties is below the number of required properties");
      // drop optional properties until the maximum is met
      int64_t excess = static_cast<int64_t>(props.size()) - **max_r;
      for (auto it = props.end(); it != props.begin() && excess > 0;) {
        --it;
        if (!it->required) {
          it = props.erase(it);
          --excess;
        }
      }
    }
    return add_rule(hint, "\"{\" space " + property_chain(props, hint) + "\"}\"");
  }

  // The schemas of the patternProperties whose pattern matches `key` (allOf), or null.
  Result<json> pattern_schemas_for(const json& s, const std::string& key, const std::string& path) {
    if (!s.contains("patternProperties") || !s["patternProperties"].is_object()) return json();
    json all = json::array();
    for (auto it = s["patternProperties"].begin(); it != s["patternProperties"].end(); ++it) {
      try {
        if (std::regex_search(key, std::regex(it.key(), std::regex::ECMAScript))) all.push_back(*it);
      } catch (const std::regex_error&) {
        return fail(path + "/patternProperties", fmt::format("cannot evaluate pattern '{}'", it.key()));
      }
    }
    if (all.empty()) return json();
    return json{{"allOf", all}};
  }

  // Properties in order, optional ones skippable, commas only between present ones:
  // S_i (nothing emitted yet) and R_i (something emitted) as rules over i.
  template <class Property>
  std::string property_chain(const std::vector<Property>& props, const std::string& hint) {
    const size_t n = props.size();
    if (std::all_of(props.begin(), props.end(), [](const Property& p) { return p.required; })) {
      std::string out;
      for (size_t i = 0; i < n; ++i) out += (i ? "\",\" space " : "") + props[i].kv + " ";
      return out;
    }
    std::vector<std::string> r_names(n + 1), s_names(n + 1);
    for (size_t i = n + 1; i-- > 0;) {
      std::string r, s;
      if (i == n) {
        r = s = "\"\"";
      } else if (props[i].required) {
        r = "\",\" space " + props[i].kv + " " + r_names[i + 1];
        s = props[i].kv + " " + r_names[i + 1];
      } else {
        r = "( \",\" space " + props[i].kv + " )? " + r_names[i + 1];
        s = props[i].kv + " " + r_names[i + 1] + " | " + s_names[i + 1];
      }
      r_names[i] = add_rule(fmt::format("{}-r{}", hint, i), r);
      s_names[i] = add_rule(fmt::format("{}-s{}", hint, i), s);
    }
    return s_names[0] + " ";
  }

  const json& root_;
  std::map<std::string, std::string> rules_;
  std::set<std::string> reserved_;
  std::map<std::string, std::string> ref_rules_;
  std::map<std::string, Status> ref_errors_;
  int depth_ = 0;
};

}  // namespace

Result<std::string> json_schema_to_gbnf(const nlohmann::json& schema) {
  return json_schema_to_gbnf(nlohmann::ordered_json::parse(schema.dump()));
}

Result<std::string> json_schema_to_gbnf(std::string_view schema_text) {
  nlohmann::ordered_json schema = nlohmann::ordered_json::parse(schema_text, nullptr, false);
  if (schema.is_discarded()) return Status::error("json schema: not valid JSON");
  return json_schema_to_gbnf(schema);
}

Result<std::string> json_schema_to_gbnf(const nlohmann::ordered_json& schema) {
  try {
    return Converter(schema).run();
  } catch (const nlohmann::json::exception& e) {  // a keyword with a value of the wrong JSON type
    return Status::error(fmt::format("json schema: malformed keyword value: {}", e.what()));
  }
}

std::string json_object_gbnf() {
  return *json_schema_to_gbnf(std::string_view(R"({"type": "object"})"));
}

}  // namespace tessera::grammar

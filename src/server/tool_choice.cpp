#include "server/tool_choice.h"

#include <fmt/format.h>

#include <vector>

#include "grammar/grammar.h"
#include "grammar/json_schema.h"
#include "server/request_parser.h"

namespace tessera::server {
namespace {

using ojson = nlohmann::ordered_json;

ApiError bad_choice(std::string message, std::string code = "invalid_value") {
  return ApiError::invalid(std::move(message), "tool_choice", std::move(code));
}

// A schema moved to `pointer` inside a bigger schema: its local "$ref"s ("#", "#/$defs/x", any
// JSON pointer into itself) must point into the new place. Data keywords are not schemas.
void rebase_refs(ojson& schema, const std::string& pointer) {
  if (schema.is_array()) {
    for (ojson& item : schema) rebase_refs(item, pointer);
    return;
  }
  if (!schema.is_object()) return;
  for (auto it = schema.begin(); it != schema.end(); ++it) {
    if (it.key() == "$ref" && it->is_string()) {
      const std::string ref = it->get<std::string>();
      if (!ref.empty() && ref[0] == '#') *it = "#" + pointer + ref.substr(1);
    } else if (it.key() != "const" && it.key() != "enum" && it.key() != "default" && it.key() != "examples") {
      rebase_refs(*it, pointer);
    }
  }
}

struct CallShape {
  const char* arguments_key = "arguments";  // Llama 3.x: "parameters"
  bool with_id = false;                     // Mistral: a 9-character id, which its template requires
};

// {"name": <const>, "<arguments_key>": <parameters>} for one function, placed at `pointer`.
Result<ojson> call_schema(const ojson& function, const CallShape& shape, const std::string& pointer) {
  const std::string name = function["name"].get<std::string>();
  ojson parameters = ojson::object({{"type", "object"}});
  if (const auto p = function.find("parameters"); p != function.end() && !p->is_null()) {
    if (!p->is_object() && !p->is_boolean()) {
      return Status::error(fmt::format("the parameters of tool '{}' must be a JSON schema object", name));
    }
    parameters = *p;
    if (parameters.is_object() && parameters.empty()) parameters = ojson::object({{"type", "object"}});
  }
  rebase_refs(parameters, fmt::format("{}/properties/{}", pointer, shape.arguments_key));
  ojson properties = ojson::object();
  properties["name"] = ojson::object({{"const", name}});
  properties[shape.arguments_key] = std::move(parameters);
  ojson required = ojson::array({"name", shape.arguments_key});
  if (shape.with_id) {
    properties["id"] = ojson::object({{"type", "string"}, {"pattern", "^[a-zA-Z0-9]{9}$"}});
    required.push_back("id");
  }
  return ojson::object({{"type", "object"}, {"properties", std::move(properties)}, {"required", std::move(required)}});
}

// One call of any allowed function (anyOf when there are several), placed at `pointer`.
Result<ojson> one_call_schema(const ojson& tools, const ToolChoice& choice, const CallShape& shape,
                              const std::string& pointer) {
  std::vector<const ojson*> functions;
  for (const ojson& tool : tools) {
    const ojson& f = tool["function"];
    if (choice.mode == ToolChoice::Mode::kFunction && f["name"] != choice.function) continue;
    functions.push_back(&f);
  }
  if (functions.size() == 1) return call_schema(*functions[0], shape, pointer);
  ojson any = ojson::array();
  for (size_t i = 0; i < functions.size(); ++i) {
    Result<ojson> s = call_schema(*functions[i], shape, fmt::format("{}/anyOf/{}", pointer, i));
    if (!s) return s;
    any.push_back(std::move(*s));
  }
  return ojson::object({{"anyOf", std::move(any)}});
}

// The JSON part of the reply, as a schema, for each format.
Result<ojson> reply_schema(const ojson& tools, const ToolChoice& choice, chat::ToolCallFormat format) {
  switch (format) {
    case chat::ToolCallFormat::kLlama3: return one_call_schema(tools, choice, {"parameters", false}, "");
    case chat::ToolCallFormat::kHermes: return one_call_schema(tools, choice, {}, "");
    case chat::ToolCallFormat::kMistral: {
      Result<ojson> call = one_call_schema(tools, choice, {"arguments", true}, "/items");
      if (!call) return call;
      ojson array = ojson::object({{"type", "array"}, {"items", std::move(*call)}, {"minItems", 1}});
      if (!choice.parallel) array["maxItems"] = 1;
      return array;
    }
    default: {
      // llama.cpp's generic format: {"tool_call": call}, or {"tool_calls": [call, ...]}.
      const char* key = choice.parallel ? "tool_calls" : "tool_call";
      Result<ojson> call = one_call_schema(tools, choice, {},
                                           choice.parallel ? "/properties/tool_calls/items" : "/properties/tool_call");
      if (!call) return call;
      ojson value = choice.parallel ? ojson::object({{"type", "array"}, {"items", std::move(*call)}, {"minItems", 1}})
                                    : std::move(*call);
      return ojson::object({{"type", "object"},
                            {"properties", ojson::object({{key, std::move(value)}})},
                            {"required", ojson::array({key})}});
    }
  }
}

// `gbnf` (a JSON schema's grammar, whose first line is its "root ::= ..." rule) with text around
// its sentences: open + json + close, repeated with newlines in between when `repeat`.
Result<std::string> wrap_root(std::string gbnf, std::string_view open, std::string_view close, bool repeat) {
  constexpr std::string_view kRoot = "root ::= ";
  constexpr std::string_view kJson = "tool-call-json";
  if (gbnf.compare(0, kRoot.size(), kRoot) != 0 || gbnf.find(fmt::format("\n{} ::=", kJson)) != std::string::npos) {
    return Status::error("unexpected grammar from the JSON schema converter");
  }
  gbnf.replace(0, kRoot.size(), fmt::format("{} ::= ", kJson));
  std::string one = grammar::gbnf_literal(open);
  if (!close.empty()) one += " \"\\n\"?";
  one += fmt::format(" {}", kJson);
  if (!close.empty()) one += " \"\\n\"? " + grammar::gbnf_literal(close);
  const std::string root = repeat ? fmt::format("{0} (\"\\n\" {0})*", one) : one;
  return fmt::format("{}{}\n{}", kRoot, root, gbnf);
}

// The converter's JSON whitespace rule allows a newline and 20 blanks between any two tokens,
// which a small model, made to call a tool, may fill forever (every position offers it
// again). A call needs at most one blank between tokens.
void compact_whitespace(std::string& gbnf) {
  constexpr std::string_view kSpace = "\nspace ::= ";
  const size_t at = gbnf.find(kSpace);
  if (at == std::string::npos) return;
  const size_t begin = at + kSpace.size();
  const size_t end = std::min(gbnf.find('\n', begin), gbnf.size());
  gbnf.replace(begin, end - begin, "| \" \"");
}

}  // namespace

std::optional<ApiError> parse_tool_choice(const ojson& body, const ojson& tools, ToolChoice& out) {
  out = ToolChoice{};
  if (const auto p = body.find("parallel_tool_calls"); p != body.end() && !p->is_null()) {
    if (!p->is_boolean()) {
      return ApiError::invalid(fmt::format("'parallel_tool_calls' must be a boolean, not {}", json_type_name(*p)),
                               "parallel_tool_calls", "invalid_type");
    }
    out.parallel = p->get<bool>();
  }
  const auto c = body.find("tool_choice");
  if (c == body.end() || c->is_null()) return std::nullopt;
  constexpr const char* kShapes =
      "\"none\", \"auto\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": ...}}";
  if (c->is_string()) {
    const std::string s = c->get<std::string>();
    if (s == "auto") {
      out.mode = ToolChoice::Mode::kAuto;
    } else if (s == "none") {
      out.mode = ToolChoice::Mode::kNone;
    } else if (s == "required") {
      out.mode = ToolChoice::Mode::kRequired;
    } else {
      return bad_choice(fmt::format("'tool_choice' '{}' is not one of {}", s, kShapes));
    }
  } else if (c->is_object()) {
    const auto type = c->find("type");
    const auto function = c->find("function");
    if (type == c->end() || *type != "function" || function == c->end() || !function->is_object() ||
        !function->contains("name") || !(*function)["name"].is_string()) {
      return bad_choice(fmt::format("'tool_choice' must be {}", kShapes), "invalid_type");
    }
    out.mode = ToolChoice::Mode::kFunction;
    out.function = (*function)["name"].get<std::string>();
  } else {
    return bad_choice(fmt::format("'tool_choice' must be {}, not {}", kShapes, json_type_name(*c)), "invalid_type");
  }
  if (!out.forced()) return std::nullopt;
  if (!tools.is_array() || tools.empty()) {
    return bad_choice("'tool_choice' forces a tool call, but the request offers no 'tools'");
  }
  if (out.mode == ToolChoice::Mode::kFunction) {
    std::string names;
    for (const ojson& tool : tools) {
      const std::string name = tool["function"]["name"].get<std::string>();
      if (name == out.function) return std::nullopt;
      names += names.empty() ? name : ", " + name;
    }
    return bad_choice(
        fmt::format("'tool_choice' names the function '{}', which is not among the tools ({})", out.function, names));
  }
  return std::nullopt;
}

chat::ToolCallFormat template_tool_format(std::string_view source) {
  // The same markers, in the same order, as llama.cpp's common_chat_templates_apply.
  if (source.find("<tool_call>") != std::string_view::npos) return chat::ToolCallFormat::kHermes;
  if (source.find("<|start_header_id|>ipython<|end_header_id|>") != std::string_view::npos ||
      source.find("<|python_tag|>") != std::string_view::npos) {
    return chat::ToolCallFormat::kLlama3;
  }
  if (source.find("[TOOL_CALLS]") != std::string_view::npos) return chat::ToolCallFormat::kMistral;
  return chat::ToolCallFormat::kGeneric;
}

Result<std::string> forced_tool_call_gbnf(const ojson& tools, const ToolChoice& choice, chat::ToolCallFormat format) {
  Result<ojson> schema = reply_schema(tools, choice, format);
  if (!schema) return schema.status();
  Result<std::string> gbnf = grammar::json_schema_to_gbnf(*schema);
  if (!gbnf) return Status::error(fmt::format("the tools' parameters: {}", gbnf.error()));
  compact_whitespace(*gbnf);
  switch (format) {
    case chat::ToolCallFormat::kHermes:
      return wrap_root(std::move(*gbnf), "<tool_call>", "</tool_call>", choice.parallel);
    case chat::ToolCallFormat::kMistral: return wrap_root(std::move(*gbnf), "[TOOL_CALLS]", "", false);
    default: return gbnf;
  }
}

}  // namespace tessera::server

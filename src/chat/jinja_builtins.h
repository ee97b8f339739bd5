// jinja2's built-in filters, tests and globals, plus Python's str/list/dict methods as the
// sandbox exposes them (mutating methods such as list.append are refused like
// ImmutableSandboxedEnvironment refuses them).
#pragma once

#include <string>
#include <string_view>

#include "chat/jinja_value.h"

namespace tessera::chat::jinja {

class Interpreter;

bool is_known_filter(std::string_view name);
bool is_known_test(std::string_view name);

// Throw JinjaError (without position; the interpreter adds it) on bad arguments.
Value apply_filter(Interpreter& interp, std::string_view name, const Value& input, CallArgs& args);
bool apply_test(Interpreter& interp, std::string_view name, const Value& input, CallArgs& args);

// `obj.name` for a str, list or dict: the bound method, or undefined when there is none.
Value get_method(const Value& obj, const std::string& name);

// Python's printf-style `fmt % args` (args a tuple or a single value): %s %r %d %i %f %x %%.
std::string percent_format(const std::string& fmt, const Value& args);

// Globals every template sees: range, dict, namespace, raise_exception, strftime_now, ...
Value make_globals();

}  // namespace tessera::chat::jinja

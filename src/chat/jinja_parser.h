// Jinja parser: tokens -> syntax tree, following jinja2's grammar and operator precedence
// (or < and < not < comparisons/in < + - < ~ < * / // % < ** < unary < postfix/filters/tests).
#pragma once

#include <string_view>

#include "chat/jinja_ast.h"

namespace tessera::chat::jinja {

// Throws JinjaError with line and column on a syntax error, an unknown tag, `break` outside a
// loop, or (like jinja2 at compile time) an unknown filter or test outside `if` blocks and
// conditional expressions. Nesting deeper than a fixed limit is an error, not a stack overflow.
Body parse_template(std::string_view source);

}  // namespace tessera::chat::jinja

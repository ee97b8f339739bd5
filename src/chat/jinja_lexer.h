// Jinja lexer: template source -> tokens, with jinja2's whitespace rules as Hugging Face configures
// them (trim_blocks, lstrip_blocks, keep_trailing_newline=False, newlines normalized to "\n") and
// the `-`/`+` whitespace-control modifiers. `{% raw %}` bodies come out as plain text.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "chat/jinja_error.h"

namespace tessera::chat::jinja {

enum class TokenKind {
  kText,           // template data between tags
  kVariableBegin,  // {{
  kVariableEnd,    // }}
  kBlockBegin,     // {%
  kBlockEnd,       // %}
  kName,
  kString,  // value: the unescaped string
  kInteger,
  kFloat,
  kOperator,  // + - * / // % ** ~ ( ) [ ] { } == != < <= > >= = . : | ,
  kEnd,
};

struct Token {
  TokenKind kind;
  std::string value;
  SourcePos pos;
};

// Throws JinjaError (with line and column) on an unterminated tag, string or comment, or an
// unexpected character.
std::vector<Token> tokenize_template(std::string_view source);

}  // namespace tessera::chat::jinja

# Sources of the chat module: the Jinja engine, chat templates and the output parser.
target_sources(tessera_core PRIVATE
  src/chat/builtin_templates.cpp
  src/chat/chat_output_parser.cpp
  src/chat/chat_template.cpp
  src/chat/jinja_expressions.cpp
  src/chat/jinja_filters.cpp
  src/chat/jinja_globals.cpp
  src/chat/jinja_interpreter.cpp
  src/chat/jinja_lexer.cpp
  src/chat/jinja_methods.cpp
  src/chat/jinja_parser.cpp
  src/chat/jinja_strings.cpp
  src/chat/jinja_template.cpp
  src/chat/jinja_value.cpp
)

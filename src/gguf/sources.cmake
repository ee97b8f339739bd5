target_sources(tessera_core PRIVATE
  src/gguf/gguf_file.cpp
  src/gguf/mapped_file.cpp
  src/gguf/parser.cpp
  src/gguf/value.cpp
  src/gguf/writer.cpp
)

# Sources of the server module (appended by its owner).
target_sources(tessera_core PRIVATE
  src/server/chat_format.cpp
  src/server/connection_watch.cpp
  src/server/embedder.cpp
  src/server/generation_response.cpp
  src/server/http_transport.cpp
  src/server/request_parser.cpp
  src/server/routes_native.cpp
  src/server/routes_embeddings.cpp
  src/server/routes_openai.cpp
  src/server/scheduler.cpp
  src/server/sampler_factory.cpp
  src/server/tool_choice.cpp
)

# cpp-httplib as Debian builds it (libcpp-httplib-dev): a shared library whose header must see
# the same feature macros it was compiled with, which its pkg-config file provides.
find_package(PkgConfig REQUIRED)
pkg_check_modules(CPP_HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
target_link_libraries(tessera_core PUBLIC PkgConfig::CPP_HTTPLIB)

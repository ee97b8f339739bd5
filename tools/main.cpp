// `tessera SUBCOMMAND ...`: the single executable that fronts every tool.
#include <fmt/format.h>

#include <cstdio>
#include <string_view>

#include "commands.h"

namespace {

struct Subcommand {
  std::string_view name;
  int (*run)(const tessera::tools::Args&);
  std::string_view summary;
};

constexpr Subcommand kSubcommands[] = {
    {"run", tessera::tools::run_run, "generate text from a prompt"},
    {"json-schema-to-grammar", tessera::tools::run_json_schema_to_grammar, "print the GBNF grammar of a JSON Schema"},
    {"inspect", tessera::tools::run_inspect, "show a GGUF file's header, metadata, tensors and totals"},
    {"quantize", tessera::tools::run_quantize, "convert a GGUF model to a quantization type (Q4_K_M, Q8_0, ...)"},
    {"serve", tessera::tools::run_serve, "OpenAI-compatible HTTP server (parallel slots, continuous batching)"},
    {"tokenize", tessera::tools::run_tokenize, "print the token ids a GGUF vocabulary gives a text"},
    {"template", tessera::tools::run_template, "render a chat template for a conversation (JSON messages)"},
    {"perplexity", tessera::tools::run_perplexity, "perplexity of a text file, computed as llama-perplexity does"},
    {"bench", tessera::tools::run_bench, "prompt (ppN) and generation (tgN) tokens/s, as llama-bench measures"},
};

void print_usage(std::FILE* out) {
  fmt::print(out, "usage: tessera SUBCOMMAND [options]\n\nsubcommands:\n");
  for (const Subcommand& s : kSubcommands) fmt::print(out, "  {:<12} {}\n", s.name, s.summary);
  fmt::print(out, "\n'tessera SUBCOMMAND --help' describes a subcommand.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_usage(stderr);
    return 2;
  }
  const std::string_view name = argv[1];
  if (name == "-h" || name == "--help" || name == "help") {
    print_usage(stdout);
    return 0;
  }
  for (const Subcommand& s : kSubcommands) {
    if (s.name == name) return s.run(tessera::tools::Args(argv + 2, argv + argc));
  }
  fmt::print(stderr, "tessera: unknown subcommand '{}'\n\n", name);
  print_usage(stderr);
  return 2;
}

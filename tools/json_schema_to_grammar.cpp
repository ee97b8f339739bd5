// `tessera json-schema-to-grammar FILE [--samples N] [--seed S]`: prints the GBNF grammar of a
// JSON Schema, or N random JSON texts drawn from that grammar (a JSON array of strings), which
// is how the tests check that every sentence of the grammar validates.
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.h"
#include "grammar/grammar.h"
#include "grammar/json_schema.h"
#include "grammar/matcher.h"
#include "grammar/random_walk.h"

namespace tessera::tools {
namespace {

constexpr std::string_view kUsage =
    "usage: tessera json-schema-to-grammar FILE [--samples N] [--seed S] [--gbnf]\n"
    "  Prints the GBNF grammar of the JSON Schema in FILE ('-': standard input).\n"
    "  --samples N   print N random texts of the grammar instead (a JSON array of strings)\n"
    "  --seed S      random seed for --samples (default 0)\n"
    "  --gbnf        FILE is a GBNF grammar, not a schema (for --samples)\n";

bool read_input(const std::string& path, std::string& out) {
  if (path == "-") {
    out.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return true;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

}  // namespace

int run_json_schema_to_grammar(const Args& args) {
  std::string path;
  long samples = -1;
  uint64_t seed = 0;
  bool gbnf_input = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    try {
      if (a == "-h" || a == "--help") {
        fmt::print("{}", kUsage);
        return 0;
      } else if (a == "--samples" && i + 1 < args.size()) {
        samples = std::stol(args[++i]);
      } else if (a == "--seed" && i + 1 < args.size()) {
        seed = std::stoull(args[++i]);
      } else if (a == "--gbnf") {
        gbnf_input = true;
      } else if (path.empty() && (a == "-" || a.empty() || a[0] != '-')) {
        path = a;
      } else {
        fmt::print(stderr, "tessera json-schema-to-grammar: unexpected argument '{}'\n{}", a, kUsage);
        return 2;
      }
    } catch (const std::exception&) {
      fmt::print(stderr, "tessera json-schema-to-grammar: bad number '{}'\n{}", args[i], kUsage);
      return 2;
    }
  }
  if (path.empty()) {
    fmt::print(stderr, "tessera json-schema-to-grammar: missing FILE\n{}", kUsage);
    return 2;
  }
  std::string text;
  if (!read_input(path, text)) {
    fmt::print(stderr, "error: cannot read '{}'\n", path);
    return 1;
  }
  std::string gbnf = text;
  if (!gbnf_input) {
    Result<std::string> converted = grammar::json_schema_to_gbnf(std::string_view(text));
    if (!converted.ok()) {
      fmt::print(stderr, "error: {}: {}\n", path, converted.error());
      return 1;
    }
    gbnf = std::move(*converted);
  }
  Result<grammar::Grammar> compiled = grammar::parse_gbnf(gbnf);
  if (!compiled.ok()) {
    fmt::print(stderr, "error: {}: {}\n", path, compiled.error());
    return 1;
  }
  if (samples < 0) {
    fmt::print("{}", gbnf);
    return 0;
  }
  grammar::Matcher matcher(std::make_shared<const grammar::Grammar>(std::move(*compiled)));
  nlohmann::json out = nlohmann::json::array();
  for (long i = 0; i < samples; ++i) {
    grammar::RandomWalkOptions options;
    options.seed = seed * 1000003u + static_cast<uint64_t>(i);
    Result<std::string> s = grammar::random_sentence(matcher, options);
    if (!s.ok()) {
      fmt::print(stderr, "error: {}: {}\n", path, s.error());
      return 1;
    }
    out.push_back(*s);
  }
  fmt::print("{}\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return 0;
}

}  // namespace tessera::tools

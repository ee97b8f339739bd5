// `tessera run`'s grammar flags (llama.cpp's spellings): --grammar GBNF, --grammar-file FILE,
// -j/--json-schema SCHEMA, -jf/--json-schema-file FILE. Each compiles the grammar when parsed (so
// a bad grammar is a usage error naming the flag and the position) and sets
// RunOptions::make_constraint, which builds the GrammarConstraint once the tokenizer is loaded.
#include <fstream>
#include <sstream>

#include "grammar/grammar.h"
#include "grammar/json_schema.h"
#include "grammar/token_mask.h"
#include "run_options.h"
#include "sampling/grammar_constraint.h"
#include "tokenizer/tokenizer.h"

namespace tessera::tools {
namespace {

Result<std::string> read_text_file(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error(fmt::format("{}: cannot read '{}'", flag, path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Compiles GBNF text (from a flag) and installs the constraint factory.
Status use_gbnf(RunOptions& o, const std::string& flag, const std::string& gbnf) {
  if (o.make_constraint) return Status::error(fmt::format("{}: only one grammar or JSON schema may be given", flag));
  Result<grammar::Grammar> g = grammar::parse_gbnf(gbnf);
  if (!g) return Status::error(fmt::format("{}: {}", flag, g.error()));
  auto shared = std::make_shared<const grammar::Grammar>(std::move(*g));
  o.make_constraint = [shared](const tokenizer::Tokenizer& tok) -> Result<std::unique_ptr<sampling::Constraint>> {
    Result<std::unique_ptr<sampling::GrammarConstraint>> c =
        sampling::GrammarConstraint::create(shared, grammar::GrammarVocabulary::from_tokenizer(tok));
    if (!c) return c.status();
    return std::unique_ptr<sampling::Constraint>(std::move(*c));
  };
  return {};
}

Status use_schema(RunOptions& o, const std::string& flag, const std::string& schema) {
  Result<std::string> gbnf = grammar::json_schema_to_gbnf(std::string_view(schema));
  if (!gbnf) return Status::error(fmt::format("{}: {}", flag, gbnf.error()));
  return use_gbnf(o, flag, *gbnf);
}

}  // namespace

void add_grammar_flags(cli::FlagSet& flags, RunOptions& o) {
  const std::string g = "Grammar";
  flags.add(cli::Flag{{"--grammar"},
                      "GBNF",
                      "constrain the output to a GBNF grammar (see docs/grammar.md)",
                      g,
                      "",
                      [&o](const std::string& v) { return use_gbnf(o, "--grammar", v); }});
  flags.add(cli::Flag{{"--grammar-file"},
                      "FILE",
                      "constrain the output to the GBNF grammar in FILE",
                      g,
                      "",
                      [&o](const std::string& v) {
                        Result<std::string> text = read_text_file("--grammar-file", v);
                        return text ? use_gbnf(o, "--grammar-file", *text) : text.status();
                      }});
  flags.add(cli::Flag{{"-j", "--json-schema"},
                      "SCHEMA",
                      "constrain the output to JSON valid for a JSON Schema",
                      g,
                      "",
                      [&o](const std::string& v) { return use_schema(o, "--json-schema", v); }});
  flags.add(cli::Flag{{"-jf", "--json-schema-file"},
                      "FILE",
                      "like -j, with the schema read from FILE",
                      g,
                      "",
                      [&o](const std::string& v) {
                        Result<std::string> text = read_text_file("--json-schema-file", v);
                        return text ? use_schema(o, "--json-schema-file", *text) : text.status();
                      }});
}

}  // namespace tessera::tools

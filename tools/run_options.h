// `tessera run`'s options and their flags (llama.cpp's spellings), parsed by cli::FlagSet.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cli_flags.h"
#include "common_flags.h"
#include "sampling/params.h"
#include "sampling/stage.h"
#include "tessera/status.h"

namespace tessera::tokenizer {
class Tokenizer;
}

namespace tessera::tools {

struct RunOptions {
  ModelOptions model;
  std::string prompt;       // -p
  std::string prompt_file;  // -f: the prompt is this file's content
  int32_t n_predict = -1;   // -n; -1: until end of generation or a full context
  bool escape = true;       // -e / --no-escape: turn \n \t \\ ... in the prompt into characters
  bool warmup = true;       // --no-warmup
  bool verbose_prompt = false;
  bool special = false;  // -sp: print special tokens' text in the output
  bool display_prompt = true;
  std::vector<std::string> reverse_prompts;  // -r: stop strings
  std::string log_file;
  bool verbose = false;
  int64_t seed = -1;  // -s; -1: random
  sampling::SamplerParams sampling;

  // Chat mode (-cnv): the conversation is formatted with the model's chat template.
  enum class Conversation { kAuto, kOn, kOff } conversation = Conversation::kAuto;
  std::string system_prompt;  // -sys
  bool single_turn = false;   // -st
  std::string chat_template;  // --chat-template: a built-in name or Jinja source; empty: the model's

  // Hook for a grammar (--grammar, --grammar-file, -j): builds the constraint once the tokenizer
  // is loaded; unset: no constraint. The grammar flags' handlers set it.
  std::function<Result<std::unique_ptr<sampling::Constraint>>(const tokenizer::Tokenizer&)> make_constraint;
};

// Registers every `tessera run` flag, writing into `o` (which must outlive `flags`).
void add_run_flags(cli::FlagSet& flags, RunOptions& o);
// --grammar, --grammar-file, -j, -jf (run_grammar_flags.cpp): they set make_constraint.
void add_grammar_flags(cli::FlagSet& flags, RunOptions& o);

// After parsing: reads -f, applies -e, resolves the seed, records which sampling flags the user
// gave (model defaults apply to the others). Fails with a usage error (exit 2) message.
Status finish_run_options(const cli::ParsedArgs& parsed, RunOptions& o, sampling::UserSet& user_set);

// llama.cpp's escape processing (-e): \n \r \t \' \" \\ \a \b \f \v \? \xHH and octal \NNN.
std::string process_escapes(std::string_view text);

}  // namespace tessera::tools

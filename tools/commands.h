// The `tessera` subcommands. Each takes the arguments after its name and returns the process
// exit status: 0 on success, 1 on bad input (with the error printed to stderr), 2 on bad usage.
#pragma once

#include <string>
#include <vector>

namespace tessera::tools {

using Args = std::vector<std::string>;

int run_inspect(const Args& args);
int run_json_schema_to_grammar(const Args& args);
int run_quantize(const Args& args);
int run_run(const Args& args);
int run_serve(const Args& args);
int run_tokenize(const Args& args);
int run_template(const Args& args);
int run_perplexity(const Args& args);
int run_bench(const Args& args);

// The model used when -m / FILE is omitted: the one ./setup.sh installs.
std::string default_model_path();

}  // namespace tessera::tools

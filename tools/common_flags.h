// Flags shared by the subcommands that load a model and run it (run, serve, bench, perplexity):
// model file, context, threads, batch sizes and KV cache types, with llama.cpp's spellings.
#pragma once

#include <cstdint>
#include <string>

#include "cli_flags.h"
#include "model/forward.h"
#include "tessera/status.h"

namespace tessera::tools {

struct ModelOptions {
  std::string model;            // -m; empty: the default model
  int64_t n_ctx = 4096;         // -c; 0: the model's trained context
  int n_threads = 0;            // -t; 0: all cores
  int n_threads_batch = 0;      // -tb; 0: same as -t
  int64_t n_batch = 2048;       // -b: most tokens handed to one decode call
  int64_t n_ubatch = 512;       // -ub: tokens per pass through the layers
  std::string cache_type_k = "f16";  // -ctk
  std::string cache_type_v = "f16";  // -ctv
};

// Registers -m -c -t -tb -b -ub -ctk -ctv in group "Model and runtime".
void add_model_flags(cli::FlagSet& flags, ModelOptions& options);

// The model path to load (the default model when -m was not given), and ForwardParams with
// thread counts resolved and KV types parsed. Fails on an unknown or unsupported cache type.
std::string model_path(const ModelOptions& options);
Result<model::ForwardParams> forward_params(const ModelOptions& options);

// Number of hardware threads (at least 1).
int hardware_threads();

}  // namespace tessera::tools

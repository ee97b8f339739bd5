#include "common_flags.h"

#include <thread>

#include "commands.h"

namespace tessera::tools {
namespace {

Result<ops::KvType> parse_kv_type(const std::string& name) {
  if (name == "f16") return ops::KvType::kF16;
  if (name == "f32") return ops::KvType::kF32;
  if (name == "q8_0") return ops::KvType::kQ8_0;
  if (name == "q4_0") return ops::KvType::kQ4_0;
  return Status::error(fmt::format("unknown KV cache type '{}' (f16, f32, q8_0, q4_0)", name));
}

}  // namespace

int hardware_threads() {
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void add_model_flags(cli::FlagSet& flags, ModelOptions& o) {
  const std::string group = "Model and runtime";
  flags.add_string({"-m", "--model"}, "FILE", "GGUF model file", group, o.model);
  flags.set_default_text("-m", "the model ./setup.sh installs");
  flags.add_value({"-c", "--ctx-size"}, "N", "context size in tokens, 0 = the model's trained context", group, o.n_ctx,
                  cli::at_least<int64_t>(0));
  flags.add_value({"-t", "--threads"}, "N", "threads for generation", group, o.n_threads, cli::at_least(1));
  flags.set_default_text("-t", fmt::format("all {} cores", hardware_threads()));
  flags.add_value({"-tb", "--threads-batch"}, "N", "threads for prompt processing", group, o.n_threads_batch,
                  cli::at_least(1));
  flags.set_default_text("-tb", "same as -t");
  flags.add_value({"-b", "--batch-size"}, "N", "logical batch size: most prompt tokens per decode call", group,
                  o.n_batch, cli::at_least<int64_t>(1));
  flags.add_value({"-ub", "--ubatch-size"}, "N", "physical batch size: tokens per pass through the layers", group,
                  o.n_ubatch, cli::at_least<int64_t>(1));
  const auto kv_flag = [&](std::vector<std::string> names, std::string help, std::string& target) {
    flags.add(cli::Flag{std::move(names), "TYPE", std::move(help), group, target, [&target](const std::string& v) {
                          if (Result<ops::KvType> t = parse_kv_type(v); !t) return t.status();
                          target = v;
                          return Status();
                        }});
  };
  kv_flag({"-ctk", "--cache-type-k"}, "KV cache type for keys: f16, f32, q8_0, q4_0", o.cache_type_k);
  kv_flag({"-ctv", "--cache-type-v"}, "KV cache type for values: f16, f32, q8_0, q4_0", o.cache_type_v);
}

std::string model_path(const ModelOptions& o) {
  return o.model.empty() ? default_model_path() : o.model;
}

Result<model::ForwardParams> forward_params(const ModelOptions& o) {
  Result<ops::KvType> k = parse_kv_type(o.cache_type_k);
  if (!k) return k.status();
  Result<ops::KvType> v = parse_kv_type(o.cache_type_v);
  if (!v) return v.status();
  if (*k != *v) {
    // The cache stores keys and values in one type; say so rather than silently use one of them.
    return Status::error(fmt::format("-ctk {} and -ctv {} differ; Tessera's KV cache uses one type for both",
                                     o.cache_type_k, o.cache_type_v));
  }
  model::ForwardParams p;
  p.n_ctx = o.n_ctx;
  p.kv_type = *k;
  p.n_threads = o.n_threads > 0 ? o.n_threads : hardware_threads();
  p.n_threads_batch = o.n_threads_batch > 0 ? o.n_threads_batch : p.n_threads;
  p.n_ubatch = std::min(o.n_ubatch, o.n_batch);
  return p;
}

}  // namespace tessera::tools

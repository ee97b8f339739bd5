// `tessera quantize [options] IN.gguf [OUT.gguf] TYPE [nthreads]`, with llama-quantize's spelling.
#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <filesystem>
#include <optional>

#include "commands.h"
#include "model/model_quantizer.h"

namespace tessera::tools {
namespace {

using model::QuantizeParams;

void print_usage(std::FILE* out) {
  fmt::print(out,
             "usage: tessera quantize [options] IN.gguf [OUT.gguf] TYPE [nthreads]\n\n"
             "options:\n"
             "  --allow-requantize          allow quantizing tensors that are already quantized\n"
             "  --leave-output-tensor       keep output.weight as it is\n"
             "  --pure                      no mixing rules: every quantized tensor gets TYPE's default type\n"
             "  --output-tensor-type T      type for output.weight\n"
             "  --token-embedding-type T    type for token_embd.weight\n"
             "  --tensor-type REGEX=T       type for tensors whose name matches REGEX (repeatable; last wins)\n"
             "  --imatrix FILE              importance matrix (llama-imatrix GGUF format)\n"
             "  --dry-run                   show the plan and sizes, write nothing\n\n"
             "TYPE (name or llama.cpp file-type id):\n");
  for (const model::Preset& p : model::presets()) {
    fmt::print(out, "  {:>2}  {:<10} {}\n", static_cast<uint32_t>(p.file_type), p.name, p.description);
  }
  fmt::print(out, "      {:<10} {}\n", "COPY", "copy tensors unchanged (rewrites metadata and layout)");
}

std::optional<quant::TensorType> parse_tensor_type(std::string_view name) {
  std::optional<quant::TensorType> type = quant::tensor_type_from_name(name);
  if (!type) fmt::print(stderr, "tessera quantize: unknown tensor type '{}'\n", name);
  return type;
}

// TYPE is a preset name, a numeric file-type id, or COPY. Returns false for an unknown TYPE.
bool parse_preset(std::string_view text, QuantizeParams& params) {
  if (text == "COPY" || text == "copy") return true;
  if (std::optional<model::Preset> preset = model::find_preset(text)) {
    params.preset = preset;
    return true;
  }
  uint32_t id = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (error != std::errc() || end != text.data() + text.size()) return false;
  for (const model::Preset& p : model::presets()) {
    if (static_cast<uint32_t>(p.file_type) == id) {
      params.preset = p;
      return true;
    }
  }
  return false;
}

// Parses the options; returns nullopt (with a message printed) on bad usage.
std::optional<QuantizeParams> parse_args(const Args& args) {
  QuantizeParams params;
  size_t i = 0;
  auto value = [&](std::string_view flag) -> std::optional<std::string> {
    if (i + 1 >= args.size()) {
      fmt::print(stderr, "tessera quantize: {} needs a value\n", flag);
      return std::nullopt;
    }
    return args[++i];
  };
  for (; i < args.size() && args[i].starts_with("--"); ++i) {
    const std::string& a = args[i];
    std::optional<std::string> v;
    if (a == "--allow-requantize") {
      params.allow_requantize = true;
    } else if (a == "--leave-output-tensor") {
      params.quantize_output_tensor = false;
    } else if (a == "--pure") {
      params.pure = true;
    } else if (a == "--dry-run") {
      params.dry_run = true;
    } else if (a == "--output-tensor-type" || a == "--token-embedding-type") {
      if (!(v = value(a))) return std::nullopt;
      const std::optional<quant::TensorType> type = parse_tensor_type(*v);
      if (!type) return std::nullopt;
      (a == "--output-tensor-type" ? params.output_tensor_type : params.token_embedding_type) = type;
    } else if (a == "--tensor-type") {
      if (!(v = value(a))) return std::nullopt;
      const size_t eq = v->rfind('=');
      if (eq == std::string::npos || eq == 0) {
        fmt::print(stderr, "tessera quantize: --tensor-type wants REGEX=TYPE, got '{}'\n", *v);
        return std::nullopt;
      }
      const std::optional<quant::TensorType> type = parse_tensor_type(std::string_view(*v).substr(eq + 1));
      if (!type) return std::nullopt;
      params.tensor_types.push_back({v->substr(0, eq), *type});
    } else if (a == "--imatrix") {
      if (!(v = value(a))) return std::nullopt;
      params.imatrix_path = *v;
    } else if (a == "--help" || a == "-h") {
      print_usage(stdout);
      return std::nullopt;
    } else {
      fmt::print(stderr, "tessera quantize: unknown option '{}'\n", a);
      return std::nullopt;
    }
  }
  std::vector<std::string> positional(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  // IN [OUT] TYPE [nthreads]: TYPE is the first positional after IN that names a type.
  if (positional.size() < 2 || positional.size() > 4) {
    print_usage(stderr);
    return std::nullopt;
  }
  params.input_path = positional[0];
  size_t type_index = parse_preset(positional[1], params) ? 1 : 2;
  if (type_index == 2 && (positional.size() < 3 || !parse_preset(positional[2], params))) {
    fmt::print(stderr, "tessera quantize: unknown TYPE '{}'\n", positional.size() < 3 ? positional[1] : positional[2]);
    return std::nullopt;
  }
  params.output_path = type_index == 2
                           ? positional[1]
                           : (std::filesystem::path(params.input_path).parent_path() /
                              fmt::format("ggml-model-{}.gguf", params.preset ? params.preset->name : "COPY"))
                                 .string();
  if (positional.size() > type_index + 1) {
    const std::string& n = positional[type_index + 1];
    const auto [end, error] = std::from_chars(n.data(), n.data() + n.size(), params.n_threads);
    if (error != std::errc() || end != n.data() + n.size() || params.n_threads <= 0 ||
        positional.size() > type_index + 2) {
      fmt::print(stderr, "tessera quantize: bad thread count '{}'\n", n);
      return std::nullopt;
    }
  }
  return params;
}

std::string shape_string(const std::vector<uint64_t>& shape) {
  std::string out;
  for (uint64_t d : shape) out += fmt::format("{}{}", out.empty() ? "" : ", ", d);
  return "[" + out + "]";
}

}  // namespace

int run_quantize(const Args& args) {
  const bool help = !args.empty() && (args[0] == "-h" || args[0] == "--help");
  const std::optional<QuantizeParams> params = parse_args(args);
  if (!params) return help ? 0 : 2;

  const auto start = std::chrono::steady_clock::now();
  fmt::print(stderr, "quantizing {} -> {} as {}{}\n", params->input_path, params->output_path,
             params->preset ? params->preset->name : "COPY", params->dry_run ? " (dry run)" : "");
  auto progress = [](const model::TensorPlan& t, size_t index, size_t count) {
    fmt::print(stderr, "[{:>4}/{:>4}] {:<40} {:<22} {:>6} -> {:<6} {:>9.3f} MiB -> {:>9.3f} MiB{}{}\n", index + 1,
               count, t.name, shape_string(t.shape), quant::type_name(t.from), quant::type_name(t.to),
               t.bytes_before / 1048576.0, t.bytes_after / 1048576.0, t.fell_back ? " (fallback)" : "",
               t.used_importance ? " (imatrix)" : "");
  };
  Result<model::QuantizeReport> report = model::quantize_model(*params, progress);
  if (!report) {
    fmt::print(stderr, "error: {}\n", report.error());
    return 1;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  size_t fallbacks = 0;
  for (const model::TensorPlan& t : report->tensors) fallbacks += t.fell_back;
  fmt::print(stderr, "model size:  {:.2f} MiB -> {:.2f} MiB ({:.1f}%)\n", report->bytes_before / 1048576.0,
             report->bytes_after / 1048576.0,
             100.0 * report->bytes_after / std::max<uint64_t>(1, report->bytes_before));
  if (fallbacks > 0)
    fmt::print(stderr, "fallbacks:   {} tensors used a fallback type for their row length\n", fallbacks);
  fmt::print(stderr, "{} {} tensors in {:.2f} s on {} threads{}\n", params->dry_run ? "planned" : "wrote",
             report->tensors.size(), seconds, report->n_threads,
             report->imatrix_entries ? fmt::format(", imatrix with {} entries", report->imatrix_entries) : "");
  return 0;
}

}  // namespace tessera::tools

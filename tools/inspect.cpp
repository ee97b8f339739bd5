// `tessera inspect [FILE | -m FILE] [--json] [--full]`: everything a GGUF file says about itself.
#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "commands.h"
#include "gguf/gguf_file.h"

namespace tessera::tools {
namespace {

using gguf::GgufFile;
using gguf::TensorInfo;
using gguf::Value;
using gguf::ValueType;
using nlohmann::ordered_json;

constexpr uint64_t kArrayPreview = 8;  // array elements shown unless --full

struct InspectOptions {
  std::string path;
  bool json = false;
  bool full = false;
};

struct TypeTotals {
  uint64_t tensors = 0;
  uint64_t elements = 0;
  uint64_t bytes = 0;
};

struct Totals {
  uint64_t elements = 0;
  uint64_t bytes = 0;
  std::map<std::string_view, TypeTotals> by_type;
};

Totals compute_totals(const GgufFile& file) {
  Totals totals;
  for (const TensorInfo& t : file.tensors()) {
    totals.elements += t.n_elements;
    totals.bytes += t.n_bytes;
    TypeTotals& row = totals.by_type[quant::type_name(t.type)];
    row.tensors += 1;
    row.elements += t.n_elements;
    row.bytes += t.n_bytes;
  }
  return totals;
}

double bits_per_weight(uint64_t bytes, uint64_t elements) {
  return elements == 0 ? 0.0 : 8.0 * static_cast<double>(bytes) / static_cast<double>(elements);
}

std::string shape_string(const TensorInfo& t) {
  std::string out = "[";
  for (uint32_t d = 0; d < t.n_dims; ++d) out += fmt::format("{}{}", d ? ", " : "", t.shape[d]);
  return out + "]";
}

std::string type_string(const Value& v) {
  if (!v.is_array()) return std::string(gguf::value_type_name(v.type()));
  return fmt::format("{}[{}]", gguf::value_type_name(v.element_type()), v.size());
}

void print_text(const GgufFile& file, const InspectOptions& options) {
  const Totals totals = compute_totals(file);
  fmt::print("file:       {}\n", file.path());
  if (file.split_count() > 1) fmt::print("splits:     {}\n", file.split_count());
  fmt::print("size:       {} bytes ({:.2f} MiB)\n", file.total_file_size(), file.total_file_size() / 1048576.0);
  fmt::print("version:    {}\nalignment:  {}\n", file.version(), file.alignment());
  fmt::print("metadata:   {} keys\ntensors:    {}\n", file.metadata().size(), file.tensors().size());

  fmt::print("\nmetadata:\n");
  const uint64_t preview = options.full ? UINT64_MAX : kArrayPreview;
  for (const gguf::KeyValue& kv : file.metadata()) {
    fmt::print("  {:<44} {:<14} {}\n", kv.key, type_string(kv.value), kv.value.to_display_string(preview));
  }

  fmt::print("\ntensors:\n  {:>5}  {:<40} {:<8} {:<24} {:>14}  {}\n", "#", "name", "type", "shape", "bytes", "offset");
  for (size_t i = 0; i < file.tensors().size(); ++i) {
    const TensorInfo& t = file.tensors()[i];
    const std::string where = file.split_count() > 1 ? fmt::format(" (split {})", t.split + 1) : "";
    fmt::print("  {:>5}  {:<40} {:<8} {:<24} {:>14}  {}{}\n", i, t.name, quant::type_name(t.type), shape_string(t),
               t.n_bytes, t.file_offset, where);
  }

  fmt::print("\ntotals:\n  parameters:      {} ({:.2f} M)\n", totals.elements, totals.elements / 1e6);
  fmt::print("  tensor bytes:    {} ({:.2f} MiB)\n", totals.bytes, totals.bytes / 1048576.0);
  fmt::print("  file size:       {}\n", file.total_file_size());
  fmt::print("  bits per weight: {:.3f}\n  by type:\n", bits_per_weight(totals.bytes, totals.elements));
  for (const auto& [name, row] : totals.by_type) {
    fmt::print("    {:<8} {:>5} tensors {:>14} params {:>14} bytes {:>8.3f} bpw\n", name, row.tensors, row.elements,
               row.bytes, bits_per_weight(row.bytes, row.elements));
  }
}

ordered_json scalar_json(const Value& v) {
  switch (v.type()) {
    case ValueType::kBool: return *v.get<bool>();
    case ValueType::kFloat32: return *v.get<float>();
    case ValueType::kFloat64: return *v.get<double>();
    case ValueType::kString: return std::string(*v.get_string());
    case ValueType::kUint64: return *v.get<uint64_t>();
    default: return *v.get_signed();
  }
}

ordered_json value_json(const Value& v, uint64_t max_elements) {
  if (!v.is_array()) return scalar_json(v);
  ordered_json list = ordered_json::array();
  const uint64_t shown = std::min(v.size(), max_elements);
  const ValueType t = v.element_type();
  for (uint64_t i = 0; i < shown; ++i) {
    list.push_back(t == ValueType::kString ? ordered_json(std::string(v.string_at(i)))
                                           : scalar_json(Value::scalar(t, v.array_bytes() + i * gguf::scalar_size(t))));
  }
  return list;
}

ordered_json metadata_json(const GgufFile& file, const InspectOptions& options) {
  ordered_json metadata = ordered_json::array();
  const uint64_t preview = options.full ? UINT64_MAX : kArrayPreview;
  for (const gguf::KeyValue& kv : file.metadata()) {
    ordered_json entry = {{"key", std::string(kv.key)}, {"type", gguf::value_type_name(kv.value.type())}};
    if (kv.value.is_array()) {
      entry["element_type"] = gguf::value_type_name(kv.value.element_type());
      entry["count"] = kv.value.size();
      entry["truncated"] = kv.value.size() > preview;
    }
    entry["value"] = value_json(kv.value, preview);
    metadata.push_back(std::move(entry));
  }
  return metadata;
}

ordered_json tensors_json(const GgufFile& file) {
  ordered_json tensors = ordered_json::array();
  for (const TensorInfo& t : file.tensors()) {
    tensors.push_back({{"name", std::string(t.name)},
                       {"type", quant::type_name(t.type)},
                       {"type_id", static_cast<uint32_t>(t.type)},
                       {"shape", std::vector<uint64_t>(t.shape.begin(), t.shape.begin() + t.n_dims)},
                       {"n_elements", t.n_elements},
                       {"n_bytes", t.n_bytes},
                       {"data_offset", t.data_offset},
                       {"file_offset", t.file_offset},
                       {"split", t.split}});
  }
  return tensors;
}

void print_json(const GgufFile& file, const InspectOptions& options) {
  const Totals totals = compute_totals(file);
  ordered_json splits = ordered_json::array();
  for (size_t i = 0; i < file.split_count(); ++i) {
    splits.push_back({{"path", file.path(i)},
                      {"size", file.file_size(i)},
                      {"data_section_offset", file.part(i).data_section_offset}});
  }
  ordered_json by_type = ordered_json::object();
  for (const auto& [name, row] : totals.by_type) {
    by_type[std::string(name)] = {{"tensors", row.tensors},
                                  {"parameters", row.elements},
                                  {"bytes", row.bytes},
                                  {"bits_per_weight", bits_per_weight(row.bytes, row.elements)}};
  }
  const ordered_json report = {
      {"path", file.path()},
      {"version", file.version()},
      {"alignment", file.alignment()},
      {"splits", splits},
      {"metadata", metadata_json(file, options)},
      {"tensors", tensors_json(file)},
      {"totals",
       {{"parameters", totals.elements},
        {"tensor_bytes", totals.bytes},
        {"file_size", file.total_file_size()},
        {"bits_per_weight", bits_per_weight(totals.bytes, totals.elements)},
        {"by_type", by_type}}},
  };
  // Metadata strings are not guaranteed UTF-8; invalid bytes become U+FFFD rather than aborting.
  fmt::print("{}\n", report.dump(2, ' ', false, ordered_json::error_handler_t::replace));
}

constexpr std::string_view kUsage =
    "usage: tessera inspect [FILE | -m FILE] [--json] [--full]\n"
    "  Prints a GGUF file's header, metadata, tensor table and totals (parameters, bits per weight,\n"
    "  per-type breakdown). FILE defaults to the model installed by ./setup.sh.\n"
    "  --json   the same report as JSON\n"
    "  --full   print arrays whole instead of their first {} elements\n";

std::optional<InspectOptions> parse_args(const Args& args, int& exit_code) {
  InspectOptions options;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      fmt::print(kUsage, kArrayPreview);
      exit_code = 0;
      return std::nullopt;
    }
    if (a == "--json") {
      options.json = true;
    } else if (a == "--full") {
      options.full = true;
    } else if ((a == "-m" || a == "--model") && i + 1 < args.size()) {
      options.path = args[++i];
    } else if (!a.empty() && a[0] != '-' && options.path.empty()) {
      options.path = a;
    } else {
      fmt::print(stderr, "tessera inspect: unexpected argument '{}'\n", a);
      fmt::print(stderr, kUsage, kArrayPreview);
      exit_code = 2;
      return std::nullopt;
    }
  }
  if (options.path.empty()) options.path = default_model_path();
  return options;
}

}  // namespace

int run_inspect(const Args& args) {
  int exit_code = 0;
  const std::optional<InspectOptions> options = parse_args(args, exit_code);
  if (!options) return exit_code;
  Result<GgufFile> file = GgufFile::open(options->path);
  if (!file) {
    fmt::print(stderr, "error: {}\n", file.error());
    return 1;
  }
  if (options->json) {
    print_json(*file, *options);
  } else {
    print_text(*file, *options);
  }
  return 0;
}

}  // namespace tessera::tools

// quant_tool: drives the type table's dequantize / quantize on raw files, for the e2e tests
// against gguf-py (tests/e2e/test_quant_formats.py).
//   quant_tool dequantize TYPE IN.blocks OUT.f32           raw blocks -> little-endian f32
//   quant_tool quantize TYPE IN.f32 OUT.blocks [IMP.f32]   f32 (and [n] importance) -> raw blocks
// TYPE is a ggml type name (q4_K, iq2_xxs, ...). Exit status 0 on success, 1 on bad input.
#include <fmt/format.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "quant/type_traits.h"

namespace {

using tessera::quant::TypeTraits;

bool read_file(const char* path, std::vector<char>& data) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  data.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return true;
}

bool write_file(const char* path, const void* data, size_t size) {
  std::ofstream f(path, std::ios::binary);
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  return static_cast<bool>(f);
}

int fail(const std::string& message) {
  fmt::print(stderr, "error: {}\n", message);
  return 1;
}

int dequantize(const TypeTraits& row, const char* in_path, const char* out_path) {
  std::vector<char> in;
  if (!read_file(in_path, in)) return fail(fmt::format("cannot read {}", in_path));
  if (!row.dequantize) return fail(fmt::format("{} has no dequantize", row.name));
  if (in.size() % row.bytes_per_block != 0) return fail("input is not a whole number of blocks");
  const int64_t n = static_cast<int64_t>(in.size() / row.bytes_per_block * row.block_size);
  std::vector<float> out(static_cast<size_t>(n));
  row.dequantize(in.data(), out.data(), n);
  return write_file(out_path, out.data(), out.size() * sizeof(float)) ? 0 : fail("write failed");
}

int quantize(const TypeTraits& row, const char* in_path, const char* out_path, const char* imp_path) {
  std::vector<char> in, imp;
  if (!read_file(in_path, in)) return fail(fmt::format("cannot read {}", in_path));
  if (!row.quantize) return fail(fmt::format("{} has no quantize", row.name));
  const size_t n = in.size() / sizeof(float);
  if (in.size() % sizeof(float) != 0 || n % row.block_size != 0) return fail("input is not whole blocks of f32");
  std::vector<float> x(n), w;
  std::memcpy(x.data(), in.data(), in.size());
  if (imp_path) {
    if (!read_file(imp_path, imp)) return fail(fmt::format("cannot read {}", imp_path));
    if (imp.size() != in.size()) return fail("importance must have one f32 per input element");
    w.resize(n);
    std::memcpy(w.data(), imp.data(), imp.size());
  }
  std::vector<char> out(n / row.block_size * row.bytes_per_block);
  row.quantize(x.data(), out.data(), static_cast<int64_t>(n), imp_path ? w.data() : nullptr);
  return write_file(out_path, out.data(), out.size()) ? 0 : fail("write failed");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5 || argc > 6) {
    fmt::print(stderr, "usage: quant_tool dequantize|quantize TYPE IN OUT [IMPORTANCE]\n");
    return 2;
  }
  const std::string mode = argv[1];
  const auto type = tessera::quant::tensor_type_from_name(argv[2]);
  if (!type) return fail(fmt::format("unknown type '{}'", argv[2]));
  const TypeTraits& row = tessera::quant::type_traits(*type);
  if (mode == "dequantize" && argc == 5) return dequantize(row, argv[3], argv[4]);
  if (mode == "quantize") return quantize(row, argv[3], argv[4], argc == 6 ? argv[5] : nullptr);
  fmt::print(stderr, "usage: quant_tool dequantize|quantize TYPE IN OUT [IMPORTANCE]\n");
  return 2;
}

#include "quant/dispatch.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "quant/kernels/kernels.h"
#include "tessera/check.h"

namespace tessera::quant {
namespace {

size_t index_of(TensorType type) {
  return static_cast<size_t>(type);
}

KernelTable build_table(Isa isa) {
  KernelTable table;
  table.isa = isa;
  isa_kernels::register_scalar_kernels(table);
  if (isa >= Isa::kAvx2) {
    isa_kernels::register_avx2_kernels(table);
    isa_kernels::register_avx2_gemm_kernels(table);
  }
  if (isa >= Isa::kAvx512) {
    isa_kernels::register_avx512_kernels(table);
    isa_kernels::register_avx512_gemm_kernels(table);
    isa_kernels::register_avx512_matvec_kernels(table);
    isa_kernels::register_avx512_activation_quantizers(table);
  }
  return table;
}

// All tables are built once, together, from one detection (function-local static: thread-safe
// initialisation, immutable afterwards).
struct Tables {
  Isa best = Isa::kScalar;
  std::array<KernelTable, static_cast<size_t>(Isa::kCount)> by_isa;
  std::array<bool, static_cast<size_t>(Isa::kCount)> supported{};
};

const Tables& tables() {
  static const Tables t = [] {
    Tables result;
    const CpuFeatures cpu = detect_cpu_features();
    result.best = best_isa(cpu);
    for (size_t i = 0; i < result.by_isa.size(); ++i) {
      const Isa isa = static_cast<Isa>(i);
      result.supported[i] = isa_supported(isa, cpu);
      if (result.supported[i]) result.by_isa[i] = build_table(isa);
    }
    return result;
  }();
  return t;
}

}  // namespace

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    case Isa::kCount: break;
  }
  return "?";
}

bool isa_supported(Isa isa, const CpuFeatures& cpu) {
  const bool avx2 = cpu.avx2 && cpu.fma && cpu.f16c;
  switch (isa) {
    case Isa::kScalar: return true;
    case Isa::kAvx2: return avx2;
    case Isa::kAvx512: return avx2 && cpu.avx512f && cpu.avx512bw && cpu.avx512vl && cpu.avx512vnni;
    case Isa::kCount: break;
  }
  return false;
}

Isa best_isa(const CpuFeatures& cpu) {
  for (int i = static_cast<int>(Isa::kCount) - 1; i > 0; --i) {
    if (isa_supported(static_cast<Isa>(i), cpu)) return static_cast<Isa>(i);
  }
  return Isa::kScalar;
}

const KernelTable& kernels() {
  const Tables& t = tables();
  return t.by_isa[static_cast<size_t>(t.best)];
}

const KernelTable* kernels_for(Isa isa) {
  const Tables& t = tables();
  const auto i = static_cast<size_t>(isa);
  if (i >= t.by_isa.size() || !t.supported[i]) return nullptr;
  return &t.by_isa[i];
}

void quantize_activations(const KernelTable& table, TensorType weight_type, const float* x, int64_t k, int64_t n_tokens,
                          void* out) {
  const TensorType act_type = type_traits(weight_type).vec_dot_type;
  const QuantizeActivationFn quantize = table.quantize_activation[index_of(act_type)];
  TESSERA_CHECK(quantize != nullptr, "no activation quantizer for this weight type");
  const std::optional<uint64_t> stride = row_bytes(act_type, static_cast<uint64_t>(k));
  TESSERA_CHECK(stride.has_value(), "row length is not a multiple of the activation block size");
  auto* bytes = static_cast<uint8_t*>(out);
  for (int64_t t = 0; t < n_tokens; ++t) quantize(x + t * k, bytes + t * *stride, k);
}

// Tiling: a block of weight rows small enough to stay in L1/L2 is swept over every activation row,
// kMaxActRows activation rows at a time, so each decoded weight block serves several tokens and
// each activation tile is reused by many weight rows.
size_t matmul_scratch_bytes(const KernelTable& table, const MatmulArgs& args) {
  const size_t type = index_of(args.weight_type);
  if (args.n_tokens < 1 || table.gemm[type] == nullptr) return 0;
  if (args.n_tokens == 1 && table.matvec[type] != nullptr) return 0;
  return isa_kernels::gemm_scratch_bytes(args.k, args.n_tokens) + 64;  // + room to align to 64
}

void matmul(const KernelTable& table, const MatmulArgs& args, int64_t row_begin, int64_t row_end,
            std::span<uint8_t> scratch) {
  const size_t type = index_of(args.weight_type);
  const VecDotFn dot = table.vec_dot[type];
  const VecDotMultiFn dot_multi = table.vec_dot_multi[type];
  TESSERA_CHECK(dot != nullptr, "no dot kernel for this weight type");
  TESSERA_CHECK(0 <= row_begin && row_begin <= row_end, "matmul row range is inverted or negative");
  const std::optional<uint64_t> w_stride = row_bytes(args.weight_type, static_cast<uint64_t>(args.k));
  const std::optional<uint64_t> a_stride =
      row_bytes(type_traits(args.weight_type).vec_dot_type, static_cast<uint64_t>(args.k));
  TESSERA_CHECK(w_stride && a_stride, "row length is not a multiple of the block size");
  const auto* w = static_cast<const uint8_t*>(args.weights);
  const auto* a = static_cast<const uint8_t*>(args.acts);

  // One token goes through the matvec kernel where there is one, else through the GEMM too, never
  // through the dot kernels: those sum in another order, and the 8-bit activation quantization of
  // the next matmul amplifies even a last-bit difference into a whole quantization step, so a token
  // decoded alone would drift from the same token decoded in a batch (measured up to ~2 in Gemma 3
  // 270M logits). Each GEMM output element is computed the same way whatever the tile size, and
  // each matvec kernel sums exactly as its GEMM does, so 1 token and n tokens agree bitwise.
  if (args.n_tokens == 1 && table.matvec[type] != nullptr) {
    table.matvec[type](args, row_begin, row_end, nullptr);
    return;
  }
  if (args.n_tokens >= 1 && table.gemm[type] != nullptr) {
    // GEMM kernels want 64-byte aligned scratch; use the caller's when it is big enough.
    const size_t bytes = matmul_scratch_bytes(table, args);
    std::vector<uint8_t> own;
    MatmulArgs call = args;
    if (scratch.size() < bytes) {
      own.resize(bytes);
      scratch = own;
      call.acts_prepared = false;  // a fresh buffer holds nothing yet
    }
    void* aligned = scratch.data() + (64 - reinterpret_cast<uintptr_t>(scratch.data()) % 64) % 64;
    table.gemm[type](call, row_begin, row_end, aligned);
    return;
  }
  if (args.n_tokens == 1) {  // matvec (no GEMM for this type): nothing to reuse
    for (int64_t r = row_begin; r < row_end; ++r) args.out[r] = dot(args.k, w + r * *w_stride, a);
    return;
  }
  // About 64 KiB of weight rows per tile.
  const int64_t rows_per_tile = std::max<int64_t>(1, static_cast<int64_t>((64u << 10) / *w_stride));
  float results[kMaxActRows];
  for (int64_t r0 = row_begin; r0 < row_end; r0 += rows_per_tile) {
    const int64_t r1 = std::min(row_end, r0 + rows_per_tile);
    for (int64_t t0 = 0; t0 < args.n_tokens; t0 += kMaxActRows) {
      const int n_act = static_cast<int>(std::min<int64_t>(kMaxActRows, args.n_tokens - t0));
      for (int64_t r = r0; r < r1; ++r) {
        const uint8_t* w_row = w + r * *w_stride;
        const uint8_t* a_rows = a + t0 * *a_stride;
        if (dot_multi != nullptr) {
          dot_multi(args.k, w_row, a_rows, *a_stride, n_act, results);
        } else {
          for (int j = 0; j < n_act; ++j) results[j] = dot(args.k, w_row, a_rows + j * *a_stride);
        }
        for (int j = 0; j < n_act; ++j) args.out[(t0 + j) * args.out_stride + r] = results[j];
      }
    }
  }
}

}  // namespace tessera::quant

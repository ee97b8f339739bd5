// x86 CPU features that select kernels at run time (DESIGN.md: "CPU features detected at run time").
// Detection reads cpuid and checks through xgetbv that the OS saves the wider register state, so a
// feature reported here is one the process can actually use. Pure function; thread-safe.
#pragma once

namespace tessera::quant {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512vnni = false;
  bool avx512bf16 = false;
  bool amx_tile = false;
  bool amx_int8 = false;
};

// Features of the CPU this process runs on (all false on non-x86 builds).
CpuFeatures detect_cpu_features();

}  // namespace tessera::quant

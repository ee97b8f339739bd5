# Dot kernels, runtime dispatch and CPU detection (included from src/quant/sources.cmake).
target_sources(tessera_core PRIVATE
  src/quant/cpu_features.cpp
  src/quant/dispatch.cpp
  src/quant/kernels/activation_quant.cpp
  src/quant/kernels/dot_scalar.cpp
)

# Per-ISA kernels: only these files get the ISA flags, and they only run after CPU detection allows
# it (never -march=native globally: the binary must run on any x86-64 CPU).
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
  target_sources(tessera_core PRIVATE
    src/quant/kernels/dot_avx2.cpp
    src/quant/kernels/gemm_avx2.cpp
    src/quant/kernels/dot_avx512.cpp
    src/quant/kernels/gemm_avx512.cpp
    src/quant/kernels/matvec_avx512.cpp
    src/quant/kernels/activation_quant_avx512.cpp
  )
  set_source_files_properties(src/quant/kernels/dot_avx2.cpp src/quant/kernels/gemm_avx2.cpp PROPERTIES
    COMPILE_OPTIONS "-mavx2;-mfma;-mf16c")
  set_source_files_properties(src/quant/kernels/dot_avx512.cpp src/quant/kernels/gemm_avx512.cpp
    src/quant/kernels/matvec_avx512.cpp src/quant/kernels/activation_quant_avx512.cpp PROPERTIES
    COMPILE_OPTIONS "-mavx2;-mfma;-mf16c;-mavx512f;-mavx512bw;-mavx512vl;-mavx512vnni")
else()
  target_sources(tessera_core PRIVATE src/quant/kernels/dot_none.cpp)
endif()

target_sources(tessera_core PRIVATE
  src/ops/attention.cpp
  src/ops/simd_kernels.cpp
  src/ops/ops.cpp
)

# Only this file gets AVX-512 flags; it runs after CPU detection allows it (see quant/kernels).
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
  target_sources(tessera_core PRIVATE src/ops/simd_kernels_avx512.cpp)
  set_source_files_properties(src/ops/simd_kernels_avx512.cpp PROPERTIES
    COMPILE_OPTIONS "-mavx2;-mfma;-mf16c;-mavx512f;-mavx512bw;-mavx512vl")
endif()

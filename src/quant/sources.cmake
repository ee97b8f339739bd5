target_sources(tessera_core PRIVATE
  src/quant/type_traits.cpp
  src/quant/scale_search.cpp
  src/quant/float_types.cpp
  src/quant/legacy_quants.cpp
  src/quant/k_quants.cpp
  src/quant/i_quants.cpp
  src/quant/ternary.cpp
  src/quant/mxfp4.cpp
)
# The reference quantizers must round exactly like ggml's C code and gguf-py's numpy: no fused
# multiply-add contraction, whatever -march a build uses.
set_source_files_properties(
  src/quant/float_types.cpp src/quant/legacy_quants.cpp src/quant/k_quants.cpp src/quant/i_quants.cpp
  src/quant/ternary.cpp src/quant/mxfp4.cpp src/quant/scale_search.cpp
  PROPERTIES COMPILE_OPTIONS -ffp-contract=off)

# Dot kernels and their runtime dispatch (per-ISA compile options live there).
include(${CMAKE_CURRENT_LIST_DIR}/kernels/sources.cmake)

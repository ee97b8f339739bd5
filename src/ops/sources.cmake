target_sources(tessera_core PRIVATE
  src/ops/attention.cpp
  src/ops/ops.cpp
)

target_sources(tessera_core PRIVATE
  src/model/quant_presets.cpp
)

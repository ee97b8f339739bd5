target_sources(tessera_core PRIVATE
  src/model/imatrix.cpp
  src/model/model_quantizer.cpp
  src/model/quant_presets.cpp
)

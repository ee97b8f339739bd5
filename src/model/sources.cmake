target_sources(tessera_core PRIVATE
  src/model/imatrix.cpp
  src/model/model_quantizer.cpp
  src/model/quant_presets.cpp
)
target_sources(tessera_core PRIVATE
  src/model/arch.cpp
  src/model/forward.cpp
  src/model/hparams.cpp
  src/model/weights.cpp
)

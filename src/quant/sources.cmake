target_sources(tessera_core PRIVATE
  src/quant/type_traits.cpp
)

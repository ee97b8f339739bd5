target_sources(tessera_core PRIVATE src/sampling/sampler.cpp)

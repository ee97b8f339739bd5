target_sources(tessera_core PRIVATE
  src/sampling/candidates.cpp
  src/sampling/chain.cpp
  src/sampling/dry.cpp
  src/sampling/logprobs.cpp
  src/sampling/mirostat.cpp
  src/sampling/params.cpp
  src/sampling/sampler.cpp
  src/sampling/stages.cpp)

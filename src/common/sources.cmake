target_sources(tessera_core PRIVATE src/common/check.cpp)

target_sources(tessera_core PRIVATE
  src/runtime/kv_cache.cpp
  src/runtime/thread_pool.cpp
)

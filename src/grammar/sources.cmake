# Sources of the grammar module (appended by its owner).
target_sources(tessera_core PRIVATE
  src/grammar/gbnf_parser.cpp
  src/grammar/matcher.cpp)
target_sources(tessera_core PRIVATE src/grammar/token_mask.cpp)
target_sources(tessera_core PRIVATE src/sampling/grammar_constraint.cpp)
target_sources(tessera_core PRIVATE
  src/grammar/json_schema.cpp
  src/grammar/json_schema_numbers.cpp
  src/grammar/json_schema_regex.cpp
  src/grammar/random_walk.cpp)

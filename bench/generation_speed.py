"""Prompt processing (ppN) and generation (tgN) speed of Tessera against llama.cpp
(llama-cpp-python) on the same GGUF file, alternating the two over several rounds (the machine is
shared and noisy); prints medians and the ratios Tessera / llama.cpp.

usage: .venv-bench/bin/python bench/generation_speed.py [MODEL.gguf] [--rounds 5] [-p 512] [-n 128]
           [-t 2] [--bin build/bench/tessera_bench_forward]

Measured like llama-bench: ppN decodes one batch of N random tokens into an empty cache, tgN
decodes N single tokens one after another from an empty cache. Tessera's side is
bench/forward_bench.cpp (the forward pass alone, no sampling); llama.cpp's figures come from its
decode calls timed from Python (microseconds of overhead per call). Also prints peak RSS of
the Tessera process next to file size + KV cache size.
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def tessera(binary: Path, model: Path, n_prompt: int, n_gen: int, threads: int) -> tuple[float, float, int]:
    """(pp tok/s, tg tok/s, peak RSS bytes) of one fresh process."""
    proc = subprocess.Popen([binary, model, "-p", str(n_prompt), "-n", str(n_gen), "-t", str(threads), "-r", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS (KiB on Linux)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{binary} failed with status {proc.returncode}")
    row = json.loads(out.strip().splitlines()[-1])
    return row["pp"], row["tg"], usage.ru_maxrss * 1024


def llama_cpp(llm, n_prompt: int, n_gen: int, rng: random.Random) -> tuple[float, float]:
    """Wall time around llama.cpp's decode calls (Llama.eval reads the logits back, so each call
    has finished when it returns; Python adds microseconds per call)."""
    n_vocab = llm.n_vocab()
    pp = tg = 0.0
    if n_prompt:
        llm.reset()
        prompt = [rng.randrange(n_vocab) for _ in range(n_prompt)]
        t0 = time.perf_counter()
        llm.eval(prompt)
        pp = n_prompt / (time.perf_counter() - t0)
    if n_gen:
        llm.reset()
        tokens = [rng.randrange(n_vocab) for _ in range(n_gen)]
        t0 = time.perf_counter()
        for t in tokens:
            llm.eval([t])
        tg = n_gen / (time.perf_counter() - t0)
    return pp, tg


def kv_bytes(model: Path, n_ctx: int) -> int:
    """f16 K and V for n_ctx cells of every layer."""
    import gguf
    r = gguf.GGUFReader(model)
    arch = r.fields["general.architecture"].contents()
    get = lambda k, d=None: r.fields[f"{arch}.{k}"].contents() if f"{arch}.{k}" in r.fields else d
    n_embd, n_head = get("embedding_length"), get("attention.head_count")
    n_kv = get("attention.head_count_kv", n_head)
    dk = get("attention.key_length", n_embd // n_head)
    dv = get("attention.value_length", n_embd // n_head)
    return get("block_count") * n_ctx * n_kv * (dk + dv) * 2


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model", nargs="?", type=Path, default=REPO / "models" / "gemma-3-270m-q4_k_m.gguf")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("-p", type=int, default=512)
    parser.add_argument("-n", type=int, default=128)
    parser.add_argument("-t", type=int, default=2)
    parser.add_argument("--bin", type=Path, default=REPO / "build" / "bench" / "tessera_bench_forward")
    args = parser.parse_args()
    import llama_cpp as lc
    n_ctx = max(args.p, args.n) + 16
    llm = lc.Llama(model_path=str(args.model), n_ctx=n_ctx, n_batch=max(args.p, 1), n_ubatch=512,
                   n_threads=args.t, n_threads_batch=args.t, verbose=False)
    rng = random.Random(0)
    llama_cpp(llm, 8, 4, rng)  # warm-up: first-call allocations
    ours, theirs = [], []
    for _ in range(args.rounds):
        ours.append(tessera(args.bin, args.model, args.p, args.n, args.t))
        theirs.append(llama_cpp(llm, args.p, args.n, rng))
    med = lambda runs, i: statistics.median(r[i] for r in runs)
    print(f"model {args.model.name}, {args.t} threads, {args.rounds} alternating rounds (medians)")
    for name, runs in (("tessera", ours), ("llama.cpp", theirs)):
        print(f"{name:<10} pp{args.p} {med(runs, 0):8.1f} tok/s   tg{args.n} {med(runs, 1):7.2f} tok/s")
    pp_ratio = med(ours, 0) / med(theirs, 0) if args.p else 0
    tg_ratio = med(ours, 1) / med(theirs, 1) if args.n else 0
    print(f"ratio tessera/llama.cpp: pp{args.p} {pp_ratio:.2f}x   tg{args.n} {tg_ratio:.2f}x")
    size, kv = os.path.getsize(args.model), kv_bytes(args.model, n_ctx)
    print(f"tessera peak RSS {max(r[2] for r in ours) / 2**20:.0f} MiB; file {size / 2**20:.0f} MiB + "
          f"KV {kv / 2**20:.0f} MiB = {(size + kv) / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()

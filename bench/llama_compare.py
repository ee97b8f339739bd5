"""Side-by-side speed of Tessera and llama.cpp on the same GGUF files, same thread count, in
alternating rounds (the machine is shared and noisy, so only medians and ratios mean much).

usage: .venv-bench/bin/python bench/llama_compare.py [MODEL.gguf ...] [--rounds 3] [-t 2] [-p 512] [-n 128]
                                                    [--tessera build/tessera] [--json OUT.json]

Without MODEL arguments: the default model (models/gemma-3-270m-q4_k_m.gguf) and the 1B-class
Llama at TinyLlama's shape in Q4_K_M, Q4_0 and Q8_0 (models/perf-1b-*.gguf; missing files are
skipped with the commands that make them).

Both sides measure what llama-bench measures:
  * ppN: N random tokens (BOS first) decoded in one batch from an empty cache, logits for the last;
  * tgN: N tokens decoded one at a time from an empty cache.
Tessera runs `tessera bench -p N -n N -r 1 -o json` once per round (its own warm-up first);
llama.cpp (llama-cpp-python's low-level API, same n_threads for prompt and generation) keeps one
context and is warmed up once. Also printed: Tessera's achieved generation bandwidth (GB/s, from
`tessera bench`) and its peak RSS against file size + KV cache (the weights are memory-mapped, so
RSS should stay near that sum, not above it).
"""
import argparse
import ctypes
import json
import random
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import gguf

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MODELS = [REPO / "models" / "gemma-3-270m-q4_k_m.gguf"] + [
    REPO / "models" / f"perf-1b-{q}.gguf" for q in ("Q4_K_M", "Q4_0", "Q8_0")]
MAKE_1B = """make the 1B models with:
  .venv/bin/python ../shared/tools/synth_model.py /tmp/perf-1b-f16.gguf \\
      ../shared/testdata/vocab/ggml-vocab-llama-spm.gguf 2048 22 5632 32 4 f16
  for q in Q4_K_M Q4_0 Q8_0; do build/tessera quantize /tmp/perf-1b-f16.gguf models/perf-1b-$q.gguf $q; done"""


def kv_cache_bytes(model: Path, n_ctx: int) -> int:
    """F16 keys and values for n_ctx cells in every layer."""
    fields = gguf.GGUFReader(model).fields
    arch = bytes(fields["general.architecture"].parts[-1]).decode()
    get = lambda key, default=None: int(fields[key].parts[-1][0]) if key in fields else default  # noqa: E731
    n_embd, n_head = get(f"{arch}.embedding_length"), get(f"{arch}.attention.head_count")
    n_head_kv = get(f"{arch}.attention.head_count_kv", n_head)
    head_k = get(f"{arch}.attention.key_length", n_embd // n_head)
    head_v = get(f"{arch}.attention.value_length", n_embd // n_head)
    return get(f"{arch}.block_count") * n_ctx * n_head_kv * (head_k + head_v) * 2


def peak_rss_bytes(pid: int) -> int:
    """VmHWM (peak resident set) of a running process; 0 once it has exited."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_tessera(binary: Path, model: Path, n_prompt: int, n_gen: int, threads: int) -> dict:
    """One `tessera bench` run: {"pp": t/s, "tg": t/s, "gbps": GB/s, "rss": peak bytes}."""
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen([binary, "bench", "-m", model, "-p", str(n_prompt), "-n", str(n_gen),
                                 "-t", str(threads), "-r", "1", "-o", "json"], stdout=out, stderr=subprocess.PIPE)
        # VmHWM of the child's own address space: the child's rusage maxrss would also count this
        # Python process (with llama.cpp's model loaded), because Linux carries the pre-exec peak over.
        peak = 0
        while proc.poll() is None:
            peak = max(peak, peak_rss_bytes(proc.pid))
            time.sleep(0.02)
        err = proc.stderr.read().decode()
        proc.stderr.close()
        if proc.returncode != 0:
            raise RuntimeError(f"tessera bench failed: {err}")
        out.seek(0)
        rows = {row["test"]: row for row in json.loads(out.read())}
    return {"pp": rows[f"pp{n_prompt}"]["avg_ts"], "tg": rows[f"tg{n_gen}"]["avg_ts"],
            "gbps": rows[f"tg{n_gen}"]["avg_gbps"], "rss": peak}


class LlamaCpp:
    """llama.cpp through llama-cpp-python's low-level API, timed like llama-bench."""

    def __init__(self, model: Path, n_ctx: int, n_batch: int, threads: int):
        import llama_cpp as lc
        self.lc = lc
        self._quiet = lc.llama_log_callback(lambda level, text, user: None)  # kept alive: C holds it
        lc.llama_log_set(self._quiet, ctypes.c_void_p(0))
        lc.llama_backend_init()
        mparams = lc.llama_model_default_params()
        self.model = lc.llama_model_load_from_file(str(model).encode(), mparams)
        if not self.model:
            raise RuntimeError(f"llama.cpp cannot load {model}")
        cparams = lc.llama_context_default_params()
        cparams.n_ctx, cparams.n_batch, cparams.n_ubatch = n_ctx, n_batch, min(n_batch, 512)
        cparams.n_threads = cparams.n_threads_batch = threads
        self.ctx = lc.llama_init_from_model(self.model, cparams)
        vocab = lc.llama_model_get_vocab(self.model)
        self.n_vocab = lc.llama_vocab_n_tokens(vocab)
        self.bos = lc.llama_vocab_bos(vocab) if lc.llama_vocab_get_add_bos(vocab) else None
        self.rng = random.Random(1234)

    def _first(self):
        return self.bos if self.bos is not None else self.rng.randrange(self.n_vocab)

    def _decode(self, tokens: list[int]):
        arr = (self.lc.llama_token * len(tokens))(*tokens)
        if self.lc.llama_decode(self.ctx, self.lc.llama_batch_get_one(arr, len(tokens))) != 0:
            raise RuntimeError("llama_decode failed")

    def _clear(self):
        self.lc.llama_memory_clear(self.lc.llama_get_memory(self.ctx), False)

    def prompt(self, n: int) -> float:
        self._clear()
        tokens = [self._first()] + [self.rng.randrange(self.n_vocab) for _ in range(n - 1)]
        start = time.perf_counter()
        self._decode(tokens)
        self.lc.llama_synchronize(self.ctx)
        return n / (time.perf_counter() - start)

    def generate(self, n: int) -> float:
        self._clear()
        token = self._first()
        start = time.perf_counter()
        for _ in range(n):
            self._decode([token])
            self.lc.llama_synchronize(self.ctx)
            token = self.rng.randrange(self.n_vocab)
        return n / (time.perf_counter() - start)

    def close(self):
        self.lc.llama_free(self.ctx)
        self.lc.llama_model_free(self.model)


def compare(model: Path, args) -> dict:
    peer = LlamaCpp(model, args.p + args.n, args.p, args.t)
    peer.prompt(args.p)  # warm-up, as llama-bench does
    peer.generate(1)
    ours, theirs = [], []
    for r in range(args.rounds):
        # Alternate who goes first, so a burst of load from elsewhere hits both sides alike.
        order = ("tessera", "llama") if r % 2 == 0 else ("llama", "tessera")
        for side in order:
            if side == "tessera":
                ours.append(run_tessera(args.tessera, model, args.p, args.n, args.t))
            else:
                theirs.append({"pp": peer.prompt(args.p), "tg": peer.generate(args.n)})
        print(f"  round {r + 1}: tessera pp {ours[-1]['pp']:.1f} tg {ours[-1]['tg']:.1f} | "
              f"llama.cpp pp {theirs[-1]['pp']:.1f} tg {theirs[-1]['tg']:.1f} t/s", flush=True)
    peer.close()
    med = lambda runs, key: statistics.median(run[key] for run in runs)  # noqa: E731
    return {"model": model.name, "file_bytes": model.stat().st_size,
            "kv_bytes": kv_cache_bytes(model, args.p + args.n),
            "tessera": {k: med(ours, k) for k in ("pp", "tg", "gbps", "rss")},
            "llama.cpp": {k: med(theirs, k) for k in ("pp", "tg")}, "rounds": {"tessera": ours, "llama.cpp": theirs}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("-t", type=int, default=2, help="threads, both sides (default 2)")
    parser.add_argument("-p", type=int, default=512, help="prompt tokens (default 512)")
    parser.add_argument("-n", type=int, default=128, help="generated tokens (default 128)")
    parser.add_argument("--tessera", type=Path, default=REPO / "build" / "tessera")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    models = args.models or DEFAULT_MODELS
    results = []
    for model in models:
        if not model.exists():
            print(f"skipping {model}: not found\n{MAKE_1B}")
            continue
        print(f"{model.name}: {args.rounds} alternating rounds, {args.t} threads", flush=True)
        results.append(compare(model, args))
    pp, tg = f"pp{args.p}", f"tg{args.n}"
    print(f"\n| model | tessera {pp} | llama.cpp {pp} | ratio | tessera {tg} | llama.cpp {tg} | ratio "
          f"| tessera GB/s | peak RSS / (file + KV) |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in results:
        o, t = r["tessera"], r["llama.cpp"]
        print(f"| {r['model']} | {o['pp']:.1f} | {t['pp']:.1f} | {o['pp'] / t['pp']:.2f}x | {o['tg']:.1f} | "
              f"{t['tg']:.1f} | {o['tg'] / t['tg']:.2f}x | {o['gbps']:.2f} | "
              f"{o['rss'] / 2**20:.0f} / {(r['file_bytes'] + r['kv_bytes']) / 2**20:.0f} MiB |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

"""Prompt and generation speed of `tessera run` against llama.cpp (llama-cpp-python) on the same
model, alternating the two over several rounds (the machine is shared and noisy).

usage: .venv-bench/bin/python bench/generation_speed.py [MODEL.gguf] [--rounds 3] [-n 64] [-t 2]

Both run greedily from the same prompt. tessera's figures come from its stderr timings,
llama.cpp's from its own perf counters (llama_perf_context), so neither counts Python or start-up.
"""
import argparse
import re
import statistics
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROMPT = "Building a website can be done in 10 simple steps:"


def tessera(model: Path, n: int, threads: int) -> tuple[float, float]:
    out = subprocess.run([REPO / "build" / "tessera", "run", "-m", model, "-p", PROMPT, "-n", str(n),
                          "--temp", "0", "-t", str(threads)], capture_output=True, text=True, check=True)
    pp = float(re.search(r"prompt: .*\(([\d.]+) tokens/s\)", out.stderr).group(1))
    tg = float(re.search(r"generation: .*\(([\d.]+) tokens/s\)", out.stderr).group(1))
    return pp, tg


def llama_cpp(llm, n: int) -> tuple[float, float]:
    """llama.cpp's own perf counters (the Python sampling loop around it is not counted)."""
    import llama_cpp as lc
    llm.reset()
    lc.llama_perf_context_reset(llm.ctx)
    llm.create_completion(PROMPT, max_tokens=n, temperature=0.0, top_k=1)
    perf = lc.llama_perf_context(llm.ctx)
    return perf.n_p_eval / (perf.t_p_eval_ms / 1e3), perf.n_eval / (perf.t_eval_ms / 1e3)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model", nargs="?", type=Path, default=REPO / "models" / "gemma-3-270m-q4_k_m.gguf")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("-n", type=int, default=64)
    parser.add_argument("-t", type=int, default=2)
    args = parser.parse_args()
    import llama_cpp as lc
    llm = lc.Llama(model_path=str(args.model), n_ctx=512, n_threads=args.t, n_threads_batch=args.t, verbose=False)
    llama_cpp(llm, 4)  # warm-up: first-call allocations
    ours, theirs = [], []
    for _ in range(args.rounds):
        ours.append(tessera(args.model, args.n, args.t))
        theirs.append(llama_cpp(llm, args.n))
    for name, runs in (("tessera", ours), ("llama.cpp", theirs)):
        print(f"{name:<10} prompt {statistics.median(r[0] for r in runs):8.1f} tok/s   "
              f"generation {statistics.median(r[1] for r in runs):7.1f} tok/s")
    print(f"ratio tessera/llama.cpp: prompt {statistics.median(r[0] for r in ours) / statistics.median(r[0] for r in theirs):.2f}x, "
          f"generation {statistics.median(r[1] for r in ours) / statistics.median(r[1] for r in theirs):.2f}x")


if __name__ == "__main__":
    main()

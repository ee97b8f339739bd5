"""Perplexity of the same model on the same text from `tessera perplexity` and from llama.cpp
(llama-cpp-python's low-level API running llama-perplexity's procedure), which must agree
within 0.5%.

usage: .venv-bench/bin/python bench/perplexity_compare.py [MODEL.gguf] [-c 512] [--chunks N] [-t 2]
                                                        [--tessera build/tessera] [--text FILE]

The text (no internet needed): about 100 KB of English assembled from the license texts Debian
ships in /usr/share/common-licenses (GPL-3, Apache-2.0, MPL-2.0, GFDL-1.3, Artistic, CC0-1.0),
joined by blank lines, unless --text names a file.

The llama.cpp side follows llama-perplexity: the text (one trailing newline dropped) tokenized
with BOS and without parsing special tokens; non-overlapping chunks of n_ctx tokens from an empty
cache with the first token replaced by BOS; the logits at positions [n_ctx/2, n_ctx - 1) score the
next token (log-softmax in float64 here); PPL = exp(mean NLL). Exit status 1 when the two differ
by 0.5% or more.
"""
import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
LICENSES = ["GPL-3", "Apache-2.0", "MPL-2.0", "GFDL-1.3", "Artistic", "CC0-1.0"]
TOLERANCE = 0.005


def english_text() -> str:
    return "\n\n".join(Path("/usr/share/common-licenses", name).read_text() for name in LICENSES)


def tessera_perplexity(binary: Path, model: Path, text_file: Path, n_ctx: int, chunks: int, threads: int):
    r = subprocess.run([binary, "perplexity", "-m", model, "-f", text_file, "-c", str(n_ctx), "--chunks",
                        str(chunks), "-t", str(threads)], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"tessera perplexity failed:\n{r.stderr}")
    print(f"tessera:   {r.stdout.splitlines()[0]}")
    ppl, unc = map(float, re.search(r"Final estimate: PPL = ([\d.]+) \+/- ([\d.]+)", r.stdout).groups())
    speed = float(re.search(r"\(([\d.]+) tokens/s\)", r.stderr).group(1))
    n_tokens = int(re.search(r"perplexity: (\d+) tokens;", r.stderr).group(1))
    return ppl, unc, speed, n_tokens


def llama_cpp_perplexity(model: Path, text: str, n_ctx: int, chunks: int, threads: int):
    import ctypes
    import llama_cpp as lc
    quiet = lc.llama_log_callback(lambda level, message, user: None)
    lc.llama_log_set(quiet, ctypes.c_void_p(0))
    lc.llama_backend_init()
    mdl = lc.llama_model_load_from_file(str(model).encode(), lc.llama_model_default_params())
    cparams = lc.llama_context_default_params()
    cparams.n_ctx = cparams.n_batch = cparams.n_ubatch = n_ctx
    cparams.n_threads = cparams.n_threads_batch = threads
    ctx = lc.llama_init_from_model(mdl, cparams)
    vocab = lc.llama_model_get_vocab(mdl)
    n_vocab = lc.llama_vocab_n_tokens(vocab)
    data = text.encode()
    buf = (lc.llama_token * (len(data) + 16))()
    n = lc.llama_tokenize(vocab, data, len(data), buf, len(buf), True, False)
    tokens = list(buf[:n])
    bos = lc.llama_vocab_bos(vocab) if lc.llama_vocab_get_add_bos(vocab) else None
    n_chunk = len(tokens) // n_ctx if chunks < 0 else min(chunks, len(tokens) // n_ctx)
    first = n_ctx // 2
    batch = lc.llama_batch_init(n_ctx, 0, 1)
    nll, nll2, count = 0.0, 0.0, 0
    start_time = time.perf_counter()
    for i in range(n_chunk):
        start = i * n_ctx
        lc.llama_memory_clear(lc.llama_get_memory(ctx), True)
        batch.n_tokens = n_ctx
        for k in range(n_ctx):
            batch.token[k] = bos if k == 0 and bos is not None else tokens[start + k]
            batch.pos[k] = k
            batch.n_seq_id[k] = 1
            batch.seq_id[k][0] = 0
            batch.logits[k] = 1 if first <= k < n_ctx - 1 else 0
        if lc.llama_decode(ctx, batch) != 0:
            sys.exit("llama_decode failed")
        for k in range(first, n_ctx - 1):
            row = np.ctypeslib.as_array(lc.llama_get_logits_ith(ctx, k), shape=(n_vocab,)).astype(np.float64)
            v = row.max() + np.log(np.exp(row - row.max()).sum()) - row[tokens[start + k + 1]]
            nll, nll2, count = nll + v, nll2 + v * v, count + 1
        if i == 0:
            print("llama.cpp: ", end="")
        print(f"[{i + 1}]{np.exp(nll / count):.4f},", end="", flush=True)
    print()
    seconds = time.perf_counter() - start_time
    lc.llama_batch_free(batch)
    lc.llama_free(ctx)
    lc.llama_model_free(mdl)
    mean = nll / count
    ppl = float(np.exp(mean))
    return ppl, float(np.sqrt((nll2 / count - mean * mean) / (count - 1)) * ppl), n_chunk * n_ctx / seconds, len(tokens)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", type=Path, default=REPO / "models" / "gemma-3-270m-q4_k_m.gguf")
    parser.add_argument("-c", type=int, default=512)
    parser.add_argument("--chunks", type=int, default=-1, help="at most N chunks (default: all)")
    parser.add_argument("-t", type=int, default=2)
    parser.add_argument("--tessera", type=Path, default=REPO / "build" / "tessera")
    parser.add_argument("--text", type=Path, help="text file (default: the license texts, see above)")
    args = parser.parse_args()
    text = args.text.read_text() if args.text else english_text()
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
        f.write(text)
        f.flush()
        print(f"text: {len(text.encode())} bytes; model {args.model.name}; -c {args.c}; {args.t} threads")
        ours, our_unc, our_speed, our_tokens = tessera_perplexity(args.tessera, args.model, Path(f.name), args.c, args.chunks,
                                                      args.t)
    # llama.cpp's -f drops one trailing newline; do the same for its side.
    theirs, their_unc, their_speed, n_tokens = llama_cpp_perplexity(
        args.model, text[:-1] if text.endswith("\n") else text, args.c, args.chunks, args.t)
    diff = ours / theirs - 1
    print(f"tokens: tessera {our_tokens}, llama.cpp {n_tokens}")
    print(f"tessera    PPL = {ours:.4f} +/- {our_unc:.5f}   ({our_speed:.1f} tokens/s)")
    print(f"llama.cpp  PPL = {theirs:.4f} +/- {their_unc:.5f}   ({their_speed:.1f} tokens/s)")
    print(f"difference: {100 * diff:+.3f}% (limit ±{100 * TOLERANCE:.1f}%)")
    sys.exit(0 if abs(diff) < TOLERANCE else 1)


if __name__ == "__main__":
    main()

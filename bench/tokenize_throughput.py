"""Tokenization throughput (MB/s) of `tessera tokenize` on a large English and a large mixed-script
text, for a SentencePiece (SPM) and a byte-level BPE vocabulary, side by side with peers run on
the same machine: Hugging Face `tokenizers` (BPE; built from the same vocab and merges) and, if
it is installed, llama.cpp through llama-cpp-python (`Llama(vocab_only=True).tokenize`).

usage: .venv/bin/python bench/tokenize_throughput.py [--tessera build/tessera] [--mb 8] [--rounds 3]

tessera runs as a subprocess (`--stdin --ids --no-bos`); its time is the median CPU time (user +
sys) minus that of the same command on a one-byte text (process start and vocabulary load), so
the figure is tokenization plus printing the ids. Peers are timed in-process (CPU time) on the
same text. CPU time, not wall time, so that other load on the machine does not count. Ratios
(tessera / peer) matter, not absolute figures: these machines are shared and noisy.
"""
import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VOCAB_DIR = REPO.parent / "shared" / "testdata" / "vocab"


def english_text(size):
    sources = [REPO.parent / "shared" / "DESIGN.md", REPO / "README.md"]
    base = "\n\n".join(p.read_text(encoding="utf-8") for p in sources if p.exists())
    return (base * (size // max(1, len(base.encode())) + 1)).encode()[:size].decode("utf-8", "ignore")


def mixed_text(size):
    rng = random.Random(7)
    pools = ["the quick brown fox jumps over lazy dog", "Größe Bär läuft Ça va très été", "Привет мир как дела сегодня",
             "Γειά σου κόσμε καλημέρα", "你好世界我们今天学习中文", "こんにちはカタカナひらがな", "안녕하세요한국어세계",
             "مرحبا بالعالم كيف حالك", "नमस्ते दुनिया हिन्दी", "🦙🚀😁👍🏽", "0123456789 3.14 1,000"]
    words = [w for p in pools for w in (p.split() if " " in p else [p[i:i + 3] for i in range(0, len(p), 3)])]
    out, n = [], 0
    while n < size:
        w = rng.choice(words) + rng.choice([" ", " ", " ", "\n", ", ", ". "])
        out.append(w)
        n += len(w.encode())
    return "".join(out).encode()[:size].decode("utf-8", "ignore")


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_tessera(binary, vocab, data, rounds):
    def run(payload):
        before = children_cpu()
        r = subprocess.run([binary, "tokenize", "-m", vocab, "--stdin", "--ids", "--no-bos"], input=payload,
                           capture_output=True)
        if r.returncode != 0:
            sys.exit(r.stderr.decode())
        return children_cpu() - before, r.stdout
    base = statistics.median(run(b"x")[0] for _ in range(rounds))
    times, out = [], b""
    for _ in range(rounds):
        cpu, out = run(data)
        times.append(cpu)
    return max(1e-9, statistics.median(times) - base), len(json.loads(out))


def time_peer(fn, text, rounds):
    walls, n = [], 0
    for _ in range(rounds):
        start = time.process_time()
        n = len(fn(text))
        walls.append(time.process_time() - start)
    return statistics.median(walls), n


def hf_gpt2():
    from gguf import GGUFReader
    from tokenizers import Tokenizer, models, pre_tokenizers
    r = GGUFReader(VOCAB_DIR / "ggml-vocab-gpt-2.gguf")
    tokens = r.fields["tokenizer.ggml.tokens"].contents()
    merges = [tuple(m.split(" ", 1)) for m in r.fields["tokenizer.ggml.merges"].contents()]
    tok = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    return lambda text: tok.encode(text, add_special_tokens=False).ids


def llama_cpp_peer(vocab):
    try:
        from llama_cpp import Llama
    except ImportError:
        return None
    llm = Llama(model_path=str(vocab), vocab_only=True, verbose=False)
    return lambda text: llm.tokenize(text.encode(), add_bos=False, special=False)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tessera", default=str(REPO / "build" / "tessera"))
    parser.add_argument("--mb", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    size = int(args.mb * 1e6)
    texts = {"english": english_text(size), "mixed-script": mixed_text(size)}
    vocabs = {"SPM (llama-spm)": VOCAB_DIR / "ggml-vocab-llama-spm.gguf", "BPE (gpt-2)": VOCAB_DIR / "ggml-vocab-gpt-2.gguf"}
    gemma = REPO / "models" / "gemma-3-270m-q4_k_m.gguf"
    if gemma.exists():
        vocabs["SPM (gemma-3)"] = gemma
    print(f"{'vocab':<17} {'text':<13} {'tool':<18} {'MB/s':>8} {'tokens':>10} {'tessera/peer':>13}")
    for vname, vocab in vocabs.items():
        peers = {}
        if "gpt-2" in vname:
            peers["HF tokenizers"] = hf_gpt2()
        if (p := llama_cpp_peer(vocab)) is not None:
            peers["llama.cpp"] = p
        for tname, text in texts.items():
            data = text.encode()
            mb = len(data) / 1e6
            t, n = time_tessera(args.tessera, vocab, data, args.rounds)
            ours = mb / t
            print(f"{vname:<17} {tname:<13} {'tessera':<18} {ours:>8.2f} {n:>10}")
            for pname, fn in peers.items():
                pt, pn = time_peer(fn, text, args.rounds)
                print(f"{'':<17} {'':<13} {pname:<18} {mb / pt:>8.2f} {pn:>10} {ours / (mb / pt):>12.2f}x")
    if llama_cpp_peer(vocabs["SPM (llama-spm)"]) is None:
        print("llama-cpp-python is not installed: no llama.cpp column (pip install llama-cpp-python to add it)")


if __name__ == "__main__":
    main()

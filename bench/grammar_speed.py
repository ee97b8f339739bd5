#!/usr/bin/env python3
"""Grammar-constrained decoding cost: Tessera against llama.cpp's grammar sampler, side by side.

Part 1 (mask): for a JSON grammar and three JSON schemas, a valid JSON text is tokenized with the
default model's 262k vocabulary, and both engines walk the same token path: per token, the
full-vocabulary mask (Tessera: GrammarConstraint::apply over all candidates; llama.cpp:
llama_sampler_apply of its grammar sampler, through llama-cpp-python), then the advance
(accept). Tessera also reports its sample-first step (check the drawn token + accept), which is
what a step costs when the drawn token is allowed. Both engines get the same GBNF text (Tessera's
converter output for the schemas). Rounds alternate the engines; medians are printed with the
ratios llama.cpp / Tessera (> 1: Tessera is faster).

Part 2 (generation): tokens/s of `tessera run` with and without a grammar (--temp 0, -n N),
and llama.cpp's (llama-cpp-python, LlamaGrammar) the same way, as ratios.

usage: .venv-bench/bin/python bench/grammar_speed.py [--model M] [--rounds 3] [--bin build/tessera]
           [--bench-bin build/bench/tessera_bench_grammar] [-n 64] [--skip-generation]
"""
import argparse
import ctypes
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

SUMMARY_SCHEMA = {
    "$defs": {"QAPair": {"properties": {"question": {"title": "Question", "type": "string"},
                                        "answer": {"title": "Answer", "type": "string"}},
                         "required": ["question", "answer"], "title": "QAPair", "type": "object"}},
    "properties": {"key_facts": {"items": {"type": "string"}, "title": "Key Facts", "type": "array"},
                   "qa_pairs": {"items": {"$ref": "#/$defs/QAPair"}, "title": "Qa Pairs", "type": "array"}},
    "required": ["key_facts", "qa_pairs"], "title": "Summary", "type": "object"}

EVENT_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "kind": {"enum": ["meeting", "call", "deadline"]},
        "start": {"type": "string", "format": "date-time"},
        "attendees": {"type": "array", "items": {"type": "string", "format": "email"}, "maxItems": 5},
        "priority": {"type": "integer", "minimum": 1, "maximum": 5},
        "notes": {"type": "string", "maxLength": 200}},
    "required": ["id", "kind", "start", "priority"]}

CASES = [
    ("json.gbnf", None, {"name": "Ada Lovelace", "born": 1815, "fields": ["mathematics", "computing"],
                         "notes": {"famous_for": "the first published algorithm", "verified": True},
                         "children": 3, "ratio": 0.75}),
    ("summary", SUMMARY_SCHEMA, {"key_facts": ["The meeting moved to Tuesday.", "Budget approved at 40k."],
                                 "qa_pairs": [{"question": "When is the meeting?", "answer": "Tuesday at 10."},
                                              {"question": "Was the budget approved?", "answer": "Yes, 40k."}]}),
    ("vault-login", json.loads((SHARED / "testdata/jsonschemabench/Github_easy-o11798.json").read_text()),
     {"client_token": "s.x7Kq2", "policies": ["default", "admin"],
      "metadata": {"aws_region": "us-east-1", "username": "ada", "is_admin": "false", "groups": "dev",
                   "aws_iam_principal_arn": "arn:aws:iam::123:user/ada"},
      "lease_duration": 3600, "renewable": True}),
    ("event", EVENT_SCHEMA, {"id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "kind": "meeting",
                             "start": "2026-11-28T14:30:00Z", "attendees": ["ada@example.com", "bob@example.org"],
                             "priority": 2, "notes": "Bring the quarterly figures."}),
]


def grammar_text(binary, name, schema, tmp):
    if schema is None:
        return (SHARED / "testdata/grammars" / name).read_text()
    path = tmp / f"{name}.schema.json"
    path.write_text(json.dumps(schema))
    return subprocess.run([binary, "json-schema-to-grammar", path], capture_output=True, text=True, check=True).stdout


def llama_vocab(model_path):
    import llama_cpp
    llama_cpp.llama_backend_init()
    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    model = llama_cpp.llama_model_load_from_file(str(model_path).encode(), params)
    return model, llama_cpp.llama_model_get_vocab(model)


def llama_tokenize(vocab, text):
    import llama_cpp
    data = text.encode()
    buf = (llama_cpp.llama_token * (len(data) + 16))()
    n = llama_cpp.llama_tokenize(vocab, data, len(data), buf, len(buf), False, False)
    return list(buf[:n])


def llama_mask_run(vocab, gbnf, ids):
    """Per-token apply / accept microseconds of llama.cpp's grammar sampler."""
    import llama_cpp
    n_vocab = llama_cpp.llama_vocab_n_tokens(vocab)
    smpl = llama_cpp.llama_sampler_init_grammar(vocab, gbnf.encode(), b"root")
    if not smpl:
        raise RuntimeError("llama.cpp rejected the grammar")
    data = (llama_cpp.llama_token_data * n_vocab)()
    view = np.frombuffer(data, dtype=np.dtype([("id", "<i4"), ("logit", "<f4"), ("p", "<f4")]))
    ids_all = np.arange(n_vocab, dtype=np.int32)
    arr = llama_cpp.llama_token_data_array(data, n_vocab, -1, False)
    apply_us, accept_us = [], []
    for tok in ids:
        view["id"] = ids_all
        view["logit"] = 0.0
        arr.size, arr.selected, arr.sorted = n_vocab, -1, False
        t0 = time.perf_counter()
        llama_cpp.llama_sampler_apply(smpl, ctypes.byref(arr))
        t1 = time.perf_counter()
        if not np.isfinite(view["logit"][tok]):
            raise RuntimeError(f"llama.cpp rejected token {tok}")
        llama_cpp.llama_sampler_accept(smpl, tok)
        t2 = time.perf_counter()
        apply_us.append((t1 - t0) * 1e6)
        accept_us.append((t2 - t1) * 1e6)
    llama_cpp.llama_sampler_free(smpl)
    return apply_us, accept_us


def stats(values):
    v = sorted(values)
    return {"mean_us": statistics.fmean(v), "p99_us": v[min(len(v) - 1, int(0.99 * len(v)))]}


def mask_part(args, tmp):
    try:
        import jsonschema
    except ImportError:  # .venv-bench may lack it; the documents are checked by the tests anyway
        jsonschema = None
    model, vocab = llama_vocab(args.model)
    print(f"{'grammar':12} {'tokens':>6} | {'tessera bitmask':>15} {'tessera full mask':>22} {'sample-first':>12} |"
          f" {'llama.cpp full mask':>22} | ratio")
    print(f"{'':12} {'':>6} | {'cpu mean':>15} {'mean / p99 (cpu p99)':>22} {'mean':>12} | {'mean / p99':>22} | means")
    for name, schema, doc in CASES:
        if schema is not None and jsonschema is not None:
            jsonschema.validate(doc, schema)
        text = json.dumps(doc, ensure_ascii=False)
        gbnf = grammar_text(args.bin, name, schema, tmp)
        gpath, ipath = tmp / f"{name}.gbnf", tmp / f"{name}.ids.json"
        gpath.write_text(gbnf)
        ids = llama_tokenize(vocab, text)
        ipath.write_text(json.dumps(ids))
        ours, theirs = [], []
        for _ in range(args.rounds):
            r = subprocess.run([args.bench_bin, args.model, gpath, ipath], capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError(r.stderr)
            ours.append(json.loads(r.stdout))
            theirs.append(llama_mask_run(vocab, gbnf, ids))
        med = lambda xs: statistics.median(xs)
        b_cpu = med([o["bitmask_cpu"]["mean_us"] for o in ours])
        t_mean = med([o["mask"]["mean_us"] for o in ours])
        t_p99 = med([o["mask"]["p99_us"] for o in ours])
        t_cpu99 = med([o["mask_cpu"]["p99_us"] for o in ours])
        t_fast = med([o["sample_first_step"]["mean_us"] for o in ours])
        l_mean = med([stats(a)["mean_us"] for a, _ in theirs])
        l_p99 = med([stats(a)["p99_us"] for a, _ in theirs])
        print(f"{name:12} {len(ids):>6} | {b_cpu:>12.0f} us {t_mean:>7.0f} / {t_p99:>6.0f} ({t_cpu99:>5.0f}) us"
              f" {t_fast:>9.1f} us | {l_mean:>9.0f} / {l_p99:>7.0f} us | {l_mean / t_mean:>5.0f}x")
    print(f"(vocabulary {ours[-1]['n_vocab']} tokens, trie {ours[-1]['trie_nodes']} nodes, built in "
          f"{ours[-1]['vocab_build_ms']:.0f} ms once per model)")


def tessera_tps(binary, model, prompt, n, extra):
    r = subprocess.run([binary, "run", "-m", model, "-p", prompt, "-n", str(n), "--temp", "0", "-s", "1", "-t", "2",
                        "--no-display-prompt", *extra], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    m = re.search(r"generation: ([0-9]+) tokens in ([0-9.]+) s", r.stderr)
    if not m:
        raise RuntimeError(f"no generation timing in: {r.stderr[-500:]}")
    return float(m.group(1)) / float(m.group(2)), r.stdout


def generation_part(args, tmp):
    from llama_cpp import Llama, LlamaGrammar
    llm = Llama(model_path=str(args.model), n_ctx=1024, n_threads=2, verbose=False, seed=1)
    prompt = "Summarize as JSON: the meeting moved to Tuesday and the budget was approved."
    spath = tmp / "summary.schema.json"
    spath.write_text(json.dumps(SUMMARY_SCHEMA))
    gbnf = grammar_text(args.bin, "summary", SUMMARY_SCHEMA, tmp)
    grammar = LlamaGrammar.from_string(gbnf, verbose=False)
    rows = {"tessera": {"plain": [], "grammar": []}, "llama.cpp": {"plain": [], "grammar": []}}
    for _ in range(args.rounds):
        rows["tessera"]["plain"].append(tessera_tps(args.bin, args.model, prompt, args.n, ["--ignore-eos"])[0])
        rows["tessera"]["grammar"].append(tessera_tps(args.bin, args.model, prompt, args.n, ["-jf", str(spath)])[0])
        for kind, g in (("plain", None), ("grammar", grammar)):
            llm.reset()
            t0 = time.perf_counter()
            out = llm(prompt, max_tokens=args.n, temperature=0.0, grammar=g)
            dt = time.perf_counter() - t0
            rows["llama.cpp"][kind].append(out["usage"]["completion_tokens"] / dt)
    print("\ngeneration, tokens/s (median of rounds; Tessera: its 'generation:' timing line; llama.cpp:"
          " wall time of Llama.__call__, which includes prompt processing and llama-cpp-python's sampling)")
    for engine, r in rows.items():
        p, g = statistics.median(r["plain"]), statistics.median(r["grammar"])
        print(f"  {engine:10} without grammar {p:7.1f}   with grammar {g:7.1f}   with/without {g / p:5.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(REPO / "models" / "gemma-3-270m-q4_k_m.gguf"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--bin", default=os.environ.get("TESSERA_BIN", str(REPO / "build" / "tessera")))
    ap.add_argument("--bench-bin", default=str(REPO / "build" / "bench" / "tessera_bench_grammar"))
    ap.add_argument("-n", type=int, default=64)
    ap.add_argument("--skip-generation", action="store_true")
    ap.add_argument("--skip-mask", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        if not args.skip_mask:
            mask_part(args, Path(d))
        if not args.skip_generation:
            generation_part(args, Path(d))


if __name__ == "__main__":
    sys.exit(main())

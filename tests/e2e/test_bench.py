"""`tessera bench`: well-formed llama-bench-style results on a tiny model. Model size, parameter
count and bytes read per token are checked against gguf-py's reading of the file; the rates
against the raw samples. Speed itself is not asserted (that is what the benchmarks are for)."""
import json
import math
import re

import gguf
import numpy as np

from conftest import REPO, run_tessera

MODEL = REPO / "tests" / "fixtures" / "perplexity" / "tiny-llama-f32.gguf"


def bench_json(*args):
    r = run_tessera("bench", "-m", MODEL, "-o", "json", *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout), r


def model_facts():
    """(bytes of all tensors, parameters, bytes one token reads, layers, KV row bytes at f16)."""
    reader = gguf.GGUFReader(MODEL)
    size = sum(int(t.n_bytes) for t in reader.tensors)
    params = sum(int(t.n_elements) for t in reader.tensors)
    embd = next(t for t in reader.tensors if t.name == "token_embd.weight")
    n_vocab = int(embd.shape[1])  # gguf-py gives the ggml order: [n_embd, n_vocab]
    per_token = size - int(embd.n_bytes) + int(embd.n_bytes) // n_vocab  # one embedding row (output is untied)
    field = lambda key: int(reader.fields[key].parts[-1][0])  # noqa: E731
    n_layer = field("llama.block_count")
    kv_row = field("llama.attention.head_count_kv") * field("llama.attention.key_length") * 2  # f16
    return size, params, per_token, n_layer, kv_row


def test_json_results():
    rows, r = bench_json("-p", "16,32", "-n", "8", "-t", "1,2", "-r", "2")
    assert [(row["test"], row["n_threads"]) for row in rows] == [
        ("pp16", 1), ("pp32", 1), ("tg8", 1), ("pp16", 2), ("pp32", 2), ("tg8", 2)]
    size, params, per_token, n_layer, kv_row = model_facts()
    for row in rows:
        assert row["model_size"] == size and row["model_n_params"] == params
        assert row["model_type"].startswith("llama ") and row["model_type"].endswith(" F32")
        assert row["backends"] == "CPU" and row["type_k"] == "f16"
        assert len(row["samples_ns"]) == 2 and all(ns > 0 for ns in row["samples_ns"])
        n_tokens = row["n_prompt"] + row["n_gen"]
        assert np.allclose(row["samples_ts"], [1e9 * n_tokens / ns for ns in row["samples_ns"]])
        assert math.isclose(row["avg_ts"], np.mean(row["samples_ts"]), rel_tol=1e-9)
        assert math.isclose(row["stddev_ts"], np.std(row["samples_ts"], ddof=1), rel_tol=1e-6, abs_tol=1e-9)
        if row["n_gen"]:
            assert row["weight_bytes_per_token"] == per_token
            # Position p reads p + 1 cached keys and values in every layer; mean over p in [0, 8).
            kv = n_layer * 2 * kv_row * np.mean(np.arange(1, 9))
            assert math.isclose(row["kv_bytes_per_token"], kv)
            assert math.isclose(row["avg_gbps"], (per_token + kv) * row["avg_ts"] / 1e9, rel_tol=1e-9)
        else:
            assert "avg_gbps" not in row
    assert re.search(r"^load: [\d.]+ s$", r.stderr, re.M)


def test_markdown_table_like_llama_bench():
    r = run_tessera("bench", "-m", MODEL, "-p", "16", "-n", "4", "-r", "1", "-t", "1")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == ["model", "size", "params", "backend", "threads", "test", "t/s", "GB/s"]
    assert set(lines[1]) <= set("|-: ")
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:4]]
    assert [row[5] for row in rows] == ["pp16", "tg4"]
    assert all(row[3] == "CPU" and row[4] == "1" for row in rows)
    assert re.fullmatch(r"[\d.]+ ± [\d.]+", rows[0][6]) and rows[0][7] == ""
    assert re.fullmatch(r"[\d.]+", rows[1][7])
    assert rows[0][1].endswith(" MiB") and rows[0][2].endswith(" M")


def test_zero_skips_a_test():
    rows, _ = bench_json("-p", "0", "-n", "4", "-r", "1", "-t", "1")
    assert [row["test"] for row in rows] == ["tg4"]


def test_bad_usage():
    for args, message in ((["-o", "xml"], "'xml' is not md or json"), (["-p", "16,x"], "not a list of integers"),
                          (["-t", "0"], "not a list of integers >= 1"), (["-r", "0"], "must be >= 1")):
        r = run_tessera("bench", "-m", MODEL, *args)
        assert r.returncode == 2, args
        assert message in r.stderr, (args, r.stderr)
    r = run_tessera("bench", "-m", MODEL, "-ctk", "q9_9")
    assert r.returncode == 1 and "unknown KV cache type 'q9_9'" in r.stderr

"""`tessera perplexity` against an independent computation: transformers' float64 logits of a tiny
trained Llama put through llama-perplexity's procedure (tests/fixtures/perplexity/, made by
make_perplexity_fixture.py). With F32 weights and an F32 KV cache the figures agree to the
printed precision (tolerance: 1e-4 relative on PPL and the running values, 1e-3 relative on the
uncertainty); with the default F16 cache to 1e-3 relative."""
import json
import math
import re

import pytest

from conftest import REPO, run_tessera

FIXTURE = REPO / "tests" / "fixtures" / "perplexity"
MODEL = FIXTURE / "tiny-llama-f32.gguf"
TEXT = FIXTURE / "text.txt"
EXPECTED = json.loads((FIXTURE / "expected.json").read_text())


def perplexity(*args):
    r = run_tessera("perplexity", "-m", MODEL, "-f", TEXT, "-t", 2, *args)
    assert r.returncode == 0, r.stderr
    running = [float(v) for v in re.findall(r"\[\d+\]([\d.]+),", r.stdout)]
    final = re.search(r"Final estimate: PPL = ([\d.]+) \+/- ([\d.]+)", r.stdout)
    assert final, r.stdout
    return running, float(final.group(1)), float(final.group(2)), r


def close(a, b, rel):
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-4)


@pytest.mark.parametrize("n_ctx", [64, 32])
def test_matches_transformers_with_f32_cache(n_ctx):
    want = EXPECTED["by_ctx"][str(n_ctx)]
    running, ppl, unc, _ = perplexity("-c", n_ctx, "-ctk", "f32", "-ctv", "f32")
    assert len(running) == want["n_chunk"]
    for i, (got, exp) in enumerate(zip(running, want["running"])):
        assert close(got, exp, 1e-4), f"chunk {i + 1}: {got} vs {exp}"
    assert close(ppl, want["ppl"], 1e-4)
    assert math.isclose(unc, want["uncertainty"], rel_tol=1e-3, abs_tol=2e-5)


def test_default_f16_cache_close():
    want = EXPECTED["by_ctx"]["64"]
    _, ppl, _, _ = perplexity("-c", 64)
    assert math.isclose(ppl, want["ppl"], rel_tol=1e-3)


def test_chunks_limit_and_small_batches_give_the_same_running_values():
    want = EXPECTED["by_ctx"]["64"]
    # -b 16: each 64-token chunk in four decode calls, only the last two of them scored.
    running, ppl, _, _ = perplexity("-c", 64, "-b", 16, "--chunks", 5, "-ctk", "f32", "-ctv", "f32")
    assert len(running) == 5
    for got, exp in zip(running, want["running"][:5]):
        assert close(got, exp, 1e-4)
    assert close(ppl, want["running"][4], 1e-4)


def test_tokenization_is_the_character_rule():
    # The fixture's ids come from the vocabulary's rule (BOS, "▁" + text, one token per character);
    # -f drops the file's one trailing newline, as llama.cpp does.
    r = run_tessera("tokenize", "-m", MODEL, "-p", TEXT.read_text()[:-1], "--ids")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == EXPECTED["tokens"]


def test_output_streams_and_timings():
    _, _, _, r = perplexity("-c", 64, "--chunks", 2)
    assert r.stdout.startswith("[1]")
    assert "Final estimate" not in r.stderr and "[1]" not in r.stderr
    assert re.search(r"^load: [\d.]+ s$", r.stderr, re.M)
    assert re.search(r"128 tokens \(2 chunks of 64\) in [\d.]+ s \([\d.]+ tokens/s\)", r.stderr)


def test_text_too_short(tmp_path):
    short = tmp_path / "short.txt"
    short.write_text("Too short for two chunks.\n")
    r = run_tessera("perplexity", "-m", MODEL, "-f", short, "-c", 64)
    assert r.returncode == 1
    assert "tokenizes to only 27 tokens" in r.stderr and "needs at least 128" in r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize("args, message", [
    (["-f", TEXT, "-c", "2"], "-c 2 is too small"),
    (["-f", TEXT, "-c", "-5"], "bad value for -c"),
    ([], "a text file is needed (-f FILE)"),
    (["-f", TEXT, "--chunks", "x"], "bad value for --chunks"),
    (["-f", TEXT, "--chunk", "3"], "did you mean --chunks?"),
])
def test_bad_usage(args, message):
    r = run_tessera("perplexity", "-m", MODEL, *args)
    assert r.returncode == 2
    assert message in r.stderr


def test_missing_text_file_and_bad_model(tmp_path):
    r = run_tessera("perplexity", "-m", MODEL, "-f", tmp_path / "nope.txt")
    assert r.returncode == 1 and "cannot open text file" in r.stderr
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF\x03\x00\x00\x00")
    r = run_tessera("perplexity", "-m", bad, "-f", TEXT)
    assert r.returncode == 1 and "bad.gguf" in r.stderr

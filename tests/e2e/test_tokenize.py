"""`tessera tokenize`: the CLI surface, and the golden ids of every shared vocab through the CLI."""
import json
import re
import subprocess

import pytest

from conftest import REPO, SHARED, run_tessera, tessera_binary, tokenize_many

VOCAB_DIR = SHARED / "testdata" / "vocab"
VOCABS = sorted(p.name[len("ggml-vocab-"):-len(".gguf")] for p in VOCAB_DIR.glob("ggml-vocab-*.gguf"))
DEFAULT_MODEL = REPO / "models" / "gemma-3-270m-q4_k_m.gguf"
SEPARATOR = "\n__ggml_vocab_test__\n"
LINE = re.compile(r"^ *(\d+) -> '(.*)'$", re.S)


def vocab(name):
    return VOCAB_DIR / f"ggml-vocab-{name}.gguf"


def tokenize_bytes(*args, data: bytes):
    """Runs `tessera tokenize ARGS --stdin` with raw bytes on stdin."""
    return subprocess.run([str(tessera_binary()), "tokenize", *map(str, args), "--stdin"], input=data,
                          capture_output=True, timeout=120)


def golden_cases(name):
    texts = (VOCAB_DIR / f"ggml-vocab-{name}.gguf.inp").read_bytes().decode("utf-8").split(SEPARATOR)
    lines = (VOCAB_DIR / f"ggml-vocab-{name}.gguf.out").read_text(encoding="utf-8").split("\n")
    cases = []
    for i, text in enumerate(texts):
        line = lines[i].strip() if i < len(lines) else ""
        cases.append((text, [int(x) for x in line.split()] if line else []))
    return cases


def test_the_shared_vocabularies_are_here():
    assert {"bert-bge", "deepseek-llm", "falcon", "gpt-2", "llama-spm", "starcoder"} <= set(VOCABS)


@pytest.mark.parametrize("name", VOCABS)
def test_golden_ids_through_the_cli(name):
    cases = golden_cases(name)
    assert len(cases) > 10
    # One process per vocab: cases joined by a control token (parse_special cuts the text
    # there, so each case is tokenized on its own), ids split at that token.
    sep_text, sep_id = {
        "bert-bge": ("[SEP]", 102), "deepseek-llm": ("<｜end▁of▁sentence｜>", 100001), "falcon": ("<|endoftext|>", 11),
        "gpt-2": ("<|endoftext|>", 50256), "llama-spm": ("</s>", 2), "starcoder": ("<|endoftext|>", 0),
    }[name]
    if name == "llama-spm":
        # SentencePiece puts a space after every special token: run each case alone instead.
        for text, want in cases:
            r = tokenize_bytes("-m", vocab(name), "--ids", "--no-bos", data=text.encode())
            assert r.returncode == 0, r.stderr
            assert json.loads(r.stdout) == want, text
        return
    got = tokenize_many(vocab(name), [text for text, _ in cases], sep_text.encode(), sep_id, timeout=120)
    for (text, want), have in zip(cases, got):
        assert have == want, text


def test_ids_output_is_a_json_array():
    r = run_tessera("tokenize", "-m", vocab("llama-spm"), "-p", "Hello world", "--ids")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "[1, 15043, 3186]\n"


def test_default_output_is_one_line_per_token():
    r = run_tessera("tokenize", "-m", vocab("llama-spm"), "-p", "Hello world")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert [LINE.match(l).groups() for l in lines] == [("1", "<s>"), ("15043", " Hello"), ("3186", " world")]


def test_no_bos_and_show_count():
    r = run_tessera("tokenize", "-m", vocab("llama-spm"), "-p", "Hello world", "--ids", "--no-bos", "--show-count")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "[15043, 3186]\nTotal number of tokens: 2\n"


def test_file_stdin_and_prompt_agree(tmp_path):
    text = "Der Bär läuft — 🦙 'quoted' 12345\n\n  end"
    f = tmp_path / "text.txt"
    f.write_bytes(text.encode())
    outs = [
        run_tessera("tokenize", "-m", vocab("gpt-2"), "-p", text, "--ids").stdout,
        run_tessera("tokenize", "-m", vocab("gpt-2"), "-f", f, "--ids").stdout,
        tokenize_bytes("-m", vocab("gpt-2"), "--ids", data=text.encode()).stdout.decode(),
    ]
    assert outs[0] == outs[1] == outs[2]
    assert len(json.loads(outs[0])) > 5


def test_parse_special():
    text = "a<|endoftext|>b"
    special = json.loads(run_tessera("tokenize", "-m", vocab("gpt-2"), "-p", text, "--ids", "--parse-special").stdout)
    plain = json.loads(run_tessera("tokenize", "-m", vocab("gpt-2"), "-p", text, "--ids").stdout)
    assert special == [64, 50256, 65]  # 'a' and 'b' are ids 64 and 65 in GPT-2's vocabulary
    assert 50256 not in plain and len(plain) > 3


@pytest.mark.parametrize("name", VOCABS)
def test_invalid_utf8_never_crashes(name):
    data = b"ok \xff\xfe \xc3 \xe2\x82 \xed\xa0\x80 \xf4\x90\x80\x80 \xc0\x80 end\x00"
    r = tokenize_bytes("-m", vocab(name), "--ids", data=data)
    assert r.returncode == 0, r.stderr
    assert isinstance(json.loads(r.stdout), list)


def test_errors_and_usage():
    missing = run_tessera("tokenize", "-m", "/nonexistent/x.gguf", "-p", "hi")
    assert missing.returncode == 1 and "error:" in missing.stderr
    not_a_vocab = run_tessera("tokenize", "-m", REPO / "tests" / "fixtures" / "align64.gguf", "-p", "hi")
    assert not_a_vocab.returncode == 1 and "tokenizer.ggml.model" in not_a_vocab.stderr
    assert run_tessera("tokenize", "-m", vocab("gpt-2")).returncode == 2                  # no text
    assert run_tessera("tokenize", "-m", vocab("gpt-2"), "-p", "a", "--stdin").returncode == 2  # two texts
    assert run_tessera("tokenize", "-m", vocab("gpt-2"), "-p", "a", "--bogus").returncode == 2
    helped = run_tessera("tokenize", "--help")
    assert helped.returncode == 0 and "--parse-special" in helped.stdout


@pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="default model not installed (./setup.sh)")
def test_default_model_is_used_without_m():
    r = run_tessera("tokenize", "-p", "<start_of_turn>user\nHello<end_of_turn>", "--ids", "--parse-special")
    assert r.returncode == 0, r.stderr
    ids = json.loads(r.stdout)
    assert ids[0] == 2 and ids[1] == 105 and ids[-1] == 106  # <bos>, <start_of_turn> ... <end_of_turn>

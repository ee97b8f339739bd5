"""Random-text fuzzing of `tessera tokenize` against Hugging Face `tokenizers` (an independent
implementation) built from the same GGUF vocab and merges.

Each vocabulary gets thousands of random strings: mixed scripts, emoji (ZWJ sequences, skin
tones), whitespace runs (including U+0085, U+00A0, U+3000), digits of several scripts,
contractions, punctuation, and invalid UTF-8. All strings of a vocabulary go through one
`tessera` process, joined by a control token that --parse-special cuts at.

Pre-tokenizers: gpt-2, starcoder and falcon use the configurations of their original
tokenizer.json files (HF's own GPT-2 regex, digit and punctuation splitters); deepseek-llm uses
its published Split regexes. bert-bge uses HF's BertNormalizer + BertPreTokenizer + WordPiece.
Invalid UTF-8 is given to HF as llama.cpp sees it: each byte that Python's strict UTF-8 decoder
rejects becomes U+FFFD.
"""
import random

import pytest
from gguf import GGUFReader
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

from conftest import SHARED, tokenize_many

VOCAB_DIR = SHARED / "testdata" / "vocab"
N_STRINGS = 2000

DEEPSEEK_LLM_SPLITS = [
    "[\r\n]",
    "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-"
    "\u1f7dᾀ-ᾴᾶ-ᾼ\u1fbeῂ-ῄῆ-ῌῐ-\u1fd3ῖ-\u1fdbῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\u2126ℨ\u212a-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ"
    "𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
    "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
    "\\s+$",
    "[一-龥ࠀ-一가-퟿]+",
    "\\p{N}+",
]

# name -> (separator control token, its id)
SEPARATORS = {
    "gpt-2": ("<|endoftext|>", 50256),
    "starcoder": ("<|endoftext|>", 0),
    "falcon": ("<|endoftext|>", 11),
    "deepseek-llm": ("<｜end▁of▁sentence｜>", 100001),
    "bert-bge": ("[SEP]", 102),
}


def gguf_vocab(name):
    reader = GGUFReader(VOCAB_DIR / f"ggml-vocab-{name}.gguf")
    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    types = reader.fields["tokenizer.ggml.token_type"].contents()
    merges = reader.fields["tokenizer.ggml.merges"].contents() if "tokenizer.ggml.merges" in reader.fields else []
    return tokens, types, merges


def hf_byte_level(name):
    tokens, types, merges = gguf_vocab(name)
    model = models.BPE(vocab={t: i for i, t in enumerate(tokens)},
                       merges=[tuple(m.split(" ", 1)) for m in merges], fuse_unk=False)
    tok = Tokenizer(model)
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if name == "gpt-2":
        tok.pre_tokenizer = byte_level
    elif name == "starcoder":
        tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
    elif name == "falcon":
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Punctuation("contiguous"), byte_level, pre_tokenizers.Digits(individual_digits=False),
            pre_tokenizers.Split(Regex("[0-9][0-9][0-9]"), "isolated")])
    elif name == "deepseek-llm":
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Split(Regex(p), "isolated") for p in DEEPSEEK_LLM_SPLITS]
            + [pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    # Control tokens are special; user-defined ones are always matched in the raw text.
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t, ty in zip(tokens, types) if ty == 3])
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t, ty in zip(tokens, types) if ty == 4])
    return tok


def hf_wordpiece(name):
    tokens, _, _ = gguf_vocab(name)
    # The GGUF converter wrote "word" as "\u2581word" and "##piece" as "piece"; undo that.
    vocab = {}
    for i, t in enumerate(tokens):
        if t.startswith("\u2581"):
            vocab[t[1:]] = i
        elif t.startswith("[") and t.endswith("]"):
            vocab[t] = i
        else:
            vocab["##" + t] = i
    tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                                lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return tok


# Pools of characters for the random strings.
POOLS = [
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿÀÁÂÃÄÅÇÉÑÖÜßœŒ",
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЖЗИЙКЛМН",
    "αβγδεζηθικλμνξοπρστυφχψωΑΒΓΔΕΖΗΘάέήίόύώ",
    "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年你好世界中文字",
    "あいうえおかきくけこアイウエオカキクケコ",
    "가나다라마바사아자차카타파하한국어",
    "مرحبابالعالمكيفحالك",
    "नमस्तेदुनियाहिन्दी",
    "สวัสดีชาวโลก",
    "0123456789",
    "٠١٢٣٤٥٦٧٨٩०१२३४५६७८९",
    ".,;:!?()[]{}<>\"'`~@#$%^&*-_=+|\\/…—–«»„“”‘’¿¡§°·",
]
WHITESPACE = [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "\u00a0", "\u3000", "\u0085", "\u2028", "\u200b"]
EMOJI = ["🦙", "🚀", "😁", "👍🏽", "👨‍👩‍👧", "😶‍🌫️", "✅", "❤️", "🇩🇪", "🤖"]
WORDS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "don't", "Hello", " world", "    ", "1,234.56"]
INVALID = [b"\xff", b"\xfe", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\x80", b"\x80", b"\xf0\x9f"]


def random_bytes(rng: random.Random) -> bytes:
    parts = []
    for _ in range(rng.randint(1, 12)):
        kind = rng.random()
        if kind < 0.45:
            pool = rng.choice(POOLS)
            parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 8))).encode())
        elif kind < 0.65:
            parts.append(rng.choice(WHITESPACE).encode())
        elif kind < 0.75:
            parts.append(rng.choice(EMOJI).encode())
        elif kind < 0.9:
            parts.append(rng.choice(WORDS).encode())
        else:
            parts.append(rng.choice(INVALID))
    return b"".join(parts)


def as_reference_text(data: bytes) -> str:
    """Each byte that does not start a valid UTF-8 sequence becomes U+FFFD (llama.cpp's rule)."""
    out, i = [], 0
    while i < len(data):
        b = data[i]
        n = 1 if b < 0x80 else 2 if 0xC0 <= b < 0xE0 else 3 if 0xE0 <= b < 0xF0 else 4 if 0xF0 <= b < 0xF8 else 0
        if n and i + n <= len(data):
            try:
                out.append(data[i:i + n].decode("utf-8", errors="strict"))
                i += n
                continue
            except UnicodeDecodeError:
                pass
        out.append("\ufffd")
        i += 1
    return "".join(out)


def tessera_ids_per_string(name, strings):
    sep_text, sep_id = SEPARATORS[name]
    return tokenize_many(VOCAB_DIR / f"ggml-vocab-{name}.gguf", strings, sep_text.encode(), sep_id)


@pytest.mark.parametrize("name", sorted(SEPARATORS))
def test_random_text_matches_hugging_face(name):
    rng = random.Random(f"tessera-{name}")
    strings = [random_bytes(rng) for _ in range(N_STRINGS)]
    hf = hf_wordpiece(name) if name == "bert-bge" else hf_byte_level(name)
    ours = tessera_ids_per_string(name, strings)
    assert len(ours) == len(strings)
    mismatches = []
    for data, got in zip(strings, ours):
        want = hf.encode(as_reference_text(data), add_special_tokens=False).ids
        if got != want:
            mismatches.append((data, want, got))
    assert not mismatches, f"{len(mismatches)}/{len(strings)} differ; first: {mismatches[:3]}"

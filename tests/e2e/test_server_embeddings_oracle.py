"""Pooled `/v1/embeddings` against Hugging Face transformers: the tiny llama fixture
(tests/fixtures/forward/llama-f32.gguf, untied output matrix W [n_vocab=128, n_embd=32]) and the
logits transformers computed for its prompt (llama.expected.gguf). Logits are W · h for the
final-norm hidden state h, so numpy's least squares recovers each h from transformers' logits;
pooling and L2-normalising those is the expected embedding. The fixture has no tokenizer, so a
placeholder SentencePiece vocabulary is added (token-id input never uses it)."""
from pathlib import Path

import numpy as np
import pytest
from gguf import GGUFReader, GGUFValueType, GGUFWriter

from conftest import save_gguf, tessera_binary
from server_harness import Server

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "forward"


def with_vocab(src: Path, dst: Path) -> None:
    r = GGUFReader(src)
    w = GGUFWriter(str(dst), "llama")
    for name, field in r.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        vtype = field.types[0]
        if vtype == GGUFValueType.ARRAY:
            continue
        w.add_key_value(name, field.contents(), vtype)
    n_vocab = 128
    w.add_tokenizer_model("llama")
    w.add_token_list(["<unk>", "<s>", "</s>"] + [f"t{i}" for i in range(3, n_vocab)])
    w.add_token_scores([0.0] * n_vocab)
    w.add_token_types([2, 3, 3] + [1] * (n_vocab - 3))
    for t in r.tensors:
        w.add_tensor(t.name, np.array(t.data), raw_shape=list(reversed(t.shape.tolist())), raw_dtype=t.tensor_type)
    save_gguf(w)


def expected_hidden() -> tuple[list[int], np.ndarray]:
    ref = {t.name: np.array(t.data) for t in GGUFReader(FIXTURES / "llama.expected.gguf").tensors}
    model = {t.name: np.array(t.data) for t in GGUFReader(FIXTURES / "llama-f32.gguf").tensors}
    w = model["output.weight"].astype(np.float64)  # [n_vocab, n_embd]
    logits = ref["logits"].astype(np.float64)  # [n_tokens, n_vocab]
    hidden, *_ = np.linalg.lstsq(w, logits.T, rcond=None)  # [n_embd, n_tokens]
    assert np.abs(w @ hidden - logits.T).max() < 1e-3  # the logits do lie in W's column space
    return ref["tokens"].tolist(), hidden.T


@pytest.mark.parametrize("pooling", ["mean", "last"])
def test_pooled_embedding_matches_transformers_hidden_states(tmp_path, pooling):
    model = tmp_path / "llama-vocab.gguf"
    with_vocab(FIXTURES / "llama-f32.gguf", model)
    tokens, hidden = expected_hidden()
    want = hidden.mean(axis=0) if pooling == "mean" else hidden[-1]
    want /= np.linalg.norm(want)
    s = Server(tessera_binary(), "-m", model, "-c", "64", "--pooling", pooling, "-ctk", "f32", "-ctv", "f32",
               log_path=tmp_path / "serve.log")
    try:
        status, body = s.request("POST", "/v1/embeddings", {"input": tokens})
        assert status == 200, body
        got = np.array(body["data"][0]["embedding"])
        assert np.abs(got - want).max() < 1e-4
        assert body["usage"]["prompt_tokens"] == len(tokens)
    finally:
        assert s.stop() == 0, s.log()

"""`/v1/embeddings` of `tessera serve` through the official openai client (which asks for base64 by
default and decodes it) and raw HTTP. Oracles: the OpenAI protocol as the client parses it, numpy
norms and cosines, and the float and base64 encodings agreeing with each other."""
import base64

import numpy as np
import pytest

from conftest import tessera_binary
from server_harness import Server

N_EMBD = 640  # Gemma 3 270M's embedding_length


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tessera_binary(), "-c", "256", "-np", "2", log_path=tmp_path_factory.mktemp("embd") / "serve.log")
    yield s
    assert s.stop() == 0, s.log()


@pytest.fixture(scope="module")
def client(server):
    return server.openai_client(timeout=120)


def vectors(resp):
    return [np.array(d.embedding, dtype=np.float64) for d in sorted(resp.data, key=lambda d: d.index)]


def test_embedding_is_l2_normalised_and_deterministic(client):
    a = client.embeddings.create(model="m", input="The quick brown fox")
    b = client.embeddings.create(model="m", input="The quick brown fox")
    assert a.object == "list" and len(a.data) == 1 and a.data[0].object == "embedding" and a.data[0].index == 0
    va, vb = vectors(a)[0], vectors(b)[0]
    assert va.shape == (N_EMBD,) and np.all(np.isfinite(va))
    assert np.linalg.norm(va) == pytest.approx(1.0, abs=1e-5)
    assert np.array_equal(va, vb)
    assert a.usage.prompt_tokens == a.usage.total_tokens and a.usage.prompt_tokens >= 5  # BOS + 4 words


def test_batch_matches_single_and_texts_differ(client):
    texts = ["The quick brown fox", "A completely different sentence about tax law.", "The quick brown fox"]
    batch = vectors(client.embeddings.create(model="m", input=texts))
    alone = [vectors(client.embeddings.create(model="m", input=t))[0] for t in texts]
    assert len(batch) == 3
    for got, want in zip(batch, alone):
        assert np.array_equal(got, want)
    assert np.array_equal(batch[0], batch[2])
    cos = float(batch[0] @ batch[1])
    assert cos < 0.999 and not np.allclose(batch[0], batch[1], atol=1e-3)


def test_float_and_base64_encodings_agree(server):
    body = {"input": ["hello world", "bonjour"], "model": "m"}
    status, f = server.request("POST", "/v1/embeddings", {**body, "encoding_format": "float"})
    assert status == 200, f
    status, b = server.request("POST", "/v1/embeddings", {**body, "encoding_format": "base64"})
    assert status == 200, b
    for df, db in zip(f["data"], b["data"]):
        decoded = np.frombuffer(base64.b64decode(db["embedding"]), dtype="<f4")
        assert np.array_equal(decoded, np.array(df["embedding"], dtype=np.float32))
    assert f["usage"] == b["usage"] and f["model"] == b["model"]


def test_token_id_input_equals_text_input(server):
    status, tok = server.request("POST", "/tokenize", {"content": "hello world", "add_special": True})
    assert status == 200, tok
    status, by_text = server.request("POST", "/v1/embeddings", {"input": "hello world"})
    assert status == 200, by_text
    status, by_ids = server.request("POST", "/v1/embeddings", {"input": [tok["tokens"]]})
    assert status == 200, by_ids
    assert by_ids["data"][0]["embedding"] == by_text["data"][0]["embedding"]
    assert by_ids["usage"]["prompt_tokens"] == len(tok["tokens"])


@pytest.mark.parametrize("body, code", [
    ({"input": ""}, "empty_input"),
    ({"input": []}, "empty_input"),
    ({"input": ["ok", ""]}, "empty_input"),
    ({"input": 5}, "invalid_type"),
    ({"input": [1, -3]}, "invalid_value"),
    ({}, "missing"),
    ({"input": "x", "encoding_format": "int8"}, "invalid_value"),
    ({"input": "word " * 400}, "context_length_exceeded"),  # > 256 / 2 cells per slot
])
def test_bad_input_gets_openai_error(server, client, body, code):
    status, err = server.request("POST", "/v1/embeddings", body)
    assert status == 400, err
    assert err["error"]["code"] == code and err["error"]["type"] == "invalid_request_error"
    assert err["error"]["message"]
    # The server keeps serving.
    assert len(client.embeddings.create(model="m", input="still here").data) == 1


def test_embeddings_do_not_disturb_generation(server, client):
    req = {"prompt": "Once upon a time", "n_predict": 12, "temperature": 0, "cache_prompt": False}
    status, before = server.request("POST", "/completion", req)
    assert status == 200, before
    client.embeddings.create(model="m", input=["Once upon a time", "something else"])
    status, after = server.request("POST", "/completion", req)
    assert status == 200 and after["content"] == before["content"]

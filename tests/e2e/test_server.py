"""`tessera serve` through the official openai client and llama.cpp's native endpoints.

Oracles: greedy token ids and top logits that Hugging Face transformers computes for the default
model (tests/fixtures/forward/default_model.expected.gguf, see make_default_model_fixture.py),
jinja2 rendering llama.cpp's ChatML fallback template, and the OpenAI protocol as the openai
client parses it."""
import json
import math
import urllib.request
from pathlib import Path

import jinja2
import numpy as np
import pytest
from gguf import GGUFReader

from conftest import tessera_binary
from server_harness import Server

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "forward" / "default_model.expected.gguf"
# llama.cpp's template when a model has none (CHATML_TEMPLATE_SRC in common/chat.cpp).
CHATML = ("{%- for message in messages -%}{{- '<|im_start|>' + message.role + '\\n' + message.content + "
          "'<|im_end|>\\n' -}}{%- endfor -%}{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}"
          "{%- endif -%}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tessera_binary(), "-c", "2048", "-np", "4", "--metrics",
               log_path=tmp_path_factory.mktemp("server") / "serve.log")
    yield s
    assert s.stop() == 0, s.log()


@pytest.fixture(scope="module")
def client(server):
    return server.openai_client(timeout=120)


def expected(i):
    r = GGUFReader(FIXTURE)
    t = {x.name: np.array(x.data) for x in r.tensors}
    return t[f"prompt.{i}"].tolist(), t[f"greedy.{i}"].tolist(), t[f"margin.{i}"], t[f"top_ids.{i}"], t[f"top_logits.{i}"]


def confident_prefix(margins, min_margin=0.9):
    """How many leading greedy steps have a best-vs-second logit margin no quantization noise flips."""
    n = 0
    while n < len(margins) and margins[n] >= min_margin:
        n += 1
    return n


@pytest.mark.parametrize("i", [1, 3])
def test_greedy_tokens_match_transformers(server, i):
    prompt, greedy, margins, _, _ = expected(i)
    status, body = server.request("POST", "/completion", {"prompt": prompt, "n_predict": 8, "temperature": 0,
                                                          "n_probs": 1})
    assert status == 200, body
    ids = [p["id"] for p in body["completion_probabilities"]]
    n = confident_prefix(margins)
    assert n >= 3 and ids[:n] == greedy[:n]
    assert body["tokens_predicted"] == 8 and body["stop_type"] == "limit"
    status, detok = server.request("POST", "/detokenize", {"tokens": ids})
    assert status == 200 and detok["content"] == body["content"]
    # llama.cpp's "bytes" of each token: together, the generated text.
    assert b"".join(bytes(p["bytes"]) for p in body["completion_probabilities"]) == body["content"].encode()


def test_top_logprobs_match_transformers_logits(server, client):
    prompt, greedy, _, top_ids, top_logits = expected(1)
    status, body = server.request("POST", "/completion", {"prompt": prompt, "n_predict": 1, "temperature": 0,
                                                          "n_probs": 5, "cache_prompt": False})
    assert status == 200, body
    top = body["completion_probabilities"][0]["top_logprobs"]
    # The three best tokens are 1.5 and 2.5 logits apart in transformers: no quantization noise swaps them.
    assert [t["id"] for t in top[:3]] == top_ids[:3].tolist() and top[0]["id"] == greedy[0]
    # log-softmax differences are logit differences (the engine's Q8 activations move them a little).
    for k in range(1, 3):
        assert top[0]["logprob"] - top[k]["logprob"] == pytest.approx(float(top_logits[0] - top_logits[k]), abs=0.5)
    assert all(t["logprob"] <= 0 for t in top) and sum(math.exp(t["logprob"]) for t in top) <= 1.0 + 1e-6
    # The same through the OpenAI completions format (token pieces as keys). cache_prompt off in
    # both: the same seven-token batch (a cached prefix leaves a one-token decode, whose kernels round
    # differently).
    r = client.completions.create(model="x", prompt=prompt, max_tokens=1, temperature=0, logprobs=5,
                                  extra_body={"cache_prompt": False})
    lp = r.choices[0].logprobs
    assert lp.tokens == [top[0]["token"]] and lp.token_logprobs[0] == pytest.approx(top[0]["logprob"], abs=1e-4)
    assert lp.top_logprobs[0][top[1]["token"]] == pytest.approx(top[1]["logprob"], abs=1e-4)


def test_text_completion_stream_equals_non_stream(client):
    kwargs = dict(model="m", prompt="Monday, Tuesday, Wednesday,", max_tokens=10, temperature=0)
    full = client.completions.create(**kwargs)
    assert full.choices[0].finish_reason == "length" and full.usage.completion_tokens == 10
    chunks = list(client.completions.create(**kwargs, stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    assert text == full.choices[0].text
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].usage.completion_tokens == 10 and chunks[-1].usage.prompt_tokens == full.usage.prompt_tokens


def test_chat_completion_and_template(server, client):
    messages = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Name a colour."}]
    status, applied = server.request("POST", "/apply-template", {"messages": messages})
    assert status == 200
    assert applied["prompt"] == jinja2.Template(CHATML).render(messages=messages, add_generation_prompt=True)
    status, tok = server.request("POST", "/tokenize", {"content": applied["prompt"], "add_special": True})
    r = client.chat.completions.create(model="m", messages=messages, max_tokens=6, temperature=0)
    assert r.object == "chat.completion" and r.choices[0].message.role == "assistant"
    assert r.usage.prompt_tokens == len(tok["tokens"])
    assert r.usage.completion_tokens == 6 and r.choices[0].finish_reason == "length"
    stream = client.chat.completions.create(model="m", messages=messages, max_tokens=6, temperature=0, stream=True)
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == r.choices[0].message.content
    # Content-part arrays are the same message.
    parts = [messages[0], {"role": "user", "content": [{"type": "text", "text": "Name a "},
                                                       {"type": "text", "text": "colour."}]}]
    r2 = client.chat.completions.create(model="m", messages=parts, max_tokens=6, temperature=0)
    assert r2.choices[0].message.content == r.choices[0].message.content


def test_chat_logprobs(client):
    r = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "Hello"}], max_tokens=4,
                                       temperature=0, logprobs=True, top_logprobs=3)
    content = r.choices[0].logprobs.content
    assert len(content) == 4
    for t in content:
        assert len(t.top_logprobs) == 3 and t.logprob <= 0
        assert [a.logprob for a in t.top_logprobs] == sorted((a.logprob for a in t.top_logprobs), reverse=True)
        assert t.token == t.top_logprobs[0].token and t.logprob == pytest.approx(t.top_logprobs[0].logprob)
        assert bytes(t.bytes) == t.token.encode()


def test_n_choices_and_seed_reproducibility(client):
    kwargs = dict(model="m", prompt="Once upon a time", max_tokens=12, temperature=1.0)
    a = client.completions.create(**kwargs, seed=1234, n=3)
    b = client.completions.create(**kwargs, seed=1234, n=3)
    assert [c.index for c in a.choices] == [0, 1, 2]
    assert [c.text for c in a.choices] == [c.text for c in b.choices]
    assert len({c.text for c in a.choices}) > 1  # the choices are drawn independently
    assert a.usage.completion_tokens == 36
    c = client.completions.create(**kwargs, seed=99)
    d = client.completions.create(**kwargs, seed=99)
    assert c.choices[0].text == d.choices[0].text


def test_stop_sequences(client):
    base = client.completions.create(model="m", prompt="Monday, Tuesday, Wednesday,", max_tokens=10, temperature=0)
    text = base.choices[0].text
    stop = text[4:7]
    assert len(stop.strip()) > 0
    r = client.completions.create(model="m", prompt="Monday, Tuesday, Wednesday,", max_tokens=10, temperature=0,
                                  stop=[stop, "never-appears"])
    assert r.choices[0].finish_reason == "stop" and r.choices[0].text == text[:text.index(stop)]
    chunks = list(client.completions.create(model="m", prompt="Monday, Tuesday, Wednesday,", max_tokens=10,
                                            temperature=0, stop=stop, stream=True))
    assert "".join(c.choices[0].text for c in chunks) == r.choices[0].text


def test_prompt_prefix_reuse(client):
    prompt = "The capital of France is Paris. The capital of Italy is Rome. The capital of Spain is"
    first = client.completions.create(model="m", prompt=prompt, max_tokens=3, temperature=0)
    again = client.completions.create(model="m", prompt=prompt + " Madrid. The capital of Germany is",
                                      max_tokens=3, temperature=0)
    cached = again.usage.prompt_tokens_details.cached_tokens
    assert cached >= first.usage.prompt_tokens - 1
    assert again.model_extra["timings"]["prompt_n"] == again.usage.prompt_tokens - cached


def test_models_and_native_endpoints(server, client):
    models = client.models.list()
    assert [m.id for m in models.data] == ["gemma-3-270m-q4_k_m.gguf"]
    status, props = server.request("GET", "/props")
    assert status == 200 and props["total_slots"] == 4 and props["default_generation_settings"]["n_ctx"] == 512
    status, slots = server.request("GET", "/slots")
    assert status == 200 and [s["id"] for s in slots] == [0, 1, 2, 3]
    status, tok = server.request("POST", "/tokenize", {"content": "Hello world", "with_pieces": True})
    assert status == 200 and "".join(t["piece"] for t in tok["tokens"]) == "Hello world"
    status, detok = server.request("POST", "/detokenize", {"tokens": [t["id"] for t in tok["tokens"]]})
    assert detok["content"] == "Hello world"
    status, health = server.request("GET", "/health")
    assert status == 200 and health == {"status": "ok"}


def test_native_completion_stream(server):
    req = urllib.request.Request(server.url + "/completion", method="POST", headers={"Content-Type": "application/json"},
                                 data=json.dumps({"prompt": "Monday, Tuesday,", "n_predict": 5, "temperature": 0,
                                                  "stream": True}).encode())
    events = []
    with urllib.request.urlopen(req, timeout=60) as r:
        for line in r:
            if line.startswith(b"data: "):
                events.append(json.loads(line[6:]))
    assert events[-1]["stop"] is True and events[-1]["tokens_predicted"] == 5
    status, full = server.request("POST", "/completion", {"prompt": "Monday, Tuesday,", "n_predict": 5,
                                                          "temperature": 0})
    assert "".join(e["content"] for e in events) == full["content"]


def test_metrics(server, client):
    status, before = server.request("GET", "/metrics")
    assert status == 200
    client.completions.create(model="m", prompt="Hi", max_tokens=2, temperature=0)
    status, after = server.request("GET", "/metrics")

    def value(text, name):
        return float(next(l.split()[1] for l in text.splitlines() if l.startswith(name + " ")))
    assert value(after, "tessera_tokens_predicted_total") >= value(before, "tessera_tokens_predicted_total") + 2
    assert value(after, "tessera_requests_total") > value(before, "tessera_requests_total")
    assert value(after, "tessera_slots_total") == 4

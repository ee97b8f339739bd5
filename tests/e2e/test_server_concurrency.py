"""`tessera serve -np 4` under concurrent clients: continuous batching must not change any
client's result, all requests beyond the slots wait in the queue and complete, and a client
that disconnects mid-stream frees its slot at once."""
import threading
import time

import pytest

from conftest import tessera_binary
from server_harness import Server

PROMPTS = [f"{subject} is" for subject in [
    "The capital of France", "Monday, Tuesday, Wednesday", "The largest planet", "Water",
    "The quick brown fox", "A triangle", "The speed of light", "Python",
    "The first president of the United States", "Gold", "The Pacific Ocean", "Mount Everest",
    "The human heart", "A haiku", "The moon", "Photosynthesis"]]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tessera_binary(), "-c", "2048", "-np", "4", log_path=tmp_path_factory.mktemp("server") / "serve.log")
    yield s
    assert s.stop() == 0, s.log()


def client_for(server):
    return server.openai_client(timeout=300)


def generate(client, prompt, stream):
    """(generated token pieces, best-vs-second logprob margin at each step) of a greedy run."""
    # cache_prompt off: every run processes the whole prompt the same way, alone or batched.
    kwargs = dict(model="m", prompt=prompt, max_tokens=8, temperature=0, logprobs=2,
                  extra_body={"cache_prompt": False})
    if stream:
        chunks = [c.choices[0].logprobs for c in client.completions.create(**kwargs, stream=True)
                  if c.choices and c.choices[0].logprobs]
        tokens = [t for lp in chunks for t in lp.tokens]
        tops = [top for lp in chunks for top in lp.top_logprobs]
    else:
        lp = client.completions.create(**kwargs).choices[0].logprobs
        tokens, tops = lp.tokens, lp.top_logprobs
    margins = [(lambda v: v[0] - v[1] if len(v) > 1 else 99.0)(sorted(t.values(), reverse=True)) for t in tops]
    return tokens, margins


def test_sixteen_streaming_clients_match_serial_results(server):
    client = client_for(server)
    alone = [generate(client, p, stream=False) for p in PROMPTS]
    results = [None] * len(PROMPTS)
    max_busy = []

    def worker(i):
        results[i] = generate(client_for(server), PROMPTS[i], stream=True)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(PROMPTS))]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        status, slots = server.request("GET", "/slots")
        max_busy.append(sum(s["is_processing"] for s in slots))
        time.sleep(0.05)
    for t in threads:
        t.join()
    # A row's logits do not depend on what else is in its batch (one token alone and one of several
    # go through the same kernels), so every request gives exactly what it gives when served alone:
    # the same tokens and the same best-vs-second margins, even at near-ties.
    for (tokens, margins), (batched, batched_margins) in zip(alone, results):
        assert len(batched) == 8
        assert batched == tokens
        assert batched_margins == pytest.approx(margins, abs=1e-4)
    assert max(max_busy) <= 4 and max(max_busy) >= 2  # several slots really ran together


def test_disconnect_frees_the_slot(server):
    client = client_for(server)
    stream = client.completions.create(model="m", prompt="Once upon a time", max_tokens=400, temperature=0.8,
                                       stream=True)
    received = 0
    for _ in stream:
        received += 1
        if received == 3:
            break
    status, slots = server.request("GET", "/slots")
    assert any(s["is_processing"] for s in slots)
    stream.response.close()
    closed_at = time.time()
    while time.time() - closed_at < 1.0:
        status, slots = server.request("GET", "/slots")
        if not any(s["is_processing"] for s in slots):
            break
        time.sleep(0.02)
    assert not any(s["is_processing"] for s in slots), slots
    freed = [s for s in slots if s["n_decoded"] > 0]
    assert freed and max(s["n_decoded"] for s in freed) < 400
    # And the server carries on.
    assert len(generate(client, PROMPTS[0], stream=False)[0]) == 8


def test_long_prompt_is_processed_in_chunks_while_others_generate(tmp_path):
    """With -ub 16 a 400-token prompt takes many steps; a stream already generating in the other
    slot must keep producing tokens during them (its n_decoded grows while the long prompt's
    slot is part-way through its prompt)."""
    s = Server(tessera_binary(), "-c", "2048", "-np", "2", "-ub", "16", log_path=tmp_path / "serve.log")
    try:
        client = client_for(s)
        stream = client.completions.create(model="m", prompt="Once upon a time", max_tokens=200, temperature=0.8,
                                           stream=True)
        next(iter(stream))  # the first stream is generating
        long_prompt = " ".join(f"word{i}" for i in range(150))
        done = []
        t = threading.Thread(target=lambda: done.append(client.completions.create(
            model="m", prompt=long_prompt, max_tokens=1, extra_body={"cache_prompt": False})))
        t.start()
        overlaps = []  # (long slot's cached tokens, other slot's decoded tokens) while the long prompt is read
        while t.is_alive():
            status, slots = s.request("GET", "/slots")
            by_prompt = sorted(slots, key=lambda x: x["n_prompt_tokens"])
            short, long = by_prompt[0], by_prompt[1]
            if long["is_processing"] and 0 < long["n_cached"] < long["n_prompt_tokens"]:
                overlaps.append((long["n_cached"], short["n_decoded"]))
            time.sleep(0.01)
        t.join()
        stream.response.close()
        assert done and done[0].usage.prompt_tokens > 300
        # Several distinct chunk positions seen, and generation advanced between them.
        assert len({c for c, _ in overlaps}) >= 3, overlaps
        assert overlaps[-1][1] > overlaps[0][1], overlaps
    finally:
        assert s.stop() == 0, s.log()

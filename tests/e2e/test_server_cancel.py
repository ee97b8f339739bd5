"""A client that closes its connection while waiting for a NON-streaming answer cancels the
generation: its slot is idle again within a second, /metrics counts a cancelled generation (not a
completed one), and the server goes on serving. (Streaming disconnects: test_server_concurrency.)"""
import json
import re
import socket
import time

import pytest

from conftest import tessera_binary
from server_harness import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tessera_binary(), "-c", "4096", "-np", "2", "--metrics",
               log_path=tmp_path_factory.mktemp("server") / "serve.log")
    yield s
    assert s.stop() == 0, s.log()


def metric(server, name):
    status, text = server.request("GET", "/metrics")
    assert status == 200
    return float(re.search(rf"^tessera_{name} (\S+)$", text, flags=re.M).group(1))


def busy_slots(server):
    status, slots = server.request("GET", "/slots")
    assert status == 200
    return [s for s in slots if s["is_processing"]]


def send_raw(server, path, body):
    """A POST over a bare socket that nobody reads: the client can vanish at any moment."""
    data = json.dumps(body).encode()
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    return sock


def wait_until(predicate, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@pytest.mark.parametrize("path, body", [
    ("/v1/completions", {"prompt": "Once upon a time", "max_tokens": 1500, "temperature": 0.8, "seed": 1,
                         "ignore_eos": True}),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "Tell me a long story."}], "max_tokens": 1500,
                              "ignore_eos": True}),
    ("/completion", {"prompt": "Once upon a time", "n_predict": 1500, "ignore_eos": True, "n": 2}),
])
def test_non_streaming_disconnect_frees_the_slot(server, path, body):
    cancelled = metric(server, "generations_cancelled_total")
    completed = metric(server, "generations_completed_total")
    sock = send_raw(server, path, body)
    assert wait_until(lambda: any(s["n_decoded"] > 0 for s in busy_slots(server)), 30), "generation did not start"
    n_choices = body.get("n", 1)
    sock.close()
    closed_at = time.time()
    assert wait_until(lambda: not busy_slots(server), 1.0), busy_slots(server)
    assert time.time() - closed_at < 1.0
    assert max(s["n_decoded"] for s in server.request("GET", "/slots")[1]) < 1500
    assert wait_until(lambda: metric(server, "generations_cancelled_total") == cancelled + n_choices, 1.0)
    assert metric(server, "generations_completed_total") == completed
    # The server still answers, and a client that stays gets its whole answer.
    r = server.openai_client().completions.create(model="m", prompt="Monday, Tuesday,", max_tokens=6, temperature=0)
    assert r.choices[0].finish_reason in ("length", "stop") and r.usage.completion_tokens >= 1


def test_keep_alive_client_gets_every_answer(server):
    """Requests one after another on one kept-alive connection: each is watched on the same socket
    and none is taken for a disconnect."""
    body = json.dumps({"prompt": "Monday, Tuesday,", "max_tokens": 24, "temperature": 0, "ignore_eos": True}).encode()
    request = (f"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    cancelled = metric(server, "generations_cancelled_total")
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.settimeout(60)
        for _ in range(3):
            sock.sendall(request)
            received = b""
            while b'"completion_tokens":24' not in received:
                chunk = sock.recv(65536)
                assert chunk, received
                received += chunk
            assert received.startswith(b"HTTP/1.1 200")
    assert metric(server, "generations_cancelled_total") == cancelled


def test_embeddings_stop_between_inputs_when_the_client_leaves(server):
    """300 inputs take many seconds; a client that leaves after a moment ends the request at the
    next input (the access log shows it as 499), so the next embedding request does not wait."""
    sock = send_raw(server, "/v1/embeddings", {"input": ["word " * 20] * 300})
    time.sleep(0.3)
    sock.close()
    started = time.time()
    status, answer = server.request("POST", "/v1/embeddings", {"input": "hi"})
    assert status == 200 and len(answer["data"]) == 1
    assert time.time() - started < 5.0
    lines = [json.loads(l) for l in server.log().splitlines() if l.startswith('{"event":"request"')]
    gone = [l for l in lines if l["path"] == "/v1/embeddings" and l["request_bytes"] > 10000]
    assert len(gone) == 1 and gone[0]["status"] == 499, gone

"""`tessera serve` stays up whatever clients send: each bad request gets a 4xx OpenAI error object
({"error": {"message", "type", "code"}}) and the server keeps answering correctly. Also the
operational flags: --api-key, --queue-size, --max-body-bytes, --cors-origins, SIGTERM, and /health
while the model loads."""
import json
import subprocess
import threading
import time
import urllib.request

import jinja2
import openai
import pytest

from conftest import SHARED, tessera_binary
from server_harness import Server, free_port

KEY = "sk-test-0123456789"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tessera_binary(), "-c", "1024", "-np", "2", "--api-key", KEY, "--max-body-bytes", "65536",
               "--cors-origins", "https://ui.example", "--chat-template", "gemma",
               log_path=tmp_path_factory.mktemp("server") / "serve.log")
    yield s
    assert s.stop() == 0, s.log()


AUTH = {"Authorization": f"Bearer {KEY}"}
CHAT = "/v1/chat/completions"
GOOD_MESSAGES = [{"role": "user", "content": "Hi"}]

BAD_REQUESTS = [
    # (path, body: dict or raw bytes, expected status, field the message names)
    (CHAT, b'{"messages": [', 400, "JSON"),
    (CHAT, b'[1, 2]', 400, "object"),
    (CHAT, {"messages": "hello"}, 400, "messages"),
    (CHAT, {"messages": []}, 400, "messages"),
    (CHAT, {}, 400, "messages"),
    (CHAT, {"messages": [{"role": "wizard", "content": "x"}]}, 400, "wizard"),
    (CHAT, {"messages": [{"role": "user", "content": 42}]}, 400, "content"),
    (CHAT, {"messages": GOOD_MESSAGES, "temperature": "hot"}, 400, "temperature"),
    (CHAT, {"messages": GOOD_MESSAGES, "max_tokens": "ten"}, 400, "max_tokens"),
    (CHAT, {"messages": GOOD_MESSAGES, "max_tokens": -5}, 400, "max_tokens"),
    (CHAT, {"messages": GOOD_MESSAGES, "max_tokens": 10 ** 12}, 400, "max_tokens"),
    (CHAT, {"messages": GOOD_MESSAGES, "max_tokens": 100000}, 400, "context"),
    (CHAT, {"messages": GOOD_MESSAGES, "stop": [1, 2]}, 400, "stop"),
    (CHAT, {"messages": GOOD_MESSAGES, "stream": "yes"}, 400, "stream"),
    (CHAT, {"messages": GOOD_MESSAGES, "n": 0}, 400, "'n'"),
    (CHAT, {"messages": GOOD_MESSAGES, "logit_bias": {"abc": 1}}, 400, "logit_bias"),
    (CHAT, {"messages": GOOD_MESSAGES, "logit_bias": {"99999999": 1}}, 400, "vocabulary"),
    (CHAT, {"messages": GOOD_MESSAGES, "logit_bias": {"5": "high"}}, 400, "logit_bias"),
    (CHAT, {"messages": GOOD_MESSAGES, "logit_bias": [1, 2]}, 400, "logit_bias"),
    (CHAT, {"messages": [{"role": "user", "content": "word " * 2000}]}, 400, "context"),
    ("/v1/completions", {"prompt": [1, -3]}, 400, "vocabulary"),
    ("/v1/completions", {"prompt": {"a": 1}}, 400, "prompt"),
    ("/v1/completions", {"prompt": "x", "top_p": 7}, 400, "top_p"),
    ("/completion", {"prompt": "x", "n_predict": -2}, 400, "n_predict"),
    ("/detokenize", {"tokens": ["a"]}, 400, "tokens"),
    ("/tokenize", {"content": 5}, 400, "content"),
    ("/v1/nothing-here", {}, 404, "endpoint"),
]


def check_error(status, body, expected_status, word):
    assert status == expected_status, body
    assert isinstance(body, dict) and set(body) == {"error"}, body
    err = body["error"]
    assert isinstance(err["message"], str) and isinstance(err["type"], str) and "code" in err
    assert word.lower() in err["message"].lower(), err["message"]


@pytest.mark.parametrize("path,body,expected_status,word", BAD_REQUESTS)
def test_bad_input_is_a_4xx_error_object(server, path, body, expected_status, word):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    status, answer = server.request("POST", path, raw=raw, headers={**AUTH, "Content-Type": "application/json"})
    check_error(status, answer, expected_status, word)


def test_huge_body_is_413(server):
    raw = json.dumps({"messages": [{"role": "user", "content": "x" * 100000}]}).encode()
    status, answer = server.request("POST", CHAT, raw=raw, headers=AUTH)
    check_error(status, answer, 413, "size")


def test_api_key(server):
    with pytest.raises(openai.AuthenticationError) as e:
        openai.OpenAI(base_url=server.url + "/v1", api_key="sk-wrong", max_retries=0).models.list()
    assert e.value.status_code == 401 and e.value.body["code"] == "invalid_api_key"
    status, answer = server.request("GET", "/v1/models")
    check_error(status, answer, 401, "API key")
    status, answer = server.request("GET", "/v1/models", headers={"Authorization": f"Bearer {KEY}x"})
    assert status == 401
    assert server.request("GET", "/health")[0] == 200  # public


def test_server_still_correct_after_the_battery(server):
    client = server.openai_client(api_key=KEY, timeout=120)
    a = client.chat.completions.create(model="m", messages=GOOD_MESSAGES, max_tokens=5, temperature=0,
                                       extra_body={"cache_prompt": False})
    b = client.chat.completions.create(model="m", messages=GOOD_MESSAGES, max_tokens=5, temperature=0,
                                       extra_body={"cache_prompt": False})
    assert a.choices[0].message.content == b.choices[0].message.content and a.usage.completion_tokens >= 1
    status, slots = server.request("GET", "/slots", headers=AUTH)
    assert status == 200 and not any(s["is_processing"] for s in slots)


def test_gemma_template_matches_jinja2(server):
    template = (SHARED / "testdata" / "templates" / "google-gemma-2-2b-it.jinja").read_text()
    messages = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "Bye"}]
    status, answer = server.request("POST", "/apply-template", {"messages": messages}, headers=AUTH)
    assert status == 200
    expected = jinja2.Template(template).render(messages=messages, add_generation_prompt=True, bos_token="<bos>")
    assert "<bos>" + answer["prompt"] == expected


def test_cors_preflight(server):
    req = urllib.request.Request(server.url + CHAT, method="OPTIONS", headers={
        "Origin": "https://ui.example", "Access-Control-Request-Method": "POST"})
    with urllib.request.urlopen(req) as r:
        assert r.status == 204 and r.headers["Access-Control-Allow-Origin"] == "https://ui.example"
    status, _ = server.request("OPTIONS", CHAT, headers={"Origin": "https://evil.example"})
    assert status in (401, 404, 405)


def test_queue_full_is_503_and_sigterm_exits_cleanly(tmp_path):
    s = Server(tessera_binary(), "-c", "1024", "-np", "1", "--queue-size", "1", log_path=tmp_path / "serve.log")
    try:
        statuses = []

        def call():
            statuses.append(s.request("POST", "/v1/completions", {"prompt": "Once upon a time", "max_tokens": 24,
                                                                  "temperature": 0}))
        threads = [threading.Thread(target=call) for _ in range(4)]
        for t in threads:
            t.start()
            time.sleep(0.05)
        for t in threads:
            t.join()
        codes = sorted(st for st, _ in statuses)
        assert codes.count(200) >= 2 and 503 in codes, codes
        busy = next(body for st, body in statuses if st == 503)
        check_error(503, busy, 503, "queue is full")
    finally:
        assert s.stop() == 0, s.log()
    log = s.log()
    assert '"event": "shutdown"' in log and '"event": "stopped"' in log
    lines = [json.loads(l) for l in log.splitlines() if l.startswith('{"event":"request"')]
    assert len(lines) >= 4 and all({"method", "path", "status", "ms"} <= set(l) for l in lines)


def test_health_is_503_while_loading(tmp_path):
    s = Server(tessera_binary(), "-c", "1024", log_path=tmp_path / "serve.log", wait=False)
    try:
        seen = []
        deadline = time.time() + 60
        while time.time() < deadline and (not seen or seen[-1][0] != 200):
            try:
                seen.append(s.request("GET", "/health", timeout=5))
            except (ConnectionError, OSError):
                time.sleep(0.002)
        assert seen and seen[-1] == (200, {"status": "ok"})
        loading = [body for status, body in seen if status == 503]
        assert loading, "the model loaded before the first /health answer"
        check_error(503, loading[0], 503, "loading")
    finally:
        assert s.stop() == 0


@pytest.mark.parametrize("flags, word", [(["--pooling", "max"], "--pooling"), (["--pooling"], "--pooling"),
                                         (["-np", "0"], "-np")])
def test_bad_flag_is_one_line_and_exit_2_before_listening(flags, word):
    """A bad value is a usage error before anything starts: nothing listens on the port."""
    port = free_port()
    r = subprocess.run([str(tessera_binary()), "serve", "--port", str(port), *flags], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and word in lines[0] and "listening" not in r.stderr, r.stderr

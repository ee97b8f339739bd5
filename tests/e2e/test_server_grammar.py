"""Constrained output through `tessera serve`: GBNF `grammar`, llama.cpp's `json_schema` and
OpenAI's `response_format` (json_object / json_schema). Oracles: Python's json parser and the
jsonschema package validate what comes back; a regular expression checks the GBNF output. Also
the llama.cpp sampler fields the chain runs (mirostat, DRY, XTC, samplers order)."""
import json
import re

import jsonschema
import pytest

from conftest import tessera_binary
from server_harness import Server

SCHEMA = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 12},
                                            "age": {"type": "integer", "minimum": 0, "maximum": 120}},
          "required": ["name", "age"], "additionalProperties": False}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tessera_binary(), "-c", "2048", "-np", "2", log_path=tmp_path_factory.mktemp("server") / "serve.log")
    yield s
    assert s.stop() == 0, s.log()


@pytest.fixture(scope="module")
def client(server):
    return server.openai_client(timeout=300)


def test_gbnf_grammar(server):
    status, body = server.request("POST", "/completion", {
        "prompt": "The answer is", "n_predict": 32, "temperature": 1.0, "seed": 3,
        "grammar": 'root ::= ("yes" | "no") ", " [0-9]{2,3}'})
    assert status == 200, body
    assert re.fullmatch(r"(yes|no), [0-9]{2,3}", body["content"]), body["content"]
    assert body["stop_type"] == "eos"  # the grammar was complete: generation stopped there


def test_response_format_json_schema(client):
    r = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Describe a person as JSON."}], max_tokens=64,
        temperature=0.7, seed=5,
        response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": SCHEMA}})
    assert r.choices[0].finish_reason == "stop"
    jsonschema.validate(json.loads(r.choices[0].message.content), SCHEMA)


def test_response_format_json_object_and_native_json_schema(server, client):
    r = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "JSON please"}],
                                       max_tokens=48, temperature=0, response_format={"type": "json_object"})
    if r.choices[0].finish_reason == "stop":
        assert isinstance(json.loads(r.choices[0].message.content), dict)
    else:  # cut by max_tokens: still a prefix of an object
        assert r.choices[0].message.content.lstrip().startswith("{")
    status, body = server.request("POST", "/completion", {"prompt": "Person:", "n_predict": 64, "seed": 1,
                                                          "json_schema": SCHEMA})
    assert status == 200
    jsonschema.validate(json.loads(body["content"]), SCHEMA)


@pytest.mark.parametrize("fields,word", [
    ({"grammar": "root ::= undefined_rule"}, "undefined"),
    ({"grammar": 42}, "grammar"),
    ({"json_schema": {"type": "no-such-type"}}, "json_schema"),
    ({"response_format": {"type": "xml"}}, "response_format"),
    ({"samplers": ["top_k", "warp_drive"]}, "warp_drive"),
    ({"mirostat": 7}, "mirostat"),
])
def test_bad_grammar_or_sampler_fields(server, fields, word):
    status, body = server.request("POST", "/v1/completions", {"prompt": "x", "max_tokens": 4, **fields})
    assert status == 400 and word in body["error"]["message"], body


def test_llama_cpp_sampler_fields_run(client):
    for extra in [{"mirostat": 2, "mirostat_tau": 4.0}, {"dry_multiplier": 0.8}, {"xtc_probability": 0.5},
                  {"samplers": ["min_p", "temperature"], "typical_p": 0.9, "repeat_penalty": 1.3}]:
        runs = [client.completions.create(model="m", prompt="Once upon a time", max_tokens=8, seed=11,
                                          extra_body={**extra, "cache_prompt": False}).choices[0].text
                for _ in range(2)]
        assert runs[0] == runs[1] and runs[0]  # seeded: reproducible

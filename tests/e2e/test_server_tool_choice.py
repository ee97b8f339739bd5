"""`tool_choice` through `tessera serve`: "required" and a named function force a tool call, in the
wire format of the chat template (generic JSON for the default model's ChatML, Hermes <tool_call>,
Llama 3.x JSON, Mistral [TOOL_CALLS]), whose arguments validate against the tool's JSON schema
(the jsonschema package is the oracle); "none" offers no tools; bad values are 400 OpenAI errors."""
import json
import re

import jsonschema
import pytest

from conftest import SHARED, tessera_binary
from server_harness import Server

TEMPLATES = SHARED / "testdata" / "templates"
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather of a city",
    "parameters": {"type": "object",
                   "properties": {"city": {"type": "string", "minLength": 1, "maxLength": 24},
                                  "unit": {"enum": ["celsius", "fahrenheit"]}},
                   "required": ["city", "unit"]}}}
ADD = {"type": "function", "function": {
    "name": "add", "description": "Adds two integers",
    "parameters": {"type": "object",
                   "properties": {"a": {"type": "integer", "minimum": -1000, "maximum": 1000},
                                  "b": {"type": "integer", "minimum": -1000, "maximum": 1000}},
                   "required": ["a", "b"]}}}
# Local $refs inside a tool's parameters must keep pointing into that schema.
CONVERT = {"type": "function", "function": {
    "name": "convert", "description": "Converts a temperature",
    "parameters": {"$defs": {"unit": {"enum": ["C", "F", "K"]}},
                   "type": "object",
                   "properties": {"value": {"type": "integer", "minimum": -300, "maximum": 300},
                                  "from": {"$ref": "#/$defs/unit"}, "to": {"$ref": "#/$defs/unit"}},
                   "required": ["value", "from", "to"]}}}
TOOLS = [WEATHER, ADD, CONVERT]
SCHEMAS = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}
MESSAGES = [{"role": "user", "content": "What is the weather like in Paris today?"}]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tessera_binary(), "-c", "2048", "-np", "2", log_path=tmp_path_factory.mktemp("server") / "serve.log")
    yield s
    assert s.stop() == 0, s.log()


def check_calls(choice, names):
    """Every tool call names one of `names` and its arguments validate against that tool's schema."""
    assert choice.finish_reason == "tool_calls", choice
    calls = choice.message.tool_calls
    assert calls, choice
    for call in calls:
        assert call.type == "function" and call.function.name in names, call
        jsonschema.validate(json.loads(call.function.arguments), SCHEMAS[call.function.name])
    return calls


def test_required_forces_a_valid_call(server):
    client = server.openai_client()
    for seed in range(2):
        r = client.chat.completions.create(model="m", messages=MESSAGES, tools=TOOLS, tool_choice="required",
                                           max_tokens=120, temperature=0.9, seed=seed)
        [call] = check_calls(r.choices[0], set(SCHEMAS))
        assert r.choices[0].message.content is None


def test_named_function_is_the_one_called(server):
    client = server.openai_client()
    for name in SCHEMAS:
        r = client.chat.completions.create(model="m", messages=MESSAGES, tools=TOOLS, max_tokens=120, temperature=0,
                                           tool_choice={"type": "function", "function": {"name": name}})
        [call] = check_calls(r.choices[0], {name})


def test_parallel_tool_calls_and_streaming(server):
    """With parallel_tool_calls the model decides how many calls to make (the grammar's array is
    unbounded, so a draw may run out of tokens): among a few seeds, the finished replies are all
    valid calls, and streaming the seed with the most calls gives the same calls."""
    client = server.openai_client()
    finished = {}
    for seed in range(4):
        kwargs = dict(model="m", messages=MESSAGES, tools=[ADD], tool_choice="required", max_tokens=160,
                      temperature=0.9, seed=seed, parallel_tool_calls=True)
        r = client.chat.completions.create(**kwargs)
        if r.choices[0].finish_reason == "length":
            assert not r.choices[0].message.tool_calls
            continue
        finished[seed] = (kwargs, check_calls(r.choices[0], {"add"}))
    assert finished
    kwargs, calls = max(finished.values(), key=lambda v: len(v[1]))
    chunks = list(client.chat.completions.create(**kwargs, stream=True))
    streamed = [tc for c in chunks if c.choices and c.choices[0].delta.tool_calls for tc in c.choices[0].delta.tool_calls]
    assert [(t.index, t.function.name, t.function.arguments) for t in streamed] == \
        [(i, c.function.name, c.function.arguments) for i, c in enumerate(calls)]
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"


def test_none_offers_no_tools(server):
    status, with_none = server.request("POST", "/apply-template",
                                       {"messages": MESSAGES, "tools": TOOLS, "tool_choice": "none"})
    status2, with_tools = server.request("POST", "/apply-template", {"messages": MESSAGES, "tools": TOOLS})
    status3, without = server.request("POST", "/apply-template", {"messages": MESSAGES})
    assert status == status2 == status3 == 200
    assert with_none["prompt"] == without["prompt"] and "get_weather" not in with_none["prompt"]
    # ChatML does not render tools itself: they come in a system message, as llama.cpp's minja
    # adds them to templates without tool support.
    polyfill = "You can call any of the following tools to satisfy the user's requests: " + json.dumps(TOOLS, indent=2)
    assert with_tools["prompt"] == f"<|im_start|>system\n{polyfill}<|im_end|>\n" + without["prompt"]
    r = server.openai_client().chat.completions.create(model="m", messages=MESSAGES, tools=TOOLS, tool_choice="none",
                                                       max_tokens=8, temperature=0)
    assert r.choices[0].finish_reason in ("stop", "length") and not r.choices[0].message.tool_calls


@pytest.mark.parametrize("body, fragment", [
    ({"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "'nope'"),
    ({"tools": TOOLS, "tool_choice": "sometimes"}, "'sometimes'"),
    ({"tools": TOOLS, "tool_choice": 5}, "not an integer"),
    ({"tools": TOOLS, "tool_choice": {"type": "function"}}, "must be"),
    ({"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": 3}}}, "must be"),
    ({"tool_choice": "required"}, "offers no 'tools'"),
    ({"tools": TOOLS, "tool_choice": "required", "response_format": {"type": "json_object"}}, "cannot be combined"),
    ({"tools": TOOLS, "tool_choice": "required", "parallel_tool_calls": "yes"}, "parallel_tool_calls"),
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "not": {}}}}],
      "tool_choice": "required"}, "'not'"),
])
def test_bad_tool_choice_is_a_400(server, body, fragment):
    status, answer = server.request("POST", "/v1/chat/completions", {"messages": MESSAGES, "max_tokens": 4, **body})
    assert status == 400, answer
    error = answer["error"]
    assert error["type"] == "invalid_request_error" and fragment in error["message"], error
    assert error["param"] in ("tool_choice", "tools", "parallel_tool_calls")
    # The server goes on serving.
    assert server.request("GET", "/health")[0] == 200


def raw_calls(raw, fmt):
    """(name, arguments) of each call in the raw reply text, read by the wire format's own rules."""
    if fmt == "generic":
        value = json.loads(raw)
        calls = value["tool_calls"] if "tool_calls" in value else [value["tool_call"]]
        return [(c["name"], c["arguments"]) for c in calls]
    if fmt == "hermes":
        bodies = re.findall(r"<tool_call>\n?(.*?)\n?</tool_call>", raw, flags=re.S)
        assert re.fullmatch(r"<tool_call>\n?.*?\n?</tool_call>(\n<tool_call>\n?.*?\n?</tool_call>)*", raw, flags=re.S)
        return [(json.loads(b)["name"], json.loads(b)["arguments"]) for b in bodies]
    if fmt == "llama3":
        value = json.loads(raw)
        assert set(value) == {"name", "parameters"}
        return [(value["name"], value["parameters"])]
    assert fmt == "mistral" and raw.startswith("[TOOL_CALLS]")
    return [(c["name"], c["arguments"]) for c in json.loads(raw[len("[TOOL_CALLS]"):])]


@pytest.mark.parametrize("template, fmt", [
    (None, "generic"),
    ("NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja", "hermes"),
    ("meta-llama-Llama-3.2-3B-Instruct.jinja", "llama3"),
    ("mistralai-Mistral-Nemo-Instruct-2407.jinja", "mistral"),
])
def test_forced_call_uses_the_template_format(server, template, fmt, tmp_path):
    """The generated text (the tokens of `logprobs`) is a tool call in the template's own wire
    format, read here by that format's rules, and it is what comes back as tool_calls; the call
    then renders through the template for the next turn."""
    s = server if template is None else Server(tessera_binary(), "-c", "2048", "-np", "1", "--chat-template-file",
                                               TEMPLATES / template, log_path=tmp_path / "serve.log")
    try:
        client = s.openai_client()
        r = client.chat.completions.create(model="m", messages=MESSAGES, tools=TOOLS, max_tokens=150, temperature=0,
                                           logprobs=True,
                                           tool_choice={"type": "function", "function": {"name": "get_weather"}})
        choice = r.choices[0]
        [call] = check_calls(choice, {"get_weather"})
        raw = "".join(t.token for t in choice.logprobs.content)
        assert raw_calls(raw, fmt) == [(call.function.name, json.loads(call.function.arguments))], raw
        if fmt == "mistral":  # its template needs 9-character ids on the next turn
            assert len(call.id) == 9 and call.id.isalnum()
        follow_up = MESSAGES + [choice.message.model_dump(exclude_none=True),
                                {"role": "tool", "tool_call_id": call.id, "name": "get_weather", "content": "sunny"}]
        status, answer = s.request("POST", "/apply-template", {"messages": follow_up, "tools": TOOLS})
        assert status == 200, answer
        assert call.function.name in answer["prompt"] and "sunny" in answer["prompt"]
    finally:
        if s is not server:
            assert s.stop() == 0, s.log()

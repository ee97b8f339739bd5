"""Tool calls through `tessera serve` with a real tool-use template (Hermes 3, from
../shared/testdata/templates): tools and tool results are rendered as transformers renders the
template (jinja2 with transformers' settings is the oracle), the model's <tool_call> output comes
back as OpenAI `tool_calls` with finish_reason "tool_calls", streaming or not, and the client can
send the call and its result back for the next turn."""
import json

import jinja2
import jinja2.sandbox
import pytest

from conftest import SHARED, tessera_binary
from server_harness import Server

TEMPLATE = SHARED / "testdata" / "templates" / "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja"
TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather of a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


def few_shot(question_city):
    """Earlier turns that show the model the call format (a 270M base model copies it)."""
    msgs = []
    for city in ["Paris", "Rome", "Berlin", "Madrid"]:
        msgs += [{"role": "user", "content": f"What is the weather in {city}?"},
                 {"role": "assistant", "content": None, "tool_calls": [{
                     "id": f"call_{city}", "type": "function",
                     "function": {"name": "get_weather", "arguments": json.dumps({"city": city})}}]},
                 {"role": "tool", "tool_call_id": f"call_{city}", "content": "sunny"},
                 {"role": "assistant", "content": f"It is sunny in {city}."}]
    return msgs + [{"role": "user", "content": f"What is the weather in {question_city}?"}]


def transformers_render(messages, tools):
    """The template rendered as transformers' apply_chat_template does."""
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                                       extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = lambda x, ensure_ascii=False, indent=None, separators=None, sort_keys=False: json.dumps(
        x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
    env.globals["raise_exception"] = lambda message: (_ for _ in ()).throw(jinja2.TemplateError(message))
    text = env.from_string(TEMPLATE.read_text()).render(messages=messages, tools=tools, add_generation_prompt=True,
                                                        bos_token="<bos>", eos_token="<eos>")
    return text.removeprefix("<bos>")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tessera_binary(), "-c", "4096", "-np", "1", "--chat-template-file", TEMPLATE,
               log_path=tmp_path_factory.mktemp("server") / "serve.log")
    yield s
    assert s.stop() == 0, s.log()


@pytest.fixture(scope="module")
def client(server):
    return server.openai_client(timeout=300)


def test_tools_render_as_transformers_does(server):
    messages = few_shot("Lisbon")
    status, answer = server.request("POST", "/apply-template", {"messages": messages, "tools": TOOLS})
    assert status == 200, answer
    assert answer["prompt"] == transformers_render(messages, TOOLS)
    assert "get_weather" in answer["prompt"] and "<tool_response>" in answer["prompt"]


def test_tool_call_round_trip(server, client):
    messages = few_shot("Lisbon")
    r = client.chat.completions.create(model="m", messages=messages, tools=TOOLS, max_tokens=40, temperature=0,
                                       stop=["<|im_end|>"])
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls", choice
    [call] = choice.message.tool_calls
    assert call.type == "function" and call.function.name == "get_weather"
    assert set(json.loads(call.function.arguments)) == {"city"}
    # Streaming gives the same call.
    chunks = list(client.chat.completions.create(model="m", messages=messages, tools=TOOLS, max_tokens=40,
                                                 temperature=0, stop=["<|im_end|>"], stream=True))
    streamed = [tc for c in chunks if c.choices and c.choices[0].delta.tool_calls for tc in c.choices[0].delta.tool_calls]
    assert [(t.function.name, t.function.arguments) for t in streamed] == [("get_weather", call.function.arguments)]
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    # The client runs the tool and sends the call and its result back.
    follow_up = messages + [choice.message.model_dump(exclude_none=True),
                            {"role": "tool", "tool_call_id": call.id, "content": "rainy, 14 C"}]
    status, answer = server.request("POST", "/apply-template", {"messages": follow_up, "tools": TOOLS})
    assert status == 200 and answer["prompt"] == transformers_render(follow_up, TOOLS)
    assert "rainy, 14 C" in answer["prompt"]
    r2 = client.chat.completions.create(model="m", messages=follow_up, tools=TOOLS, max_tokens=8, temperature=0)
    assert r2.usage.prompt_tokens_details.cached_tokens > 0  # the earlier turns came from the slot's cache
    assert r2.choices[0].finish_reason in ("length", "stop", "tool_calls")

"""Conversations for the chat-template tests: OpenAI-shaped messages covering system prompts,
multi-turn chats, tool calls (arguments as objects and as JSON strings), tool results, content
given as a list of parts, and reasoning content."""

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}
SEARCH_TOOL = {
    "type": "function",
    "function": {
        "name": "web_search",
        "description": "Search the web — returns the top results",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
                       "required": ["query"]},
    },
}
TOOLS = [WEATHER_TOOL, SEARCH_TOOL]

SYSTEM_USER = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of France?"},
]
USER_ONLY = [{"role": "user", "content": "Héllo 👋, write \"a poem\" about {braces} & 'quotes'.\nTwo lines."}]
MULTI_TURN = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi!"},
    {"role": "assistant", "content": "Hello! How can I help?"},
    {"role": "user", "content": "Count to 3."},
    {"role": "assistant", "content": "1, 2, 3."},
    {"role": "user", "content": "Thanks"},
]
TOOL_CALL_OBJECT = [
    {"role": "system", "content": "You can call tools."},
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": "", "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}}]},
    {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": "{\"temperature\": 21.5, \"sky\": \"clear\"}"},
    {"role": "assistant", "content": "It is 21.5 °C and clear in Paris."},
    {"role": "user", "content": "And in Rome?"},
]
TOOL_CALL_STRING = [
    {"role": "user", "content": "Search for llama.cpp and the weather in Oslo"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_a", "type": "function", "function": {"name": "web_search", "arguments": "{\"query\": \"llama.cpp\", \"limit\": 3}"}},
        {"id": "call_b", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Oslo\"}"}}]},
    {"role": "tool", "tool_call_id": "call_a", "content": "llama.cpp is a C/C++ LLM inference engine."},
    {"role": "tool", "tool_call_id": "call_b", "content": "-3 degrees, snow"},
]
CONTENT_PARTS = [
    {"role": "system", "content": [{"type": "text", "text": "You describe things."}]},
    {"role": "user", "content": [{"type": "text", "text": "Part one."}, {"type": "text", "text": "Part two."}]},
]
REASONING = [
    {"role": "user", "content": "What is 2+2?"},
    {"role": "assistant", "content": "4", "reasoning_content": "2 plus 2 equals 4."},
    {"role": "user", "content": "And 3+3?"},
]

# (name, messages, tools, kwargs)
CASES = [
    ("system_user", SYSTEM_USER, None, None),
    ("user_only", USER_ONLY, None, None),
    ("multi_turn", MULTI_TURN, None, None),
    ("tool_call_object", TOOL_CALL_OBJECT, TOOLS, None),
    ("tool_call_string", TOOL_CALL_STRING, TOOLS, None),
    ("tools_given", SYSTEM_USER, TOOLS, None),
    ("content_parts", CONTENT_PARTS, None, None),
    ("reasoning_thinking_on", REASONING, None, {"enable_thinking": True}),
    ("reasoning_thinking_off", REASONING, None, {"enable_thinking": False}),
]

"""`tessera template` renders every real chat template in ../shared/testdata/templates byte-for-byte
like Python jinja2 with Hugging Face's environment (tests/e2e/chat_oracle.py), for conversations
with system prompts, several turns, tool calls and results, tools, content parts and thinking
kwargs, with and without the generation prompt. When jinja2 raises, tessera must fail too."""
import json
import subprocess

import pytest

from chat_conversations import CASES
from chat_snippets import KWARGS as SNIPPET_KWARGS, SNIPPETS
from chat_oracle import render
from conftest import SHARED, tessera_binary

TEMPLATES = sorted((SHARED / "testdata" / "templates").glob("*.jinja"))
BOS, EOS = "<s>", "</s>"


def tessera_render(tmp_path, template_path, messages, tools, add_generation_prompt, kwargs):
    messages_file = tmp_path / "messages.json"
    messages_file.write_text(json.dumps(messages))
    cmd = [str(tessera_binary()), "template", "--template-file", str(template_path), "--messages", str(messages_file),
           "--bos", BOS, "--eos", EOS]
    if tools is not None:
        tools_file = tmp_path / "tools.json"
        tools_file.write_text(json.dumps(tools))
        cmd += ["--tools", str(tools_file)]
    if add_generation_prompt:
        cmd.append("--add-generation-prompt")
    if kwargs:
        cmd += ["--kwargs", json.dumps(kwargs)]
    return subprocess.run(cmd, capture_output=True, timeout=30)


def check_template(tmp_path, template_path):
    source = template_path.read_text()
    failures = []
    for name, messages, tools, kwargs in CASES:
        for add_generation_prompt in (False, True):
            expected, error = render(source, messages, tools, add_generation_prompt, BOS, EOS, kwargs)
            r = tessera_render(tmp_path, template_path, messages, tools, add_generation_prompt, kwargs)
            label = f"{name} add_generation_prompt={add_generation_prompt}"
            if error is not None:
                if r.returncode != 1 or not r.stderr:
                    failures.append(f"{label}: jinja2 raised ({error}) but tessera exited {r.returncode}")
                continue
            if r.returncode != 0:
                failures.append(f"{label}: tessera failed: {r.stderr.decode(errors='replace')}")
            elif r.stdout.decode() != expected:
                failures.append(f"{label}: output differs\n--- jinja2:\n{expected!r}\n--- tessera:\n{r.stdout.decode()!r}")
    return failures


@pytest.mark.parametrize("template_path", TEMPLATES, ids=lambda p: p.stem)
def test_template_matches_jinja2(tmp_path, template_path):
    failures = check_template(tmp_path, template_path)
    assert not failures, "\n".join(failures)


def test_every_template_renders_somewhere():
    """Guards against a trivially passing suite: most templates must render without error."""
    ok = 0
    for t in TEMPLATES:
        expected, error = render(t.read_text(), CASES[0][1], None, True, BOS, EOS, None)
        ok += error is None
    assert len(TEMPLATES) >= 40 and ok >= len(TEMPLATES) * 3 // 4


SNIPPET_MESSAGES = [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "yo"}, {"role": "user", "content": "bye"}]


@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_snippet_matches_jinja2(tmp_path, index):
    """One Jinja feature per template (tests/e2e/chat_snippets.py): statements, expressions,
    filters, tests, methods, whitespace control, undefined handling and the error cases."""
    source = SNIPPETS[index]
    template_file = tmp_path / "t.jinja"
    template_file.write_bytes(source.encode())
    messages_file = tmp_path / "m.json"
    messages_file.write_text(json.dumps(SNIPPET_MESSAGES))
    expected, error = render(source, SNIPPET_MESSAGES, None, False, BOS, EOS, SNIPPET_KWARGS)
    r = subprocess.run([str(tessera_binary()), "template", "--template-file", str(template_file), "--messages",
                        str(messages_file), "--bos", BOS, "--eos", EOS, "--kwargs", json.dumps(SNIPPET_KWARGS)],
                       capture_output=True, timeout=30)
    if error is not None:
        assert r.returncode == 1 and r.stderr, f"jinja2 raised {error}; tessera exited {r.returncode}: {r.stdout!r}"
    else:
        assert r.returncode == 0, r.stderr.decode()
        assert r.stdout.decode() == expected


BUILTIN_EXPECTED_CHATML = ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
                           "What is the capital of France?<|im_end|>\n<|im_start|>assistant\n")


@pytest.mark.parametrize("name", ["chatml", "llama2", "llama3", "gemma", "mistral", "phi3", "zephyr", "vicuna"])
def test_builtin_template_matches_jinja2(tmp_path, name):
    """The built-in fallback templates render like jinja2 renders their source."""
    r = subprocess.run([str(tessera_binary()), "template", "--chat-template", name, "--print-source"],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr.decode()
    source = r.stdout.decode()
    messages_file = tmp_path / "m.json"
    for case_name, messages, tools, kwargs in CASES:
        if tools is not None:
            continue
        messages_file.write_text(json.dumps(messages))
        for add_generation_prompt in (False, True):
            expected, error = render(source, messages, None, add_generation_prompt, BOS, EOS, kwargs)
            cmd = [str(tessera_binary()), "template", "--chat-template", name, "--messages", str(messages_file),
                   "--bos", BOS, "--eos", EOS] + (["--add-generation-prompt"] if add_generation_prompt else [])
            out = subprocess.run(cmd, capture_output=True, timeout=30)
            if error is not None:
                assert out.returncode == 1, f"{case_name}: jinja2 raised {error}"
            else:
                assert out.returncode == 0, out.stderr.decode()
                assert out.stdout.decode() == expected, case_name
                if name == "chatml" and case_name == "system_user" and add_generation_prompt:
                    assert expected == BUILTIN_EXPECTED_CHATML  # and the format is ChatML's


def test_cli_errors(tmp_path):
    """Bad input gives exit status 1 (or 2 for usage) with a message naming the problem."""
    messages_file = tmp_path / "m.json"
    messages_file.write_text("[{\"role\": \"user\", \"content\": \"x\"}")  # truncated JSON
    template_file = tmp_path / "t.jinja"
    template_file.write_text("{{ messages }}")
    r = subprocess.run([str(tessera_binary()), "template", "--template-file", str(template_file), "--messages",
                        str(messages_file)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "not valid JSON" in r.stderr
    template_file.write_text("line one\n{% for m in messages %}{{ m.content }}\n")  # missing endfor
    messages_file.write_text("[]")
    r = subprocess.run([str(tessera_binary()), "template", "--template-file", str(template_file), "--messages",
                        str(messages_file)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "line 2" in r.stderr and "endfor" in r.stderr
    r = subprocess.run([str(tessera_binary()), "template", "--messages", str(messages_file)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2


def test_mutated_templates_never_crash(tmp_path):
    """Robustness: 300 randomly mutated real templates (deterministic seed) either render or fail
    with exit status 1 and a message; never a crash, hang or other status."""
    import random
    rng = random.Random(1234)
    pieces = ["{%", "%}", "{{", "}}", "{#", "#}", "(", ")", "[", "]", "'", '"', "|", "-", "~", "endfor", "endif",
              "{% for x in messages %}", "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", ".", ",", "**", "//"]
    sources = [t.read_text() for t in TEMPLATES]
    messages_file = tmp_path / "m.json"
    messages_file.write_text(json.dumps(CASES[3][1]))
    template_file = tmp_path / "t.jinja"
    for i in range(300):
        text = rng.choice(sources)
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(len(text) + 1)
            if rng.random() < 0.5:
                text = text[:pos] + rng.choice(pieces) + text[pos:]
            else:
                text = text[:pos] + text[pos + rng.randint(1, 40):]
        template_file.write_text(text)
        r = subprocess.run([str(tessera_binary()), "template", "--template-file", str(template_file), "--messages",
                            str(messages_file), "--bos", BOS, "--eos", EOS], capture_output=True, timeout=30)
        assert r.returncode in (0, 1), f"mutation {i}: exit {r.returncode}: {r.stderr[-500:]!r}"
        if r.returncode == 1:
            assert r.stderr.startswith(b"error: template")

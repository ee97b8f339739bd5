"""Runs every curl and Python example of docs/server.md against a live `tessera serve`, so the
documentation stays true: each curl command must succeed with a JSON (or SSE) answer, each Python
block must run, and the outputs must show what the text around them says."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, tessera_binary
from server_harness import Server

DOC = REPO / "docs" / "server.md"


def blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.S)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tessera_binary(), "-c", "1024", "-np", "2", log_path=tmp_path_factory.mktemp("server") / "serve.log")
    yield s
    assert s.stop() == 0, s.log()


def curl_commands():
    """Each curl command of the sh blocks, with the lines of its quoted -d '...' argument."""
    commands = []
    for block in blocks("sh"):
        for line in block.splitlines():
            if line.startswith("curl "):
                commands.append(line)
            elif commands and commands[-1].count("'") % 2 == 1:  # inside an open quote
                commands[-1] += "\n" + line
    return commands


def test_docs_have_examples():
    assert len(curl_commands()) >= 6 and len(blocks("python")) >= 1


@pytest.mark.parametrize("command", curl_commands())
def test_curl_example(server, command):
    command = command.replace("http://localhost:8080", server.url)
    command = command.replace("curl ", "curl --fail-with-body ", 1)
    r = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    if "stream" in command:
        events = [l[6:] for l in r.stdout.splitlines() if l.startswith("data: ")]
        assert events[-1] == "[DONE]" and "usage" in json.loads(events[-2])
    elif "/detokenize" in command:
        assert json.loads(r.stdout) == {"content": "Hello world"}
    else:
        assert json.loads(r.stdout) is not None


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_python_example(server, index, tmp_path):
    code = blocks("python")[index].replace("http://localhost:8080", server.url)
    script = tmp_path / "example.py"
    script.write_text(code)
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "completion_tokens=" in r.stdout  # the usage line of the chat example

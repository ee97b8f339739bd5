#!/usr/bin/env python3
"""Chat-template render time: the longest template in ../shared/testdata/templates (by bytes)
for a 20-message conversation with tools, tessera (`tessera template --bench N`, in-process
timing) against Python jinja2 with Hugging Face's environment (the peer), alternating rounds.

usage: .venv/bin/python bench/template_render.py [--tessera build/tessera] [--renders 200] [--rounds 3]
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from chat_conversations import TOOLS  # noqa: E402
from chat_oracle import environment  # noqa: E402


def conversation(n=20):
    messages = [{"role": "system", "content": "You are a helpful assistant."}]
    for i in range(n - 1):
        if i % 2 == 0:
            messages.append({"role": "user", "content": f"Question {i}: what is {i} squared? " * 3})
        else:
            messages.append({"role": "assistant", "content": f"The answer is {(i - 1) ** 2}. " * 3})
    return messages


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tessera", default=str(REPO / "build" / "tessera"))
    ap.add_argument("--renders", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    templates = sorted((REPO.parent / "shared" / "testdata" / "templates").glob("*.jinja"), key=lambda p: p.stat().st_size)
    template = templates[-1]
    messages = conversation()
    tmp = Path(tempfile.mkdtemp())
    (tmp / "m.json").write_text(json.dumps(messages))
    (tmp / "t.json").write_text(json.dumps(TOOLS))
    compiled = environment().from_string(template.read_text())
    print(f"template: {template.name} ({template.stat().st_size} bytes), {len(messages)} messages, 2 tools")
    for r in range(args.rounds):
        out = subprocess.run([args.tessera, "template", "--template-file", str(template), "--messages", str(tmp / "m.json"),
                              "--tools", str(tmp / "t.json"), "--add-generation-prompt", "--bos", "<s>", "--eos", "</s>",
                              "--bench", str(args.renders)], capture_output=True, text=True, check=True)
        ours = float(out.stderr.split("render: ")[1].split(" us")[0])
        start = time.perf_counter()
        for _ in range(args.renders):
            peer_text = compiled.render(messages=messages, tools=TOOLS, documents=None, add_generation_prompt=True,
                                        bos_token="<s>", eos_token="</s>")
        peer = (time.perf_counter() - start) * 1e6 / args.renders
        same = "identical" if peer_text == out.stdout else "DIFFERENT"
        print(f"round {r + 1}: tessera {ours:.1f} us/render, jinja2 {peer:.1f} us/render, "
              f"ratio {peer / ours:.1f}x faster, output {same} ({len(out.stdout)} bytes)")


if __name__ == "__main__":
    main()

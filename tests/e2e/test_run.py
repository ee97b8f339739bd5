"""`tessera run` on the default model (Gemma 3 270M, Q4_K_M).

The expected continuation " lazy dog." is what Hugging Face transformers generates greedily for
the same prompt and model file (tests/fixtures/make_default_model_fixture.py prints it and stores
its token ids in tests/fixtures/forward/default_model.expected.gguf, prompt 3)."""
from conftest import run_tessera

PROMPT = "The quick brown fox jumps over the"


def test_greedy_generation_matches_transformers():
    result = run_tessera("run", "-p", PROMPT, "-n", "3", "--temp", "0", timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == PROMPT + " lazy dog.\n"
    assert "generation: 3 tokens" in result.stderr and "tokens/s" in result.stderr


def test_no_display_prompt_and_seeded_sampling():
    runs = [run_tessera("run", "-p", PROMPT, "-n", "8", "-s", "7", "--no-display-prompt", timeout=120)
            for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr
    assert runs[0].stdout == runs[1].stdout  # same seed, same text
    assert not runs[0].stdout.startswith(PROMPT)


def test_bad_usage_and_bad_model(tmp_path):
    assert run_tessera("run").returncode == 2  # no prompt
    assert run_tessera("run", "-p", "x", "-n", "many").returncode == 2
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 20)
    result = run_tessera("run", "-m", bad, "-p", "x")
    assert result.returncode == 1 and "error:" in result.stderr and result.stdout == ""

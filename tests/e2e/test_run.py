"""`tessera run` on the default model (Gemma 3 270M, Q4_K_M).

The expected continuation " lazy dog." is what Hugging Face transformers generates greedily for
the same prompt and model file (tests/fixtures/make_default_model_fixture.py prints it and stores
its token ids in tests/fixtures/forward/default_model.expected.gguf, prompt 3)."""
import json
import signal
import subprocess
import time

from conftest import run_tessera, tessera_binary

PROMPT = "The quick brown fox jumps over the"


def greedy(*extra, n=3):
    result = run_tessera("run", "-p", PROMPT, "-n", n, "--temp", "0", *extra, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


def test_greedy_generation_matches_transformers():
    result = greedy()
    assert result.stdout == PROMPT + " lazy dog.\n"
    assert "generation: 3 tokens" in result.stderr and "tokens/s" in result.stderr
    assert "load:" in result.stderr and "prompt: 8 tokens" in result.stderr


def test_greedy_is_deterministic_across_runs_threads_and_batch_sizes():
    outputs = {greedy("-t", "1", n=12).stdout, greedy("-t", "2", n=12).stdout,
               greedy("-t", "2", "-tb", "1", n=12).stdout, greedy("-b", "2", "-ub", "1", n=12).stdout,
               greedy("--no-warmup", n=12).stdout}
    assert len(outputs) == 1, outputs
    assert outputs.pop().startswith(PROMPT + " lazy dog.")


def test_seeded_sampling_reproduces_and_seeds_differ():
    def sample(seed):
        r = run_tessera("run", "-p", "Once upon a time", "-n", "16", "-s", seed, "--temp", "1.0",
                        "--no-display-prompt", timeout=120)
        assert r.returncode == 0, r.stderr
        return r.stdout
    a, b, c = sample(7), sample(7), sample(8)
    assert a == b
    assert a != c
    assert not a.startswith("Once upon a time")


def test_logit_bias_bans_the_greedy_token():
    # 31770 is " lazy" (tessera tokenize -p " lazy" --ids --no-bos, checked against the golden
    # Gemma vocabulary tests); banning it changes the greedy continuation.
    lazy = json.loads(run_tessera("tokenize", "-p", " lazy", "--ids", "--no-bos").stdout)
    assert lazy == [31770]
    result = greedy("-l", "31770-inf")
    assert result.stdout.startswith(PROMPT)
    assert not result.stdout[len(PROMPT):].startswith(" lazy")


def test_stop_string_is_printed_then_generation_stops():
    # llama-cli streams each token before checking the reverse prompts, so the stop string is in
    # the output; generation ends right after it.
    result = greedy("-r", "dog", n=20)
    assert result.stdout == PROMPT + " lazy dog\n"
    assert "generation: 2 tokens" in result.stderr


def test_prompt_file_escapes_and_no_display_prompt(tmp_path):
    prompt_file = tmp_path / "prompt.txt"
    prompt_file.write_text(PROMPT + "\n")  # one trailing newline is dropped, as llama.cpp
    from_file = run_tessera("run", "-f", prompt_file, "-n", "3", "--temp", "0", timeout=120)
    assert from_file.returncode == 0, from_file.stderr
    assert from_file.stdout == PROMPT + " lazy dog.\n"
    escaped = run_tessera("run", "-p", "Line one\\nLine two", "-n", "1", "--temp", "0", timeout=120)
    assert escaped.returncode == 0, escaped.stderr
    assert escaped.stdout.startswith("Line one\nLine two")
    raw = run_tessera("run", "-p", "Line one\\nLine two", "--no-escape", "-n", "1", "--temp", "0", timeout=120)
    assert raw.stdout.startswith("Line one\\nLine two")
    quiet = run_tessera("run", "-p", PROMPT, "-n", "3", "--temp", "0", "--no-display-prompt", timeout=120)
    assert quiet.stdout == " lazy dog.\n"


def test_verbose_prompt_and_log_file(tmp_path):
    log = tmp_path / "run.log"
    result = greedy("--verbose-prompt", "-v", "--log-file", log)
    assert "     2 -> '<bos>'" in result.stderr and "   818 -> 'The'" in result.stderr
    assert "sampler chain: greedy" in result.stderr
    assert "lazy" not in result.stderr  # the text goes to stdout only
    text = log.read_text()
    assert "generation: 3 tokens" in text and "prompt: 8 tokens" in text


def test_until_context_full_with_ignore_eos():
    # -n -1 runs until the end; with --ignore-eos that is the full context: 24 cells, 8 of them the
    # prompt (BOS + 7), 16 generated tokens decoded, and the 17th drawn from the last logits.
    result = run_tessera("run", "-p", PROMPT, "-n", "-1", "-c", "24", "--ignore-eos", "--temp", "0", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "context is full" in result.stderr
    assert "generation: 17 tokens" in result.stderr


def test_quantized_kv_cache_runs():
    result = greedy("-ctk", "q8_0", "-ctv", "q8_0")
    assert result.stdout.startswith(PROMPT + " lazy")


def test_every_sampler_flag_runs():
    result = run_tessera(
        "run", "-p", PROMPT, "-n", "6", "-s", "3", "--repeat-penalty", "1.2", "--repeat-last-n", "32",
        "--presence-penalty", "0.3", "--frequency-penalty", "0.2", "--dry-multiplier", "0.8",
        "--dry-base", "1.75", "--dry-allowed-length", "2", "--dry-penalty-last-n", "-1",
        "--dry-sequence-breaker", "\\n", "--top-nsigma", "2", "--typical", "0.95", "--xtc-probability", "0.5",
        "--xtc-threshold", "0.1", "--dynatemp-range", "0.3", "--dynatemp-exp", "1.5", "-v", timeout=120)
    assert result.returncode == 0, result.stderr
    assert ("sampler chain: penalties -> dry -> top-n-sigma -> top-k -> typical -> top-p -> min-p -> xtc -> "
            "temperature -> dist") in result.stderr
    for mirostat in ("1", "2"):
        r = run_tessera("run", "-p", PROMPT, "-n", "4", "--mirostat", mirostat, "-v", timeout=120)
        assert r.returncode == 0, r.stderr
        assert f"temperature -> mirostat{'-v2' if mirostat == '2' else ''} (seed" in r.stderr
    seq = run_tessera("run", "-p", PROMPT, "-n", "2", "--sampler-seq", "kt", "-v", timeout=120)
    assert "sampler chain: top-k -> temperature -> dist" in seq.stderr
    names = run_tessera("run", "-p", PROMPT, "-n", "2", "--samplers", "min_p;top_k;temp", "-v", timeout=120)
    assert "sampler chain: min-p -> top-k -> temperature -> dist" in names.stderr


def test_ctrl_c_stops_cleanly_and_prints_timings():
    proc = subprocess.Popen([str(tessera_binary()), "run", "-p", PROMPT, "-n", "-1", "--ignore-eos"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.read(len(PROMPT) + 1)  # the echo and at least one generated byte
        assert first.startswith(PROMPT)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert "interrupted" in stderr
    assert "generation:" in stderr and "tokens/s" in stderr

"""`tessera run` command-line handling: --help, and bad input giving one clear line on stderr and
a non-zero exit (2 for usage, 1 for a bad model or prompt), never a crash or a traceback."""
import pytest

from conftest import run_tessera

ISSUE_FLAGS = ["-m", "-p", "-f", "-n", "-c", "-t", "-tb", "-b", "-ub", "-s", "-e", "--no-warmup",
               "--verbose-prompt", "-sp", "--no-display-prompt", "-r", "-ctk", "-ctv", "--log-file", "-v",
               "--repeat-last-n", "--repeat-penalty", "--presence-penalty", "--frequency-penalty",
               "--dry-multiplier", "--dry-base", "--dry-allowed-length", "--dry-penalty-last-n",
               "--dry-sequence-breaker", "--xtc-probability", "--xtc-threshold", "--dynatemp-range",
               "--dynatemp-exp", "--mirostat", "--mirostat-lr", "--mirostat-ent", "-l", "--ignore-eos", "--temp",
               "--top-k", "--top-p", "--min-p", "--typical", "--top-nsigma", "--samplers", "--sampler-seq"]


def test_help_lists_every_flag_grouped_with_defaults():
    result = run_tessera("run", "--help")
    assert result.returncode == 0 and result.stderr == ""
    out = result.stdout
    for group in ("Prompt and output:", "Model and runtime:", "Sampling:"):
        assert group in out
    for flag in ISSUE_FLAGS:
        assert f"  {flag}," in out or f"  {flag} " in out or f", {flag}" in out, flag
    assert "(default: 40)" in out and "(default: 0.95)" in out and "(default: edskypmxt)" in out


@pytest.mark.parametrize("args, code, words", [
    (["--tmp", "0.5", "-p", "x"], 2, ["unknown flag '--tmp'", "did you mean --temp?"]),
    (["-p"], 2, ["-p needs a value"]),
    (["-p", "x", "-n"], 2, ["-n needs a value"]),
    (["-p", "x", "-n", "many"], 2, ["-n", "'many' is not a valid number"]),
    (["-p", "x", "-n", "-2"], 2, ["-n", "must be >= -1"]),
    (["-p", "x", "-t", "0"], 2, ["-t", "must be >= 1"]),
    (["-p", "x", "--top-p", "1.5"], 2, ["--top-p", "must be in [0, 1]"]),
    (["-p", "x", "--mirostat", "3"], 2, ["--mirostat", "must be in [0, 2]"]),
    (["-p", "x", "--repeat-last-n", "-2"], 2, ["--repeat-last-n"]),
    (["-p", "x", "-s", "-5"], 2, ["-s", "must be in [-1, "]),
    (["-p", "x", "-l", "15043*2"], 2, ["-l", "TOKEN_ID(+|-)BIAS"]),
    (["-p", "x", "--samplers", "top_k;warp"], 2, ["--samplers", "unknown sampler 'warp'"]),
    (["-p", "x", "--sampler-seq", "kq"], 2, ["--sampler-seq", "unknown sampler letter 'q'"]),
    (["-p", "x", "-ctk", "q9"], 2, ["-ctk", "unknown KV cache type 'q9'"]),
    (["-p", "x", "--no-warmup=1"], 2, ["--no-warmup takes no value"]),
    ([], 2, ["a prompt is needed"]),
    (["-p", ""], 2, ["the prompt is empty"]),
    (["-p", "x", "stray"], 2, ["unexpected argument 'stray'"]),
    (["-f", "/nonexistent/prompt.txt"], 2, ["cannot read the prompt file"]),
    (["-p", "x", "-m", "/nonexistent/model.gguf"], 1, ["/nonexistent/model.gguf"]),
    (["-p", "x", "-l", "999999+1"], 1, ["token 999999 is outside the vocabulary"]),
    (["-p", "x", "-ctk", "q8_0", "-ctv", "f16"], 1, ["-ctk q8_0 and -ctv f16 differ"]),
])
def test_bad_input_is_one_clear_line(args, code, words):
    result = run_tessera("run", *args, timeout=120)
    assert result.returncode == code, (result.returncode, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


def test_corrupt_model_file(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 20)
    result = run_tessera("run", "-m", bad, "-p", "x")
    assert result.returncode == 1 and "error:" in result.stderr and str(bad) in result.stderr
    assert result.stdout == ""


def test_prompt_longer_than_the_context():
    result = run_tessera("run", "-p", "word " * 40, "-c", "16", "-n", "1", timeout=120)
    assert result.returncode == 1
    assert "prompt is too long" in result.stderr and "raise -c" in result.stderr
    assert result.stdout == ""

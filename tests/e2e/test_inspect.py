"""`tessera inspect` on real files: the shared vocab GGUFs, the default model, and the CLI surface."""
import json
from pathlib import Path

import pytest
from gguf import GGUFReader

from conftest import REPO, SHARED, run_tessera

VOCAB_FILES = sorted((SHARED / "testdata" / "vocab").glob("*.gguf"))
DEFAULT_MODEL = REPO / "models" / "gemma-3-270m-q4_k_m.gguf"


def test_vocab_files_are_present():
    assert len(VOCAB_FILES) >= 6


@pytest.mark.parametrize("path", VOCAB_FILES, ids=lambda p: p.name)
def test_vocab_file_inspects_like_gguf_py(path):
    result = run_tessera("inspect", "--json", path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    reader = GGUFReader(path)
    tokens = reader.fields["tokenizer.ggml.tokens"]
    ours = {m["key"]: m for m in report["metadata"]}
    assert ours["tokenizer.ggml.tokens"]["count"] == len(tokens.data)
    assert ours["tokenizer.ggml.tokens"]["truncated"] is True
    assert ours["tokenizer.ggml.tokens"]["value"] == tokens.contents()[:8]
    assert ours["tokenizer.ggml.model"]["value"] == reader.fields["tokenizer.ggml.model"].contents()
    assert len(report["tensors"]) == len(reader.tensors)


@pytest.fixture(scope="module")
def default_model() -> Path:
    if not DEFAULT_MODEL.exists():
        pytest.fail(f"default model missing at {DEFAULT_MODEL}: run ./setup.sh")
    return DEFAULT_MODEL


def test_default_model_json_matches_gguf_py(default_model):
    result = run_tessera("inspect", "--json")  # no FILE: the default model
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["path"] == str(default_model)
    reader = GGUFReader(default_model)
    assert report["version"] == 3
    assert len(report["tensors"]) == len(reader.tensors) == 236
    assert report["totals"]["parameters"] == sum(int(t.n_elements) for t in reader.tensors)
    assert report["totals"]["tensor_bytes"] == sum(int(t.n_bytes) for t in reader.tensors)
    assert report["totals"]["file_size"] == default_model.stat().st_size
    for ours, ref in zip(report["tensors"], reader.tensors):
        assert (ours["name"], ours["type_id"], ours["file_offset"]) == (ref.name, int(ref.tensor_type), ref.data_offset)
    by_type = report["totals"]["by_type"]
    assert sum(row["parameters"] for row in by_type.values()) == report["totals"]["parameters"]
    assert by_type["q4_K"]["bits_per_weight"] == pytest.approx(4.5)
    arch = {m["key"]: m["value"] for m in report["metadata"]}["general.architecture"]
    assert arch == reader.fields["general.architecture"].contents() == "gemma3"


def test_default_model_text_report(default_model):
    result = run_tessera("inspect", "-m", default_model)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "version:    3" in out
    assert "tokenizer.ggml.tokens" in out and "(262136 more)" in out
    assert "token_embd.weight" in out and "q8_0" in out
    assert "bits per weight:" in out and "parameters:      268098176" in out


def test_usage_errors():
    assert run_tessera().returncode == 2
    assert run_tessera("no-such-command").returncode == 2
    bad = run_tessera("inspect", "--bogus")
    assert bad.returncode == 2 and "unexpected argument" in bad.stderr
    help_ = run_tessera("inspect", "--help")
    assert help_.returncode == 0 and "usage: tessera inspect" in help_.stdout


def test_missing_and_non_regular_files(tmp_path):
    missing = run_tessera("inspect", tmp_path / "nope.gguf")
    assert missing.returncode == 1 and "No such file" in missing.stderr and missing.stdout == ""
    directory = run_tessera("inspect", tmp_path)
    assert directory.returncode == 1 and "not a regular file" in directory.stderr

"""`tessera quantize` end to end: a small F32 Llama model written by gguf-py is quantized, and
gguf-py reads the result back: the tensor types follow llama-quantize's preset rules and the
weights, dequantized by gguf-py, stay close to the originals."""
import numpy as np
import pytest
from gguf import GGMLQuantizationType as Q
from gguf import GGUFReader, GGUFWriter
from gguf.quants import dequantize

from conftest import run_tessera, save_gguf

N_LAYER, N_EMBD, N_FF, N_VOCAB = 8, 256, 512, 300
# llama-quantize gives attn_v and ffn_down more bits in these layers of an 8-layer model:
# the first and last eighth, and every third layer between (i < n/8, i >= 7n/8, (i - n/8) % 3 == 2).
MORE_BITS_LAYERS = {0, 3, 6, 7}
# Relative RMSE bounds for Gaussian weights, by bits per weight.
RMSE_BOUND = {Q.Q4_0: 0.15, Q.Q4_K: 0.12, Q.Q6_K: 0.04, Q.Q8_0: 0.01, Q.F16: 0.001}


def block_tensors():
    for i in range(N_LAYER):
        yield f"blk.{i}.attn_norm.weight", (N_EMBD,)
        yield f"blk.{i}.attn_q.weight", (N_EMBD, N_EMBD)
        yield f"blk.{i}.attn_k.weight", (N_EMBD // 4, N_EMBD)
        yield f"blk.{i}.attn_v.weight", (N_EMBD // 4, N_EMBD)
        yield f"blk.{i}.attn_output.weight", (N_EMBD, N_EMBD)
        yield f"blk.{i}.ffn_norm.weight", (N_EMBD,)
        yield f"blk.{i}.ffn_gate.weight", (N_FF, N_EMBD)
        yield f"blk.{i}.ffn_up.weight", (N_FF, N_EMBD)
        yield f"blk.{i}.ffn_down.weight", (N_EMBD, N_FF)


@pytest.fixture(scope="module")
def f32_model(tmp_path_factory):
    """A Llama-shaped F32 model (numpy shapes are [rows, cols]) and its weights by name."""
    path = tmp_path_factory.mktemp("model") / "tiny-f32.gguf"
    rng = np.random.default_rng(42)
    w = GGUFWriter(path, arch="llama")
    w.add_block_count(N_LAYER)
    w.add_embedding_length(N_EMBD)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(4)
    w.add_head_count_kv(1)
    w.add_file_type(0)
    weights = {"token_embd.weight": rng.standard_normal((N_VOCAB, N_EMBD)).astype(np.float32),
               "output_norm.weight": np.ones(N_EMBD, dtype=np.float32),
               "output.weight": rng.standard_normal((N_VOCAB, N_EMBD)).astype(np.float32)}
    for name, shape in block_tensors():
        weights[name] = (rng.standard_normal(shape) * 0.02).astype(np.float32)
    for name, array in weights.items():
        w.add_tensor(name, array)
    save_gguf(w)
    return path, weights


def quantize(src, dst, preset, *options):
    result = run_tessera("quantize", *options, src, dst, preset, timeout=300)
    assert result.returncode == 0, result.stderr
    return result


def expected_q4_k_m(name: str) -> Q:
    if name.endswith("_norm.weight"):
        return Q.F32
    if name == "output.weight":
        return Q.Q6_K
    layer = int(name.split(".")[1]) if name.startswith("blk.") else -1
    if ("attn_v" in name or "ffn_down" in name) and layer in MORE_BITS_LAYERS:
        return Q.Q6_K
    return Q.Q4_K


def expected_simple(preset: Q):
    def rule(name: str) -> Q:
        if name.endswith("_norm.weight"):
            return Q.F32
        if name == "output.weight" and preset != Q.Q8_0:
            return Q.Q6_K  # llama-quantize's output tensor rule
        return preset
    return rule


@pytest.mark.parametrize("preset, file_type, rule", [
    ("Q4_K_M", 15, expected_q4_k_m),
    ("Q8_0", 7, expected_simple(Q.Q8_0)),
    ("Q4_0", 2, expected_simple(Q.Q4_0)),
])
def test_preset_types_and_accuracy(tmp_path, f32_model, preset, file_type, rule):
    src, weights = f32_model
    dst = tmp_path / f"tiny-{preset}.gguf"
    log = quantize(src, dst, preset).stderr
    assert f"[{len(weights):>4}/{len(weights):>4}]" in log  # progress per tensor

    reader = GGUFReader(dst)
    assert int(reader.fields["general.file_type"].contents()) == file_type
    assert int(reader.fields["general.quantization_version"].contents()) == 2
    assert reader.fields["llama.block_count"].contents() == N_LAYER  # metadata carried over
    for t in reader.tensors:
        assert t.tensor_type == rule(t.name), t.name
        original = weights[t.name]
        restored = dequantize(t.data, t.tensor_type).reshape(original.shape)
        if t.tensor_type == Q.F32:
            np.testing.assert_array_equal(restored, original)
            continue
        rmse = np.sqrt(np.mean((restored - original) ** 2)) / np.std(original)
        assert rmse < RMSE_BOUND[t.tensor_type], (t.name, t.tensor_type.name, rmse)


def test_options_override_types(tmp_path, f32_model):
    src, _ = f32_model
    dst = tmp_path / "custom.gguf"
    quantize(src, dst, "Q4_K_M", "--output-tensor-type", "q8_0", "--token-embedding-type", "f16",
             "--tensor-type", r"ffn_(gate|up)=q8_0")
    types = {t.name: t.tensor_type for t in GGUFReader(dst).tensors}
    assert types["output.weight"] == Q.Q8_0
    assert types["token_embd.weight"] == Q.F16
    assert types["blk.2.ffn_gate.weight"] == Q.Q8_0 and types["blk.5.ffn_up.weight"] == Q.Q8_0
    assert types["blk.2.attn_q.weight"] == Q.Q4_K

    pure = tmp_path / "pure.gguf"
    quantize(src, pure, "Q4_K_M", "--pure", "--leave-output-tensor")
    types = {t.name: t.tensor_type for t in GGUFReader(pure).tensors}
    assert types["output.weight"] == Q.F32
    assert types["blk.0.attn_v.weight"] == Q.Q4_K and types["blk.0.ffn_down.weight"] == Q.Q4_K


def test_requantize_needs_permission(tmp_path, f32_model):
    src, _ = f32_model
    q8 = tmp_path / "q8.gguf"
    quantize(src, q8, "Q8_0")
    refused = run_tessera("quantize", q8, tmp_path / "q4.gguf", "Q4_0")
    assert refused.returncode == 1 and "--allow-requantize" in refused.stderr
    assert not (tmp_path / "q4.gguf").exists()
    quantize(q8, tmp_path / "q4.gguf", "Q4_0", "--allow-requantize")
    assert {t.tensor_type for t in GGUFReader(tmp_path / "q4.gguf").tensors} == {Q.F32, Q.Q4_0, Q.Q6_K}


def test_imatrix_is_used(tmp_path, f32_model):
    src, weights = f32_model
    imatrix = tmp_path / "imatrix.gguf"
    w = GGUFWriter(imatrix, arch="imatrix")
    w.add_array("imatrix.datasets", ["tiny.txt"])
    w.add_uint32("imatrix.chunk_count", 3)
    w.add_uint32("imatrix.chunk_size", 512)
    rng = np.random.default_rng(1)
    for name, shape in block_tensors():
        if len(shape) == 2:
            w.add_tensor(f"{name}.in_sum2", rng.uniform(0.1, 10, (1, shape[1])).astype(np.float32))
            w.add_tensor(f"{name}.counts", np.array([[1536.0]], dtype=np.float32))
    save_gguf(w)
    dst = tmp_path / "imat.gguf"
    log = quantize(src, dst, "Q4_K_M", "--imatrix", imatrix).stderr
    n_matrices = 7 * N_LAYER
    assert "(imatrix)" in log and f"imatrix with {n_matrices} entries" in log
    fields = GGUFReader(dst).fields
    assert int(fields["quantize.imatrix.entries_count"].contents()) == n_matrices
    assert fields["quantize.imatrix.dataset"].contents() == "tiny.txt"


def test_dry_run_writes_nothing(tmp_path, f32_model):
    src, weights = f32_model
    dst = tmp_path / "never.gguf"
    result = quantize(src, dst, "Q4_K_M", "--dry-run")
    assert not dst.exists()
    assert "planned" in result.stderr and "blk.0.ffn_down.weight" in result.stderr


def test_bad_input(tmp_path, f32_model):
    src, _ = f32_model
    assert run_tessera("quantize", src, tmp_path / "x.gguf", "Q9_Z").returncode == 2
    assert run_tessera("quantize", src, tmp_path / "x.gguf", "Q4_0", "0").returncode == 2
    assert run_tessera("quantize", "--tensor-type", "noequals", src, tmp_path / "x.gguf", "Q4_0").returncode == 2
    bad_regex = run_tessera("quantize", "--tensor-type", "([=q8_0", src, tmp_path / "x.gguf", "Q4_0")
    assert bad_regex.returncode == 1 and "regex" in bad_regex.stderr
    corrupt = tmp_path / "corrupt.gguf"
    corrupt.write_bytes(src.read_bytes()[:1000])
    result = run_tessera("quantize", corrupt, tmp_path / "x.gguf", "Q4_0")
    assert result.returncode == 1 and "offset" in result.stderr
    not_imatrix = run_tessera("quantize", "--imatrix", src, src, tmp_path / "x.gguf", "Q4_0")
    assert not_imatrix.returncode == 1 and "in_sum2" in not_imatrix.stderr
    assert not (tmp_path / "x.gguf").exists()

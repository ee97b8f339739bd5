"""Tessera's GGUF reader and writer against gguf-py, the reference implementation.

gguf-py writes files covering every value type, arrays, alignments and tensor types;
`tessera inspect --json --full` must report exactly what gguf-py's GGUFReader reads. Files written
by Tessera's writer (through the gguf_rewrite test helper) must read back identically in gguf-py.
"""
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter
from gguf.constants import GGML_QUANT_SIZES

from conftest import REPO, run_tessera, save_gguf

REWRITE = REPO / "build" / "tests" / "gguf_rewrite"

# gguf-py's size for Q8_1 (4+4+32) is the pre-2024 layout; ggml's block_q8_1 is 2+2+32 bytes and
# Tessera follows ggml. Q8_1 is an activation format that model files do not contain.
SIZE_EXCEPTIONS = {GGMLQuantizationType.Q8_1}

SCALAR_VALUES = [
    (GGUFValueType.UINT8, 255), (GGUFValueType.INT8, -128), (GGUFValueType.UINT16, 65535),
    (GGUFValueType.INT16, -32768), (GGUFValueType.UINT32, 2**32 - 1), (GGUFValueType.INT32, -(2**31)),
    (GGUFValueType.FLOAT32, 3.25), (GGUFValueType.BOOL, True), (GGUFValueType.UINT64, 2**64 - 1),
    (GGUFValueType.INT64, -(2**63)), (GGUFValueType.FLOAT64, 1.0 / 3.0),
    (GGUFValueType.STRING, "ünïcode ✓ \"quoted\"\nnewline"),
]
ARRAY_VALUES = [
    (GGUFValueType.UINT8, [0, 1, 255]), (GGUFValueType.INT8, [-1, 2]), (GGUFValueType.UINT16, [7]),
    (GGUFValueType.INT16, [-7, 7]), (GGUFValueType.UINT32, [1, 2, 3]), (GGUFValueType.INT32, list(range(-5, 300))),
    (GGUFValueType.FLOAT32, [0.5, -1.25]), (GGUFValueType.BOOL, [True, False, True]),
    (GGUFValueType.UINT64, [2**64 - 1]), (GGUFValueType.INT64, [-(2**63), 5]), (GGUFValueType.FLOAT64, [1e-300]),
    (GGUFValueType.STRING, ["", "a", "ü", "x" * 1000]),
]


def every_tensor_type():
    return [t for t in GGMLQuantizationType if t not in SIZE_EXCEPTIONS]


def write_reference_file(path: Path, alignment: int | None, tensor_types) -> None:
    rng = np.random.default_rng(0)
    w = GGUFWriter(path, arch="testarch")
    if alignment is not None:
        w.add_custom_alignment(alignment)
    for vtype, value in SCALAR_VALUES:
        w.add_key_value(f"scalar.{vtype.name.lower()}", value, vtype)
    for vtype, values in ARRAY_VALUES:
        w.add_key_value(f"array.{vtype.name.lower()}", values, GGUFValueType.ARRAY, vtype)
    w.add_tensor("plain.f32", rng.standard_normal((2, 3, 4)).astype(np.float32))
    w.add_tensor("plain.f16", rng.standard_normal(7).astype(np.float16))
    w.add_tensor("plain.i32", np.arange(10, dtype=np.int32).reshape(2, 5))
    for qtype in tensor_types:
        block_size, type_size = GGML_QUANT_SIZES[qtype]
        raw = rng.integers(0, 256, size=(3, 2 * type_size), dtype=np.uint8)  # 3 rows of 2 blocks
        w.add_tensor(f"raw.{qtype.name.lower()}", raw, raw_dtype=qtype)
    save_gguf(w)


def inspect_json(path: Path) -> dict:
    result = run_tessera("inspect", "--json", "--full", path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def reference_value(field):
    value = field.contents()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, list):
        value = [v.item() if isinstance(v, np.generic) else v for v in value]
    return value


def assert_matches_reference(path: Path, report: dict) -> None:
    reader = GGUFReader(path)
    assert report["alignment"] == reader.alignment
    fields = {name: f for name, f in reader.fields.items() if not name.startswith("GGUF.")}
    ours = {m["key"]: m for m in report["metadata"]}
    assert list(ours) == list(fields)
    for key, field in fields.items():
        entry = ours[key]
        assert entry["type"] == _type_name(field.types[0]), key
        if field.types[0] == GGUFValueType.ARRAY:
            assert entry["element_type"] == _type_name(field.types[-1]), key
            assert entry["count"] == len(field.data)
        assert entry["value"] == reference_value(field), key

    data = path.read_bytes()
    assert [t["name"] for t in report["tensors"]] == [t.name for t in reader.tensors]
    for ours_t, ref in zip(report["tensors"], reader.tensors):
        assert ours_t["type_id"] == int(ref.tensor_type), ref.name
        assert ours_t["shape"] == [int(d) for d in ref.shape], ref.name
        assert ours_t["n_elements"] == ref.n_elements
        assert ours_t["n_bytes"] == ref.n_bytes, ref.name
        assert ours_t["file_offset"] == ref.data_offset, ref.name
        start = ours_t["file_offset"]
        assert data[start:start + ours_t["n_bytes"]] == ref.data.tobytes(), ref.name


def _type_name(vtype: GGUFValueType) -> str:
    return {
        GGUFValueType.UINT8: "u8", GGUFValueType.INT8: "i8", GGUFValueType.UINT16: "u16",
        GGUFValueType.INT16: "i16", GGUFValueType.UINT32: "u32", GGUFValueType.INT32: "i32",
        GGUFValueType.FLOAT32: "f32", GGUFValueType.BOOL: "bool", GGUFValueType.STRING: "string",
        GGUFValueType.ARRAY: "array", GGUFValueType.UINT64: "u64", GGUFValueType.INT64: "i64",
        GGUFValueType.FLOAT64: "f64",
    }[vtype]


@pytest.mark.parametrize("alignment", [None, 1, 8, 64, 4096])
def test_reader_matches_gguf_py(tmp_path, alignment):
    path = tmp_path / "ref.gguf"
    write_reference_file(path, alignment, every_tensor_type())
    assert_matches_reference(path, inspect_json(path))


def test_type_table_matches_gguf_py(tmp_path):
    """Block size and bytes per block of every type gguf-py knows, as the reader computes them."""
    path = tmp_path / "types.gguf"
    write_reference_file(path, None, every_tensor_type())
    report = inspect_json(path)
    by_name = {t["name"]: t for t in report["tensors"]}
    for qtype in every_tensor_type():
        block_size, type_size = GGML_QUANT_SIZES[qtype]
        t = by_name[f"raw.{qtype.name.lower()}"]
        assert t["type"].lower() == qtype.name.lower()
        assert t["shape"] == [2 * block_size, 3]
        assert t["n_bytes"] == 3 * 2 * type_size


@pytest.mark.parametrize("alignment", [None, 64])
def test_writer_output_reads_back_in_gguf_py(tmp_path, alignment):
    original = tmp_path / "ref.gguf"
    rewritten = tmp_path / "ours.gguf"
    write_reference_file(original, alignment, every_tensor_type())
    subprocess.run([REWRITE, original, rewritten], check=True)
    # gguf-py reads our file and sees the same keys, values and tensor bytes as in its own.
    assert_matches_reference(rewritten, inspect_json(original))
    # Same layout rules as gguf-py: the files are identical byte for byte.
    assert rewritten.read_bytes() == original.read_bytes()


def test_split_model(tmp_path):
    rng = np.random.default_rng(3)
    w = GGUFWriter(tmp_path / "model.gguf", arch="testarch", split_max_tensors=2)
    tensors = {f"t{i}": rng.standard_normal(8 + i).astype(np.float32) for i in range(5)}
    for name, array in tensors.items():
        w.add_tensor(name, array)
    save_gguf(w)
    parts = sorted(tmp_path.glob("model-*-of-00003.gguf"))
    assert len(parts) == 3

    report = inspect_json(parts[0])
    assert [s["path"] for s in report["splits"]] == [str(p) for p in parts]
    assert [t["name"] for t in report["tensors"]] == list(tensors)
    for t in report["tensors"]:
        data = parts[t["split"]].read_bytes()
        got = np.frombuffer(data[t["file_offset"]:t["file_offset"] + t["n_bytes"]], dtype=np.float32)
        np.testing.assert_array_equal(got, tensors[t["name"]])

    second = run_tessera("inspect", parts[1])
    assert second.returncode == 1
    assert "open the first split" in second.stderr and "model-00001-of-00003.gguf" in second.stderr

    parts[2].unlink()
    missing = run_tessera("inspect", parts[0])
    assert missing.returncode == 1
    assert "model-00003-of-00003.gguf" in missing.stderr and "No such file" in missing.stderr

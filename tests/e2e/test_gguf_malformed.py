"""`tessera inspect` on malformed GGUF files: each must be rejected with exit
status 1 and an error naming the problem, and never crash (signal, sanitizer
report, or any other exit status).

The files come from gguf_bytes, a raw byte builder independent of the reader
under test. The valid-file tests below pin the builder down (tessera accepts its
output and gguf-py's GGUFReader reads it back identically), so that each
malformed case differs from a well-formed file only in the defect it names.
"""
from __future__ import annotations

import os
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pytest
from gguf import GGUFReader

from conftest import run_tessera
from gguf_bytes import (
    ALIGNMENT_KEY, ARRAY, BOOL, F32, FLOAT32, FLOAT64, INT8, INT16, INT32, INT64, MAGIC,
    Q4_0, Q8_0, STRING, UINT8, UINT16, UINT32, UINT64, Array, GGUFFile, KV, Tensor,
    gguf_string, u32, u64,
)

# A malformed file should be rejected quickly; a hang is a bug too.
RUN_TIMEOUT_S = 20

U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1

# Sanitizer reports (ASan, UBSan, LSan) in stderr mean the reader misbehaved even
# if it then exited with the right status.
CRASH_MARKERS = ("Sanitizer", "runtime error:")


def assert_no_crash(proc, what: str) -> None:
    # A negative returncode is death by signal (SIGSEGV, SIGABRT, ...).
    assert proc.returncode in (0, 1), f"{what}: exit status {proc.returncode}\nstderr:\n{proc.stderr}"
    for marker in CRASH_MARKERS:
        assert marker not in proc.stderr, f"{what}: sanitizer output\nstderr:\n{proc.stderr}"


def assert_rejected(proc, what: str) -> None:
    assert_no_crash(proc, what)
    assert proc.returncode == 1, f"{what}: expected exit 1, got {proc.returncode}\nstdout:\n{proc.stdout}"
    assert proc.stderr.strip(), f"{what}: rejected without an error message"


def inspect(tmp_path, data: bytes, name: str = "model.gguf"):
    path = tmp_path / name
    path.write_bytes(data)
    return run_tessera("inspect", path, timeout=RUN_TIMEOUT_S)


# --------------------------------------------------------------------------
# A valid file exercising every value type, arrays (including strings and an
# empty one) and two tensor types, with expected values for the cross-check.
# --------------------------------------------------------------------------

VALID_SCALARS = [
    ("general.architecture", STRING, "tessera-test"),
    ("general.name", STRING, ""),
    ("test.u8", UINT8, 255),
    ("test.i8", INT8, -128),
    ("test.u16", UINT16, 65535),
    ("test.i16", INT16, -32768),
    ("test.u32", UINT32, U32_MAX),
    ("test.i32", INT32, -2**31),
    ("test.f32", FLOAT32, 1.5),
    ("test.bool_true", BOOL, True),
    ("test.bool_false", BOOL, False),
    ("test.u64", UINT64, U64_MAX),
    ("test.i64", INT64, -2**63),
    ("test.f64", FLOAT64, -0.25),
    ("test.utf8", STRING, "h\u00e9llo \u4e16\u754c"),
]

VALID_ARRAYS = [
    ("test.arr_u8", UINT8, [0, 1, 255]),
    ("test.arr_i32", INT32, [-1, 0, 2**31 - 1]),
    ("test.arr_f32", FLOAT32, [0.5, -2.0, 3.25]),
    ("test.arr_bool", BOOL, [True, False]),
    ("test.arr_u64", UINT64, [U64_MAX, 0]),
    ("test.arr_str", STRING, ["alpha", "", "\u00fcn\u00efc\u00f8de", "a b"]),
    ("test.arr_empty", UINT32, []),
]

F32_DIMS = [4, 3]                # 12 floats, 48 bytes
Q8_DIMS = [64, 2]                # 2 rows of 2 Q8_0 blocks (34 bytes each)


def q8_0_blocks(n_blocks: int) -> bytes:
    """Q8_0 blocks: an f16 scale followed by 32 int8 quants."""
    out = b""
    for b in range(n_blocks):
        quants = ((np.arange(32) + b) % 256 - 128).astype(np.int8)
        out += struct.pack("<e", 0.5 + b) + quants.tobytes()
    return out


F32_DATA = np.arange(12, dtype=np.float32) - 5.5


def valid_file(version: int = 3, alignment: int | None = None) -> GGUFFile:
    """alignment: if given, stored as a u32 general.alignment KV (and used for padding)."""
    kvs = [KV(k, t, v) for k, t, v in VALID_SCALARS]
    kvs += [KV(k, ARRAY, Array(t, items)) for k, t, items in VALID_ARRAYS]
    if alignment is not None:
        kvs.append(KV(ALIGNMENT_KEY, UINT32, alignment))
    tensors = [
        Tensor("tok_embd.weight", F32_DIMS, F32, data=F32_DATA.tobytes()),
        Tensor("blk.0.attn_q.weight", Q8_DIMS, Q8_0, data=q8_0_blocks(4)),
    ]
    return GGUFFile(kvs=kvs, tensors=tensors, version=version)


VALID_VARIANTS = {
    "v3": dict(version=3),
    "v2": dict(version=2),
    "align64": dict(alignment=64),
}


@pytest.mark.parametrize("variant", VALID_VARIANTS)
def test_valid_file_accepted(variant, tmp_path):
    proc = inspect(tmp_path, valid_file(**VALID_VARIANTS[variant]).build())
    assert_no_crash(proc, variant)
    assert proc.returncode == 0, f"valid file rejected:\n{proc.stderr}"


@pytest.mark.parametrize("variant", VALID_VARIANTS)
def test_valid_file_matches_gguf_py(variant, tmp_path):
    """gguf-py reads the builder's output back exactly: same keys, values,
    tensor infos and data offsets. This is what makes the builder trustworthy."""
    gf = valid_file(**VALID_VARIANTS[variant])
    path = tmp_path / "model.gguf"
    path.write_bytes(gf.build())
    reader = GGUFReader(path)

    # gguf-py adds pseudo-fields for the header; they are not KVs.
    keys = [k for k in reader.fields if not k.startswith("GGUF.")]
    assert keys == [kv.key for kv in gf.kvs]
    for kv in gf.kvs:
        got = reader.fields[kv.key].contents()
        want = kv.value.items if kv.vtype == ARRAY else kv.value
        assert got == want, kv.key
        assert int(reader.fields[kv.key].types[0]) == kv.vtype, kv.key

    assert reader.data_offset == gf.data_start()
    offsets = gf.tensor_offsets()
    assert [t.name for t in reader.tensors] == [t.name for t in gf.tensors]
    for rt, t, off in zip(reader.tensors, gf.tensors, offsets):
        assert int(rt.tensor_type) == t.ggml_type
        assert [int(d) for d in rt.shape] == t.dims
        assert rt.n_bytes == t.nbytes() == len(t.data)
        assert rt.data_offset == gf.data_start() + off
        assert off % gf.effective_alignment() == 0
    np.testing.assert_array_equal(reader.tensors[0].data.reshape(-1), F32_DATA)
    # The last tensor ends exactly at EOF: any truncation loses data.
    assert reader.tensors[-1].data_offset + reader.tensors[-1].n_bytes == path.stat().st_size


# --------------------------------------------------------------------------
# Malformed corpus.
# --------------------------------------------------------------------------

@dataclass
class Case:
    id: str
    data: bytes
    # Acceptable words in the error (any one, case-insensitive). Loose on
    # purpose: they pin down *which* problem was found, not its wording.
    keywords: tuple[str, ...]


# Keyword groups shared by several cases.
K_EOF = ("truncat", "end of file", "eof", "past the end", "bytes left", "exceed",
         "too small", "too short", "unexpected end")
K_STRLEN = ("string", "length") + K_EOF
K_ARRAY_COUNT = ("array", "count", "length") + K_EOF
K_TYPE = ("type",)
K_DIMS = ("dim",)  # n_dims, dims, dimension
K_OUT_OF_FILE = ("end of file", "eof", "past", "beyond", "outside", "exceed", "bounds",
                 "out of range", "truncat", "data section", "file size")
K_OVERFLOW = ("overflow", "too large", "too big", "wrap", "dim", "size", "elements") + K_OUT_OF_FILE
K_ALIGN = ("align",)

BASE_KVS = [KV("general.architecture", STRING, "test")]


def gguf(kvs=(), tensors=(), *, base_kvs=True, **knobs) -> bytes:
    """A file that is well-formed except for whatever the arguments break."""
    all_kvs = (BASE_KVS if base_kvs else []) + list(kvs)
    return GGUFFile(kvs=all_kvs, tensors=list(tensors), **knobs).build()


def f32(name: str = "a", dims=(8,), **kw) -> Tensor:
    return Tensor(name, list(dims), F32, **kw)


def header(version=3, n_tensors=0, n_kv=0, magic=MAGIC) -> bytes:
    return magic + u32(version) + u64(n_tensors) + u64(n_kv)


def raw_kv(key: str, vtype: int, value_bytes: bytes) -> KV:
    return KV(key, vtype, raw_value=value_bytes)


CASES: list[Case] = [
    # --- file / header level ---
    Case("empty_file", b"", K_EOF + ("empty", "magic", "header")),
    Case("truncated_magic", b"GG", K_EOF + ("magic", "header")),
    Case("truncated_before_counts", MAGIC + u32(3), K_EOF + ("n_tensors", "tensor", "header")),
    Case("truncated_mid_n_kv", header()[:-3], K_EOF + ("n_kv", "kv", "header")),
    Case("bad_magic", gguf(magic=b"GGUG"), ("magic",)),
    Case("bad_magic_lowercase", gguf(magic=b"gguf"), ("magic",)),
    Case("bad_magic_ggml", gguf(magic=b"GGML"), ("magic",)),
    Case("version_0", gguf(version=0), ("version",)),
    # GGUF v1 used u32 counts; it must be refused by name, not misparsed.
    Case("version_1", gguf(version=1), ("version 1", "version: 1", "v1")),
    Case("version_99", gguf(version=99), ("version",)),
    Case("version_u32_max", gguf(version=U32_MAX), ("version",)),
    # A big-endian file: version 3 reads back as 0x03000000.
    Case("version_big_endian", gguf(version=0x03000000), ("version", "endian")),

    # --- counts far larger than the file ---
    Case("n_kv_2p62", header(n_kv=2**62), ("kv", "key", "metadata") + K_EOF),
    Case("n_kv_u64_max", header(n_kv=U64_MAX), ("kv", "key", "metadata") + K_EOF),
    Case("n_tensors_2p62", header(n_tensors=2**62), ("tensor",)),
    Case("n_tensors_u64_max", header(n_tensors=U64_MAX), ("tensor",)),
    Case("n_kv_huge_after_real_kv", gguf(n_kv=2**62, padding=0), ("kv", "key", "metadata") + K_EOF),

    # --- strings ---
    Case("key_length_huge",
         gguf([KV("k", UINT8, 0, raw_key=gguf_string("k", length=999_999_999))]), K_STRLEN),
    Case("key_length_u64_max",
         gguf([KV("k", UINT8, 0, raw_key=gguf_string("k", length=U64_MAX))]), K_STRLEN),
    Case("string_value_length_huge",
         gguf([raw_kv("general.name", STRING, gguf_string("x", length=2**62))]), K_STRLEN),
    Case("string_value_length_u64_max",
         gguf([raw_kv("general.name", STRING, gguf_string("x", length=U64_MAX))]), K_STRLEN),
    Case("tensor_name_length_huge",
         gguf(tensors=[f32(raw_name=gguf_string("a", length=2**62))]), K_STRLEN + ("name",)),

    # --- arrays ---
    # count * 4 wraps to 0 in u64: a naive bounds check would pass.
    Case("array_count_wraps_u32",
         gguf([raw_kv("test.arr", ARRAY, u32(UINT32) + u64(2**62) + u32(1))]), K_ARRAY_COUNT),
    Case("array_count_wraps_u64",
         gguf([raw_kv("test.arr", ARRAY, u32(UINT64) + u64(2**61) + u64(1))]), K_ARRAY_COUNT),
    Case("array_count_u64_max",
         gguf([raw_kv("test.arr", ARRAY, u32(UINT8) + u64(U64_MAX) + b"\x01")]), K_ARRAY_COUNT),
    # Strings have no fixed size, so the count alone can't be checked against the
    # file size up front; each element still needs at least 8 bytes.
    Case("array_of_strings_count_huge",
         gguf([raw_kv("test.arr", ARRAY, u32(STRING) + u64(2**40) + gguf_string("a"))]),
         K_ARRAY_COUNT),
    Case("array_elem_type_13",
         gguf([raw_kv("test.arr", ARRAY, u32(13) + u64(1) + u32(0))]), K_TYPE),
    Case("array_elem_type_u32_max",
         gguf([raw_kv("test.arr", ARRAY, u32(U32_MAX) + u64(1) + u32(0))]), K_TYPE),
    Case("nested_array",
         gguf([raw_kv("test.arr", ARRAY, u32(ARRAY) + u64(1) + u32(UINT8) + u64(1) + b"\x07")]),
         ("nested", "array")),

    # --- KV value types ---
    Case("kv_type_13", gguf([raw_kv("test.x", 13, u32(0))]), K_TYPE),
    Case("kv_type_u32_max", gguf([raw_kv("test.x", U32_MAX, u32(0))]), K_TYPE),

    # --- bool values other than 0 and 1 (undefined behaviour if read as a C++ bool) ---
    Case("bool_value_2", gguf([KV("test.flag", BOOL, raw_value=bytes([2]))]), ("bool",)),
    Case("bool_array_element_255",
         gguf([KV("test.flags", ARRAY, raw_value=u32(BOOL) + u64(2) + bytes([1, 255]))]), ("bool",)),
    # --- duplicates ---
    Case("duplicate_key", gguf([KV("general.architecture", STRING, "other")]), ("duplicate",)),
    Case("duplicate_key_different_type",
         gguf([KV("test.k", UINT32, 1), KV("test.k", FLOAT32, 1.0)]), ("duplicate",)),
    Case("duplicate_tensor_name", gguf(tensors=[f32("w"), f32("w")]), ("duplicate",)),

    # --- alignment ---
    Case("alignment_0", gguf([KV(ALIGNMENT_KEY, UINT32, 0)], [f32()]), K_ALIGN),
    Case("alignment_3", gguf([KV(ALIGNMENT_KEY, UINT32, 3)], [f32()]), K_ALIGN),
    Case("alignment_48", gguf([KV(ALIGNMENT_KEY, UINT32, 48)], [f32()]), K_ALIGN),
    Case("alignment_u32_max", gguf([KV(ALIGNMENT_KEY, UINT32, U32_MAX)], [f32()]), K_ALIGN),
    Case("alignment_as_string", gguf([KV(ALIGNMENT_KEY, STRING, "32")], [f32()]), K_ALIGN + K_TYPE),
    Case("alignment_as_u64", gguf([KV(ALIGNMENT_KEY, UINT64, 32)], [f32()]), K_ALIGN + K_TYPE),
    Case("alignment_as_i32", gguf([KV(ALIGNMENT_KEY, INT32, 32)], [f32()]), K_ALIGN + K_TYPE),
    # A legal power of two, but the data section it implies starts past EOF
    # (the file itself is padded to 32).
    Case("alignment_data_after_eof",
         gguf([KV(ALIGNMENT_KEY, UINT32, 2**31)], [f32()], alignment=32), K_ALIGN + K_OUT_OF_FILE),

    # --- tensor infos ---
    Case("n_dims_5", gguf(tensors=[f32(dims=(8, 1, 1, 1, 1))]), K_DIMS),
    # Only one dim is actually written: the reader must not trust n_dims.
    Case("n_dims_u32_max", gguf(tensors=[f32(dims=(8,), n_dims=U32_MAX)]), K_DIMS),
    # ids 4, 5 (Q4_2/Q4_3), 31-33, 36-38 were removed from ggml; 42+ don't exist.
    *[Case(f"tensor_type_{t}", gguf(tensors=[Tensor("a", [32], t)]), K_TYPE)
      for t in (4, 5, 31, 32, 33, 36, 37, 38, 42, 99, U32_MAX)],
    # Element count 2**64: 0 in u64 arithmetic, so a naive size check would pass.
    Case("dims_product_wraps_u64", gguf(tensors=[f32(dims=(2**32, 2**32))]), K_OVERFLOW),
    Case("dims_product_over_int64", gguf(tensors=[f32(dims=(2**61, 5))]), K_OVERFLOW),
    Case("dim_over_int64", gguf(tensors=[f32(dims=(2**63,))]), K_OVERFLOW),
    # Element count fits int64; the byte size (x4) wraps to 0.
    Case("byte_size_wraps_u64", gguf(tensors=[f32(dims=(2**62,))]), K_OVERFLOW),
    Case("dim_zero_first", gguf(tensors=[f32(dims=(0, 4))]), K_DIMS + ("zero", "empty")),
    Case("dim_zero_second", gguf(tensors=[f32(dims=(4, 0))]), K_DIMS + ("zero", "empty")),
    Case("row_not_block_multiple_q4_0",
         gguf(tensors=[Tensor("a", [33, 1], Q4_0)]), ("block", "divisible", "multiple")),
    Case("row_not_block_multiple_q8_0",
         gguf(tensors=[Tensor("a", [16], Q8_0)]), ("block", "divisible", "multiple")),

    # --- tensor placement ---
    Case("misaligned_offset_first", gguf(tensors=[f32(offset=4)]), K_ALIGN),
    Case("misaligned_offset_second", gguf(tensors=[f32("a"), f32("b", offset=36)]), K_ALIGN),
    Case("overlap_same_offset", gguf(tensors=[f32("a", offset=0), f32("b", offset=0)]), ("overlap",)),
    Case("overlap_partial",
         gguf(tensors=[f32("a", dims=(16,), offset=0), f32("b", offset=32)]), ("overlap",)),
    Case("offset_past_eof", gguf(tensors=[f32("a"), f32("b", offset=1 << 20)]), K_OUT_OF_FILE),
    # The last tensor needs 32 bytes; only 31 are there.
    Case("tensor_one_byte_short", gguf(tensors=[f32()], data=bytes(31)), K_OUT_OF_FILE),
    # offset + 64 wraps to 32, inside the 128-byte data section.
    Case("offset_plus_size_wraps",
         gguf(tensors=[f32("a", dims=(16,), offset=2**64 - 32)], data=bytes(128)),
         K_OUT_OF_FILE + ("overflow", "wrap")),
    Case("huge_tensor_tiny_file", gguf(tensors=[f32(dims=(2**40,))]),
         K_OUT_OF_FILE + ("size", "large")),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_rejected(case, tmp_path):
    proc = inspect(tmp_path, case.data)
    assert_rejected(proc, case.id)
    err = proc.stderr.lower()
    assert any(k.lower() in err for k in case.keywords), (
        f"{case.id}: error doesn't mention any of {case.keywords}:\n{proc.stderr}")


def test_case_ids_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


# --------------------------------------------------------------------------
# Truncation sweep.
# --------------------------------------------------------------------------

# Enough cut points to cover every field of a small header while keeping the
# sweep to a few seconds even under sanitizers.
MAX_CUTS = 400


def truncation_points(size: int, data_start: int) -> list[int]:
    """Every offset before the data section if that fits in MAX_CUTS, else a
    stride over it (plus the whole fixed header); a few cuts inside the data."""
    stride = max(1, -(-data_start // MAX_CUTS))
    cuts = set(range(0, data_start, stride)) | set(range(min(data_start, 64)))
    cuts |= {data_start, data_start + 1, (data_start + size) // 2, size - 1}
    return sorted(c for c in cuts if c < size)


def test_truncated_valid_file_rejected(tmp_path):
    gf = valid_file()
    data = gf.build()
    cuts = truncation_points(len(data), gf.data_start())

    def run(cut: int):
        proc = inspect(tmp_path, data[:cut], name=f"cut{cut}.gguf")
        return cut, proc

    failures = []
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        for cut, proc in pool.map(run, cuts):
            try:
                assert_rejected(proc, f"truncated at {cut}/{len(data)}")
            except AssertionError as e:
                failures.append(str(e))
    assert not failures, f"{len(failures)} of {len(cuts)} truncations mishandled:\n" + "\n".join(failures[:10])

"""A small raw GGUF byte builder for tests.

It is deliberately independent of gguf-py's writer: the point is to emit files
that a real writer never would (wrong counts, bad lengths, unknown type ids,
misplaced offsets, missing padding, ...), so every field the reader looks at can
be overridden. With no overrides, `GGUFFile.build()` produces a well-formed file,
which the tests cross-check against gguf-py's GGUFReader.

All integers are little-endian, as in the GGUF spec.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, Optional

from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
ALIGNMENT_KEY = "general.alignment"

# GGUF metadata value type ids.
UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64 = range(13)

# struct formats for the fixed-size value types.
_SCALAR_FORMATS = {
    UINT8: "<B", INT8: "<b", UINT16: "<H", INT16: "<h", UINT32: "<I", INT32: "<i",
    FLOAT32: "<f", BOOL: "<B", UINT64: "<Q", INT64: "<q", FLOAT64: "<d",
}

# ggml tensor type ids used by the tests.
F32 = int(GGMLQuantizationType.F32)
F16 = int(GGMLQuantizationType.F16)
Q4_0 = int(GGMLQuantizationType.Q4_0)
Q8_0 = int(GGMLQuantizationType.Q8_0)

# Auto-filled tensor data is only written when it ends below this many bytes, so
# that a tensor declared huge (or placed far away) yields a tiny file instead of
# an attempt to allocate its declared size.
AUTO_DATA_LIMIT = 1 << 16

# Bytes reserved in the auto layout for a tensor whose size cannot be computed
# (unknown type id, row length not a multiple of the block size): generous enough
# that a reader which sizes it anyway still finds the bytes inside the file.
UNSIZED_RESERVE = 64


def u32(v: int) -> bytes:
    return struct.pack("<I", v)


def u64(v: int) -> bytes:
    return struct.pack("<Q", v)


def gguf_string(s: str | bytes, length: Optional[int] = None) -> bytes:
    """A GGUF string: u64 byte length, then the bytes (no terminator).

    `length` overrides the declared length without changing the bytes written.
    """
    raw = s.encode() if isinstance(s, str) else s
    return u64(len(raw) if length is None else length) + raw


def align_up(n: int, alignment: int) -> int:
    return (n + alignment - 1) // alignment * alignment


def tensor_nbytes(ggml_type: int, dims: list[int]) -> Optional[int]:
    """Byte size of a tensor in exact arithmetic, or None when it is undefined
    (unknown/removed type id, or dims[0] not a multiple of the block size)."""
    try:
        block_size, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(ggml_type)]
    except (ValueError, KeyError):
        return None
    row = dims[0] if dims else 1
    if row % block_size:
        return None
    n = row // block_size * type_size
    for d in dims[1:]:
        n *= d
    return n


@dataclass
class Array:
    """An array value. `count` overrides the declared element count, `raw_items`
    replaces the encoded elements (e.g. to make them inconsistent with the type)."""
    elem_type: int
    items: list = field(default_factory=list)
    count: Optional[int] = None
    raw_items: Optional[bytes] = None


def _pack_scalar(vtype: int, value: Any) -> bytes:
    fmt = _SCALAR_FORMATS[vtype]
    if vtype in (INT8, INT16, INT32, INT64) and value >= 1 << (8 * struct.calcsize(fmt) - 1):
        # Allow bit patterns beyond the signed range (e.g. INT64 0xFFFF...) by
        # packing them with the unsigned format of the same width.
        fmt = fmt.upper()
    return struct.pack(fmt, value)


def encode_value(vtype: int, value: Any) -> bytes:
    """Encodes a value (without its type id) as GGUF stores it."""
    if vtype == STRING:
        return gguf_string(value)
    if vtype == ARRAY:
        arr = value
        count = len(arr.items) if arr.count is None else arr.count
        if arr.raw_items is not None:
            body = arr.raw_items
        else:
            body = b"".join(encode_value(arr.elem_type, item) for item in arr.items)
        return u32(arr.elem_type) + u64(count) + body
    return _pack_scalar(vtype, value)


@dataclass
class KV:
    """One metadata key/value. `raw_key` / `raw_value` replace the encoded key
    string / value bytes, for lengths or payloads that don't match the type."""
    key: str | bytes
    vtype: int
    value: Any = None
    raw_key: Optional[bytes] = None
    raw_value: Optional[bytes] = None

    def encode(self) -> bytes:
        key = self.raw_key if self.raw_key is not None else gguf_string(self.key)
        value = self.raw_value if self.raw_value is not None else encode_value(self.vtype, self.value)
        return key + u32(self.vtype) + value


@dataclass
class Tensor:
    """One tensor info plus (optionally) its data.

    offset:  relative to the data section; None lets `GGUFFile` lay it out.
    n_dims:  overrides the declared dimension count (dims written are unchanged).
    data:    the tensor bytes; None means zeros of the computed size.
    reserve: bytes to reserve in the data section; None means the computed size.
    raw_name: replaces the encoded name string.
    """
    name: str
    dims: list[int]
    ggml_type: int = F32
    offset: Optional[int] = None
    n_dims: Optional[int] = None
    data: Optional[bytes] = None
    reserve: Optional[int] = None
    raw_name: Optional[bytes] = None

    def nbytes(self) -> Optional[int]:
        return tensor_nbytes(self.ggml_type, self.dims)

    def footprint(self) -> int:
        """Bytes this tensor occupies in an auto-built data section."""
        if self.reserve is not None:
            return self.reserve
        if self.data is not None:
            return len(self.data)
        n = self.nbytes()
        return UNSIZED_RESERVE if n is None else n

    def encode_info(self, offset: int) -> bytes:
        name = self.raw_name if self.raw_name is not None else gguf_string(self.name)
        n_dims = len(self.dims) if self.n_dims is None else self.n_dims
        dims = b"".join(u64(d) for d in self.dims)
        return name + u32(n_dims) + dims + u32(self.ggml_type) + u64(offset)


@dataclass
class GGUFFile:
    """A whole GGUF file. Every `None` knob means "derive the correct value".

    n_tensors / n_kv: declared counts (default: len of the lists).
    alignment: used for padding and auto layout. Default: the value of a
        well-formed u32 `general.alignment` KV, else 32. It does not change the
        KV itself, so a file can declare one alignment and be padded to another.
    padding: explicit number of pad bytes between tensor infos and data.
    data: the explicit data section (default: tensors laid out and filled in).
    trailer: extra bytes appended after everything else.
    """
    kvs: list[KV] = field(default_factory=list)
    tensors: list[Tensor] = field(default_factory=list)
    magic: bytes = MAGIC
    version: int = 3
    n_tensors: Optional[int] = None
    n_kv: Optional[int] = None
    alignment: Optional[int] = None
    padding: Optional[int] = None
    data: Optional[bytes] = None
    trailer: bytes = b""

    def effective_alignment(self) -> int:
        if self.alignment is not None:
            return self.alignment
        for kv in self.kvs:
            if (kv.key == ALIGNMENT_KEY and kv.vtype == UINT32 and kv.raw_value is None
                    and isinstance(kv.value, int) and kv.value > 0 and kv.value & (kv.value - 1) == 0):
                return kv.value
        return DEFAULT_ALIGNMENT

    def tensor_offsets(self) -> list[int]:
        """Offsets as written: explicit ones as given, the rest packed after the
        furthest auto-laid-out tensor so far, each aligned."""
        alignment = self.effective_alignment()
        offsets, cursor = [], 0
        for t in self.tensors:
            if t.offset is not None:
                offsets.append(t.offset)
                continue
            off = align_up(cursor, alignment)
            offsets.append(off)
            cursor = off + t.footprint()
        return offsets

    def header(self) -> bytes:
        n_tensors = len(self.tensors) if self.n_tensors is None else self.n_tensors
        n_kv = len(self.kvs) if self.n_kv is None else self.n_kv
        return self.magic + u32(self.version) + u64(n_tensors) + u64(n_kv)

    def metadata(self) -> bytes:
        """Header, KVs and tensor infos: everything before the padding."""
        kvs = b"".join(kv.encode() for kv in self.kvs)
        infos = b"".join(t.encode_info(off) for t, off in zip(self.tensors, self.tensor_offsets()))
        return self.header() + kvs + infos

    def data_section(self) -> bytes:
        if self.data is not None:
            return self.data
        buf = bytearray()
        for t, off in zip(self.tensors, self.tensor_offsets()):
            size = t.footprint()
            if off + size > AUTO_DATA_LIMIT:
                continue
            payload = t.data if t.data is not None else bytes(size)
            if len(buf) < off + size:
                buf.extend(bytes(off + size - len(buf)))
            buf[off:off + len(payload)] = payload
        return bytes(buf)

    def data_start(self) -> int:
        """Absolute file offset of the data section as built."""
        meta = len(self.metadata())
        if self.padding is not None:
            return meta + self.padding
        return align_up(meta, self.effective_alignment())

    def build(self) -> bytes:
        meta = self.metadata()
        pad = self.data_start() - len(meta)
        return meta + bytes(pad) + self.data_section() + self.trailer

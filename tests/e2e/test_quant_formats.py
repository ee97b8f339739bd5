"""Tensor type formats against gguf-py, the reference implementation (issue 3, deliverables 2-3).

Drives the `quant_tool` test helper (tests/tools/quant_tool.cpp), which runs the type table's
dequantize / quantize on raw files:
- dequantize of random blocks (random quants, finite f16 scales incl. zero, subnormal, negative and
  the largest f16) is bit-exact with gguf.quants.dequantize for every type gguf-py decodes;
- quantize is bit-exact with gguf.quants.quantize wherever gguf-py implements it (no importance);
- quantize -> dequantize error stays within bounds derived from the bits per quant, for every type
  with a quantizer, and importance weights reduce the importance-weighted error.
"""
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from gguf import GGMLQuantizationType as T
from gguf import quants
from gguf.constants import GGML_QUANT_SIZES

from conftest import REPO

TOOL = Path(os.environ.get("TESSERA_QUANT_TOOL", REPO / "build" / "tests" / "quant_tool"))

# Byte offsets of the f16 fields in each block (kept finite so the comparison is NaN-free).
F16_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
    T.IQ2_XXS: [0], T.IQ2_XS: [0], T.IQ2_S: [0], T.IQ3_XXS: [0], T.IQ3_S: [0], T.IQ1_S: [0],
    T.IQ4_NL: [0], T.IQ4_XS: [0], T.TQ1_0: [52], T.TQ2_0: [64], T.MXFP4: [], T.IQ1_M: [],
}
BLOCK_TYPES = list(F16_FIELDS)

# Types with a quantizer; the value is the number of bits per quant, from which the error bound is
# derived. gguf-py implements quantize for those in BITEXACT_QUANTIZE.
QUANTIZE_BITS = {
    T.F16: 11, T.BF16: 8, T.Q4_0: 4, T.Q4_1: 4, T.Q5_0: 5, T.Q5_1: 5, T.Q8_0: 8,
    T.Q2_K: 2, T.Q3_K: 3, T.Q4_K: 4, T.Q5_K: 5, T.Q6_K: 6, T.IQ4_NL: 4, T.IQ4_XS: 4,
    T.TQ1_0: 1.58, T.TQ2_0: 1.58, T.MXFP4: 4,
}
BITEXACT_QUANTIZE = [T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.TQ1_0, T.TQ2_0, T.MXFP4]

EDGE_F16 = np.array([0x0000, 0x8000, 0x0001, 0x83ff, 0x0400, 0x7bff, 0xfbff, 0x3c00, 0xbc00, 0x1400],
                    dtype=np.uint16)


@pytest.fixture(scope="module")
def tool():
    if not TOOL.exists():
        pytest.fail(f"quant_tool not found at {TOOL}; build first")
    return TOOL


def run_tool(tool, *args):
    result = subprocess.run([str(tool), *map(str, args)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def type_name(qtype: T) -> str:
    return qtype.name.lower()


def finite_f16(rng, count):
    """Random finite f16 bit patterns (every exponent but the inf/NaN one), edge values first."""
    bits = rng.integers(0, 0x10000, size=count, dtype=np.uint32).astype(np.uint16)
    exponent_all_ones = (bits & 0x7c00) == 0x7c00
    bits[exponent_all_ones] &= 0xbfff  # clear the top exponent bit: finite
    bits[: min(count, len(EDGE_F16))] = EDGE_F16[: min(count, len(EDGE_F16))]
    return bits


def random_blocks(qtype, n_blocks, rng):
    """n_blocks random blocks of qtype with finite scales; edge scales in the first blocks."""
    _, type_size = GGML_QUANT_SIZES[qtype]
    blocks = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    for offset in F16_FIELDS[qtype]:
        blocks[:, offset:offset + 2] = finite_f16(rng, n_blocks).view(np.uint8).reshape(n_blocks, 2)
    if qtype == T.IQ1_M:  # the f16 scale is spread over the top nibbles of four u16 scale words
        d = finite_f16(rng, n_blocks)
        words = blocks[:, 48:56].copy().view(np.uint16)
        for k in range(4):
            words[:, k] = (words[:, k] & 0x0fff) | (((d >> (4 * k)) & 0xf) << 12)
        blocks[:, 48:56] = words.view(np.uint8)
    if qtype == T.MXFP4:
        blocks[:4, 0] = [0, 1, 127, 254]  # smallest exponents, 1.0, the largest finite
    return blocks


def tool_dequantize(tool, tmp_path, qtype, data: np.ndarray) -> np.ndarray:
    src, dst = tmp_path / "in.bin", tmp_path / "out.f32"
    data.tofile(src)
    run_tool(tool, "dequantize", type_name(qtype), src, dst)
    return np.fromfile(dst, dtype=np.float32)


def tool_quantize(tool, tmp_path, qtype, x: np.ndarray, importance=None) -> np.ndarray:
    src, dst, imp = tmp_path / "in.f32", tmp_path / "out.bin", tmp_path / "imp.f32"
    x.astype(np.float32).tofile(src)
    args = ["quantize", type_name(qtype), src, dst]
    if importance is not None:
        importance.astype(np.float32).tofile(imp)
        args.append(imp)
    run_tool(tool, *args)
    return np.fromfile(dst, dtype=np.uint8)


def assert_bits_equal(ours: np.ndarray, ref: np.ndarray, what: str):
    ours, ref = ours.ravel(), ref.ravel()
    assert ours.shape == ref.shape, what
    diff = np.flatnonzero(ours.view(np.uint32) != ref.view(np.uint32))
    assert diff.size == 0, f"{what}: {diff.size} elements differ, first at {diff[0]}: ours {ours[diff[0]]!r} vs gguf-py {ref[diff[0]]!r}"


@pytest.mark.parametrize("qtype", BLOCK_TYPES, ids=type_name)
def test_dequantize_matches_gguf_py(tool, tmp_path, qtype):
    rng = np.random.default_rng(1000 + qtype.value)
    blocks = random_blocks(qtype, 512, rng)
    ours = tool_dequantize(tool, tmp_path, qtype, blocks)
    with np.errstate(over="ignore"):  # MXFP4's largest exponent times 6 overflows to inf, in both
        ref = quants.dequantize(blocks, qtype)
    assert not np.isnan(ref).any()
    assert_bits_equal(ours, ref, f"dequantize {qtype.name}")


@pytest.mark.parametrize("qtype", [T.F16, T.BF16, T.F32], ids=type_name)
def test_dequantize_float_types(tool, tmp_path, qtype):
    rng = np.random.default_rng(7)
    if qtype == T.F32:
        data = rng.standard_normal(4096).astype(np.float32) * np.float32(1e30)
        ref = data
    else:
        bits = finite_f16(rng, 4096) if qtype == T.F16 else rng.integers(0, 0x10000, 4096, dtype=np.uint32).astype(np.uint16)
        if qtype == T.BF16:
            bits[(bits & 0x7f80) == 0x7f80] &= 0xbfff  # NaN-free
        data = bits
        ref = quants.dequantize(bits.view(np.uint8), qtype)
    assert_bits_equal(tool_dequantize(tool, tmp_path, qtype, data), ref, f"dequantize {qtype.name}")


def test_dequantize_q8_k_and_q8_1(tool, tmp_path):
    """Activation types gguf-py does not decode: y = d * q (Q8_K's d is f32)."""
    rng = np.random.default_rng(3)
    qs = rng.integers(-128, 128, size=(8, 256), dtype=np.int8)
    d = rng.standard_normal(8).astype(np.float32)
    blocks = np.concatenate([d.reshape(8, 1).view(np.uint8), qs.view(np.uint8), np.zeros((8, 32), np.uint8)], axis=1)
    ours = tool_dequantize(tool, tmp_path, T.Q8_K, blocks)
    assert_bits_equal(ours, (d.reshape(8, 1) * qs.astype(np.float32)).ravel(), "dequantize Q8_K")
    qs = rng.integers(-128, 128, size=(8, 32), dtype=np.int8)
    d16 = finite_f16(rng, 8)
    blocks = np.concatenate([d16.reshape(8, 1).view(np.uint8), np.zeros((8, 2), np.uint8), qs.view(np.uint8)], axis=1)
    ours = tool_dequantize(tool, tmp_path, T.Q8_1, blocks)
    ref = d16.view(np.float16).astype(np.float32).reshape(8, 1) * qs.astype(np.float32)
    assert_bits_equal(ours, ref.ravel(), "dequantize Q8_1")


def quantize_inputs(rng, block_size):
    """Rows covering ordinary and awkward blocks: gaussian, heavy tails, tiny and huge scales,
    all-zero, constant, positive-only, exact halfway values, a single spike."""
    n_blocks = 64
    x = rng.standard_normal((n_blocks, block_size)).astype(np.float32)
    x[1] *= np.float32(1e-5)
    x[2] *= np.float32(3e3)
    x[3] = 0
    x[4] = 0.75
    x[5] = np.abs(x[5])
    x[6] = -np.abs(x[6])
    x[7] = np.round(x[7] * 4) / 4
    x[8] = 0
    x[8, block_size // 3] = -2.5
    x[9] = rng.standard_cauchy(block_size).astype(np.float32).clip(-50, 50)
    x[10] = np.arange(block_size, dtype=np.float32) - block_size / 2
    return x.ravel()


@pytest.mark.parametrize("qtype", BITEXACT_QUANTIZE, ids=type_name)
def test_quantize_matches_gguf_py(tool, tmp_path, qtype):
    block_size, _ = GGML_QUANT_SIZES[qtype]
    rng = np.random.default_rng(2000 + qtype.value)
    x = quantize_inputs(rng, max(block_size, 256))
    ours = tool_quantize(tool, tmp_path, qtype, x)
    ref = quants.quantize(x.reshape(-1, 256), qtype).view(np.uint8).ravel()
    assert ours.shape == ref.shape
    mismatch = np.flatnonzero(ours != ref)
    assert mismatch.size == 0, f"{qtype.name}: {mismatch.size} bytes differ, first at byte {mismatch[0]}"


def test_mxfp4_exponent_at_powers_of_two(tool, tmp_path):
    """The shared exponent comes from floor(log2(max|x|)): values at and just below powers of two."""
    rng = np.random.default_rng(5)
    maxima = []
    for e in range(-20, 20):
        p = np.float32(2.0) ** e
        maxima += [p, np.nextafter(p, np.float32(0)), np.nextafter(p, np.float32(np.inf))]
    x = rng.uniform(-1, 1, size=(len(maxima), 32)).astype(np.float32) * np.array(maxima, np.float32).reshape(-1, 1)
    x[:, 7] = maxima
    ours = tool_quantize(tool, tmp_path, T.MXFP4, x.ravel())
    ref = quants.quantize(x, T.MXFP4).ravel()
    assert np.array_equal(ours, ref)


def rel_rmse(x, y, w=None):
    w = np.ones_like(x) if w is None else w
    return float(np.sqrt(np.sum(w * (x - y) ** 2) / np.sum(w * x * x)))


def gaussian_rows(rng, rows=64, cols=1024):
    # Rows of different magnitudes, like the rows of a weight matrix.
    return (rng.standard_normal((rows, cols)) * rng.uniform(0.01, 2.0, size=(rows, 1))).astype(np.float32)


@pytest.mark.parametrize("qtype", list(QUANTIZE_BITS), ids=type_name)
def test_quantize_error_within_bits_bound(tool, tmp_path, qtype):
    """Relative RMSE of quantize -> dequantize on gaussian rows <= 1.5 * 2^-bits (a uniform
    quantizer spanning +-3 sigma with 2^bits levels has about 1.7 * 2^-bits; block scales do
    better). MXFP4 gets 2 * 2^-4: its power-of-two block scale wastes up to one bit of range.
    Ternary types are checked on ternary-like data (scaled {-1, 0, 1} plus 5% noise), where the
    reference scale d = max|x| (which gguf-py fixes) leaves the +-1 levels about 15% low."""
    rng = np.random.default_rng(3000 + qtype.value)
    x = gaussian_rows(rng)
    if qtype in (T.TQ1_0, T.TQ2_0):
        x = (rng.integers(-1, 2, size=x.shape) + 0.05 * rng.standard_normal(x.shape)).astype(np.float32)
        bound = 0.2
    else:
        bound = (2.0 if qtype == T.MXFP4 else 1.5) * 2.0 ** -QUANTIZE_BITS[qtype]
    blocks = tool_quantize(tool, tmp_path, qtype, x.ravel())
    y = tool_dequantize(tool, tmp_path, qtype, blocks).reshape(x.shape)
    err = rel_rmse(x, y)
    print(f"{qtype.name}: relative RMSE {err:.5f} (bound {bound:.5f})")
    assert err <= bound, f"{qtype.name}: relative RMSE {err:.5f} > bound {bound:.5f}"
    assert err > 0 or qtype in (T.F16, T.BF16)


@pytest.mark.parametrize("qtype", [q for q in QUANTIZE_BITS if q not in (T.F16, T.BF16)], ids=type_name)
def test_importance_reduces_weighted_error(tool, tmp_path, qtype):
    """An imatrix row (per-column weights, the same for every row) must lower the weighted error
    compared with quantizing without it, and must not make the result worse than 1.5x unweighted."""
    rng = np.random.default_rng(4000 + qtype.value)
    x = gaussian_rows(rng, rows=32, cols=2048)
    if qtype in (T.TQ1_0, T.TQ2_0):
        x = (rng.integers(-1, 2, size=x.shape) + 0.2 * rng.standard_normal(x.shape)).astype(np.float32)
    columns = rng.exponential(1.0, size=x.shape[1]) ** 3  # a few columns matter much more
    columns[rng.random(x.shape[1]) < 0.1] = 0  # and some were never activated
    w = np.broadcast_to(columns, x.shape).astype(np.float32)
    plain = tool_dequantize(tool, tmp_path, qtype, tool_quantize(tool, tmp_path, qtype, x.ravel())).reshape(x.shape)
    weighted = tool_dequantize(tool, tmp_path, qtype, tool_quantize(tool, tmp_path, qtype, x.ravel(), w.ravel())).reshape(x.shape)
    e_plain, e_weighted = rel_rmse(x, plain, w), rel_rmse(x, weighted, w)
    print(f"{qtype.name}: weighted relative RMSE {e_weighted:.5f} with importance, {e_plain:.5f} without")
    assert e_weighted < e_plain, f"{qtype.name}: weighted error {e_weighted:.5f} not below {e_plain:.5f}"
    assert rel_rmse(x, weighted) < 1.5 * rel_rmse(x, plain) + 1e-3

"""Quantization error per tensor type: Tessera's quantizers against ggml's, on the same rows.

usage: .venv-bench/bin/python bench/quant_type_error.py [--types Q4_K,Q6_K,...] [--tool PATH] [--ggml-lib PATH]

Needs a venv with llama-cpp-python (it builds llama.cpp; its libggml-base.so exports
ggml_quantize_chunk), gguf and numpy: `python3 -m venv .venv-bench && .venv-bench/bin/pip install
llama-cpp-python gguf numpy`, and Tessera's test helper build/tests/quant_tool.

Unlike bench/quant_error.py (whole files through `tessera quantize`), this calls both quantizers
per type directly, so it also compares them with importance weights (an imatrix row, the same
for every row): ggml_quantize_chunk takes one. Data: gaussian rows of varied magnitude and
heavy-tailed (Student t, 4 dof) rows, 256 x 2048 each. Both outputs are decoded by gguf-py.
Prints RMSE (importance-weighted RMSE in the imatrix columns) and the ratio Tessera / ggml
(< 1 is better), and whether the bytes are identical (the reference types should be).

Measured 2026-11-28 against llama-cpp-python 0.3.36's ggml (ratios tessera / ggml, gauss / t4):
without importance, Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 TQ1_0 TQ2_0 MXFP4 byte-identical (1.000); Q2_K
0.887 / 0.849, Q3_K 0.953 / 0.955, Q4_K 0.982 / 0.977, Q5_K 0.959 / 0.955, Q6_K 0.967 / 0.974,
IQ4_NL 0.967 / 0.967, IQ4_XS 0.968 / 0.969 (after the speed-up of the searches; before it Q6_K was
0.944 / 0.953, the rest 0.001-0.01 lower). With importance: 0.80-0.98 for every type (TQ1_0 /
TQ2_0 0.53-0.62: ggml's ternary quantizer ignores the imatrix).
"""
import argparse
import ctypes
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants
from gguf.constants import GGML_QUANT_SIZES

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TYPES = "Q4_0,Q4_1,Q5_0,Q5_1,Q8_0,Q2_K,Q3_K,Q4_K,Q5_K,Q6_K,IQ4_NL,IQ4_XS,TQ1_0,TQ2_0,MXFP4"


def load_ggml(path):
    if path is None:
        import llama_cpp  # noqa: F401 -- only to find its bundled libraries
        path = Path(llama_cpp.__file__).parent / "lib" / "libggml-base.so"
    lib = ctypes.CDLL(str(path))
    lib.ggml_quantize_chunk.restype = ctypes.c_size_t
    lib.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                        ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
    lib.ggml_quantize_init.argtypes = [ctypes.c_int]
    return lib


def ggml_quantize(lib, qtype, x, imatrix):
    rows, cols = x.shape
    block_size, type_size = GGML_QUANT_SIZES[qtype]
    out = np.zeros(rows * cols // block_size * type_size, np.uint8)
    lib.ggml_quantize_init(int(qtype))
    lib.ggml_quantize_chunk(int(qtype), x.ctypes.data, out.ctypes.data, 0, rows, cols,
                            None if imatrix is None else imatrix.ctypes.data)
    return out


def tessera_quantize(tool, tmp, qtype, x, imatrix):
    src, dst, imp = tmp / "x.f32", tmp / "q.bin", tmp / "imp.f32"
    x.tofile(src)
    args = [str(tool), "quantize", qtype.name.lower(), str(src), str(dst)]
    if imatrix is not None:
        np.broadcast_to(imatrix, x.shape).astype(np.float32).tofile(imp)
        args.append(str(imp))
    subprocess.run(args, check=True)
    return np.fromfile(dst, np.uint8)


def rmse(x, blocks, qtype, w):
    y = quants.dequantize(blocks, qtype).reshape(x.shape)
    w = np.broadcast_to(w, x.shape)
    return float(np.sqrt(np.sum(w * (x - y) ** 2) / np.sum(w)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--types", default=DEFAULT_TYPES)
    parser.add_argument("--tool", default=REPO / "build" / "tests" / "quant_tool", type=Path)
    parser.add_argument("--ggml-lib", default=None)
    args = parser.parse_args()
    lib = load_ggml(args.ggml_lib)
    rng = np.random.default_rng(0)
    rows, cols = 256, 2048
    data = {
        "gauss": (rng.standard_normal((rows, cols)) * rng.uniform(0.005, 0.05, (rows, 1))).astype(np.float32),
        "t4": (rng.standard_t(4, (rows, cols)) * 0.02).astype(np.float32),
    }
    imatrix = (rng.exponential(1.0, cols) ** 2).astype(np.float32)
    ones = np.ones(cols, np.float32)
    print(f"{'type':8} {'data':6} {'ggml':>10} {'tessera':>10} {'ratio':>6} {'bytes':>9} |"
          f" {'ggml imat':>10} {'tess imat':>10} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in args.types.split(","):
            qtype = T[name]
            for label, x in data.items():
                g, t = ggml_quantize(lib, qtype, x, None), tessera_quantize(args.tool, tmp, qtype, x, None)
                gi, ti = ggml_quantize(lib, qtype, x, imatrix), tessera_quantize(args.tool, tmp, qtype, x, imatrix)
                e_g, e_t = rmse(x, g, qtype, ones), rmse(x, t, qtype, ones)
                e_gi, e_ti = rmse(x, gi, qtype, imatrix), rmse(x, ti, qtype, imatrix)
                same = "identical" if np.array_equal(g, t) else "differ"
                print(f"{name:8} {label:6} {e_g:10.3e} {e_t:10.3e} {e_t / e_g:6.3f} {same:>9} |"
                      f" {e_gi:10.3e} {e_ti:10.3e} {e_ti / e_gi:6.3f}", flush=True)


if __name__ == "__main__":
    main()

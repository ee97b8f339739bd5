"""Quantization error of `tessera quantize` against llama.cpp's quantizer, per type, on the same weights.

usage: .venv-bench/bin/python bench/quant_error.py [--types Q4_0,Q6_K,...]

Needs a venv with llama-cpp-python (it builds llama.cpp and exposes llama_model_quantize), gguf and
numpy: `python3 -m venv .venv-bench && .venv-bench/bin/pip install llama-cpp-python gguf numpy`.

Writes one F32 model with heavy-tailed random weights at 1B-class shapes, quantizes it with
both tools using `--pure` (every tensor gets the preset's type, so the comparison is per type), and
dequantizes every quantized tensor with gguf-py (an independent decoder) to measure the RMSE
against the original weights. Prints both RMSEs and the ratio tessera / llama.cpp (< 1 is better).
Without importance weights only: llama-cpp-python cannot hand an imatrix to the quantizer.
"""
import argparse
import ctypes
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TYPES = "Q4_0,Q4_1,Q5_0,Q5_1,Q8_0,Q2_K,Q3_K_S,Q4_K_S,Q5_K_S,Q6_K,IQ4_NL,IQ4_XS,TQ2_0"
FTYPE = {"Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "Q5_0": 8, "Q5_1": 9, "Q2_K": 10, "Q3_K_S": 11, "Q4_K_S": 14,
         "Q5_K_S": 16, "Q6_K": 18, "IQ4_NL": 25, "IQ4_XS": 30, "TQ1_0": 36, "TQ2_0": 37}
SHARED = REPO.parent / "shared"


def write_model(path: Path) -> dict:
    """A 1-layer Llama with 1.1B-class shapes (n_embd 2048, n_ff 5632, 32 heads, 4 KV heads) and
    a real vocabulary, written by shared/tools/synth_model.py so that llama.cpp can load it."""
    subprocess.run([sys.executable, SHARED / "tools" / "synth_model.py", path,
                    SHARED / "testdata" / "vocab" / "ggml-vocab-llama-spm.gguf",
                    "2048", "1", "5632", "32", "4", "f32"], check=True, capture_output=True)
    return {t.name: np.array(t.data).reshape([int(d) for d in reversed(t.shape)])
            for t in GGUFReader(path).tensors if len(t.shape) >= 2}


def llama_cpp_quantize(src: Path, dst: Path, ftype: int) -> None:
    import llama_cpp
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.pure = True
    params.nthread = 2
    if llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), ctypes.byref(params)) != 0:
        raise RuntimeError(f"llama.cpp failed to quantize to ftype {ftype}")


def tessera_quantize(src: Path, dst: Path, preset: str) -> None:
    subprocess.run([REPO / "build" / "tessera", "quantize", "--pure", src, dst, preset, "2"],
                   check=True, capture_output=True)


def rmse(path: Path, weights: dict) -> tuple[float, str]:
    total, count, qtype = 0.0, 0, ""
    for t in GGUFReader(path).tensors:
        if t.name not in weights:  # 1-D norms stay f32 in both
            continue
        original = weights[t.name]
        restored = dequantize(t.data, t.tensor_type).reshape(original.shape)
        err = (restored - original) ** 2
        total += float(err.sum())
        count += err.size
        qtype = t.tensor_type.name
    return (total / count) ** 0.5, qtype


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--types", default=DEFAULT_TYPES)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / "f32.gguf"
        weights = write_model(src)
        print(f"{'preset':<8} {'type':<7} {'tessera RMSE':>13} {'llama.cpp RMSE':>15} {'ratio':>7}"
              f" {'tessera s':>10} {'llama.cpp s':>12}")
        for preset in args.types.split(","):
            ours, theirs = tmp / f"t-{preset}.gguf", tmp / f"l-{preset}.gguf"
            t0 = time.perf_counter()
            tessera_quantize(src, ours, preset)
            t1 = time.perf_counter()
            llama_cpp_quantize(src, theirs, FTYPE[preset])
            t2 = time.perf_counter()
            (e_ours, qtype), (e_theirs, _) = rmse(ours, weights), rmse(theirs, weights)
            print(f"{preset:<8} {qtype:<7} {e_ours:13.6g} {e_theirs:15.6g} {e_ours / e_theirs:7.3f}"
                  f" {t1 - t0:10.2f} {t2 - t1:12.2f}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Coverage of the JSON Schema -> grammar converter on real-world schemas.

For every schema in a folder (default: ../shared/testdata/jsonschemabench, 236 schemas sampled
from JSONSchemaBench), runs `tessera json-schema-to-grammar FILE --samples N` and validates each
generated JSON text with Python's jsonschema (the independent oracle). Prints the share that
compiles, the share whose every sample validates, and the error messages of the rest.

    .venv/bin/python bench/grammar_schema_coverage.py [--dir DIR] [--samples 5] [--bin build/tessera]
"""
import argparse
import collections
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema

REPO = Path(__file__).resolve().parents[1]


def check_schema(binary, path, samples, seed=1):
    """Returns (status, detail): status in compiled_valid / invalid / unsupported / bad_schema / crash."""
    schema = json.loads(Path(path).read_text())
    try:
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
    except Exception as e:  # not a valid schema: not counted
        return "bad_schema", str(e).splitlines()[0]
    r = subprocess.run([str(binary), "json-schema-to-grammar", str(path), "--samples", str(samples), "--seed", str(seed)],
                       capture_output=True, text=True, timeout=120)
    if r.returncode < 0 or r.returncode > 2:
        return "crash", r.stderr[-300:]
    if r.returncode != 0:
        return "unsupported", r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "?"
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    for text in json.loads(r.stdout):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as e:
            return "invalid", f"not JSON: {e}: {text[:200]!r}"
        errors = list(validator.iter_errors(value))
        if errors:
            return "invalid", f"{errors[0].message[:200]} in {text[:300]!r}"
    return "compiled_valid", ""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default=str(REPO.parent / "shared" / "testdata" / "jsonschemabench"))
    ap.add_argument("--samples", type=int, default=5)
    ap.add_argument("--bin", default=os.environ.get("TESSERA_BIN", str(REPO / "build" / "tessera")))
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    files = sorted(Path(args.dir).glob("*.json"))
    counts = collections.Counter()
    reasons = collections.Counter()
    for f in files:
        status, detail = check_schema(args.bin, f, args.samples)
        counts[status] += 1
        if status != "compiled_valid":
            key = detail.split(": ", 2)[-1][:90] if status == "unsupported" else detail[:90]
            reasons[(status, key)] += 1
            if args.verbose or status in ("invalid", "crash"):
                print(f"{status:12} {f.name}: {detail}")
    total = sum(counts.values()) - counts["bad_schema"]
    ok = counts["compiled_valid"]
    print(f"\nschemas: {len(files)} ({counts['bad_schema']} not valid JSON Schema, left out)")
    print(f"compiled, every sample valid: {ok}/{total} = {100.0 * ok / max(total, 1):.1f}%")
    print(f"unsupported (clear error):   {counts['unsupported']}")
    print(f"invalid output:              {counts['invalid']}")
    print(f"crashes:                     {counts['crash']}")
    print("\nmost common reasons:")
    for (status, why), n in reasons.most_common(15):
        print(f"  {n:4}  {status}: {why}")
    return 0 if counts["invalid"] == 0 and counts["crash"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

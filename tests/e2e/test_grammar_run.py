"""`tessera run` with grammars and JSON schemas, on the default model.

The seed's example: a pydantic model -> model_json_schema() -> `tessera run -jf` -> the output
parses and validates with jsonschema (the oracle), at temperature 1.0 with several seeds, and
generation stops when the grammar is complete (nothing after the closing brace).
"""
import json
import re
from typing import List

import jsonschema
import pytest
from pydantic import BaseModel

from conftest import REPO, run_tessera

MODEL = REPO / "models" / "gemma-3-270m-q4_k_m.gguf"
pytestmark = pytest.mark.skipif(not MODEL.exists(), reason="default model not installed (./setup.sh)")


class QAPair(BaseModel):
    question: str
    answer: str


class Summary(BaseModel):
    key_facts: List[str]
    qa_pairs: List[QAPair]


PROMPT = """Text: The shop opens at 9. Coffee costs 2 euros.
JSON: {"key_facts": ["The shop opens at 9.", "Coffee costs 2 euros."], "qa_pairs": [{"question": "When does the shop open?", "answer": "At 9."}]}

Text: The meeting moved to Tuesday. The budget of 40k was approved.
JSON: """


def generate(*args, n=256):
    r = run_tessera("run", "-m", MODEL, "--no-display-prompt", "-n", n, "-t", "2", *args, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout, r.stderr


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pydantic_summary_schema_output_validates(tmp_path, seed):
    schema = Summary.model_json_schema()
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(schema))
    out, err = generate("-p", PROMPT, "-jf", path, "--temp", "1.0", "-s", seed)
    value = json.loads(out)  # the whole output: nothing after the closing brace
    jsonschema.validate(value, schema)
    Summary.model_validate(value)
    assert out.rstrip().endswith("}")


def test_inline_json_schema_flag():
    schema = {"type": "object", "properties": {"answer": {"enum": ["yes", "no"]}, "confidence":
                                               {"type": "integer", "minimum": 0, "maximum": 100}},
              "required": ["answer", "confidence"]}
    out, _ = generate("-p", "Is the sky blue? Reply in JSON.\n", "-j", json.dumps(schema), "--temp", "1.0", "-s", "7",
                      n=64)
    jsonschema.validate(json.loads(out), schema)


def test_gbnf_grammar_flag():
    out, _ = generate("-p", "Is water wet? Answer:", "--grammar", 'root ::= " " ("yes" | "no") "."', "--temp", "1.0",
                      "-s", "5", n=16)
    assert out.strip() in ("yes.", "no."), out


def test_grammar_file_flag(tmp_path):
    path = tmp_path / "list.gbnf"
    path.write_text('root ::= item{2,3}\nitem ::= "- " [a-z ]{1,20} "\\n"\n')
    out, _ = generate("-p", "A shopping list:\n", "--grammar-file", path, "--temp", "1.0", "-s", "11", n=96)
    # the grammar's text, then the newline `tessera run` ends its output with
    assert re.fullmatch(r"(- [a-z ]{1,20}\n){2,3}\n?", out), repr(out)


@pytest.mark.parametrize("flags,message", [
    (["--grammar", "root ::= foo"], "--grammar: grammar:1:10: undefined rule 'foo'"),
    (["--grammar", 'root ::= "a" |'], None),
    (["-j", '{"type": "integer", "multipleOf": 7}'], "--json-schema: json schema: /: unsupported keyword 'multipleOf'"),
    (["-jf", "/nonexistent/schema.json"], "--json-schema-file: cannot read '/nonexistent/schema.json'"),
    (["--grammar", 'root ::= "a"', "-j", "{}"], "only one grammar or JSON schema may be given"),
])
def test_bad_grammars_are_usage_errors(flags, message):
    r = run_tessera("run", "-m", MODEL, "-p", "x", "-n", "4", *flags)
    if message is None:  # an empty alternative is valid GBNF
        assert r.returncode == 0, r.stderr
        return
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert message in r.stderr, r.stderr

"""The lake's facts have one copy: stockfeed_contracts.lake. A second spelling of the symbol rule or the key layout
anywhere in the product's code fails here (tests may spell layouts out: they pin them).

Reads string literals with `ast` (docstrings and comments may describe the layout; code may not build it), and
every other text file for the symbol pattern, which data files (CRDs, the chart's values schema) may only carry
verbatim, as the contracts' schema has it (their own tests compare them).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from stockfeed_contracts import QUOTE_V1, load_schema

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
CODE_ROOTS = ("contracts/src", "services", "operator/src", "dags", "tools/demo", "bench")
DATA_ROOTS = ("charts", "operator/crds", "services", "dags", "tools/demo")
OWNER = REPO / "contracts/src/stockfeed_contracts/lake.py"
SKIPPED_PARTS = {"tests", ".venv", "node_modules", "__pycache__", "build", "dist"}
SYMBOL_RULE = "[A-Z0-9][A-Z0-9"
# what only lake.py may write: key directories, the object name's shape and suffix, the dead-letter directory,
# the symbol rule, and the default names as whole strings
LAYOUT = re.compile(
    r"(?:^|/)(?:topic|dt|hour)=|\+\{\}\+|\.ndjson\.gz|(?:^|/)dead-letter(?:/|$)|" + re.escape(SYMBOL_RULE)
)
DEFAULT_NAMES = {"bronze-transactions", "stock-quotes", "stock-trades", "bronze", "bronze/", "dead-letter/"}


def python_files() -> Iterator[Path]:
    for root in CODE_ROOTS:
        for path in sorted((REPO / root).rglob("*.py")):
            if not SKIPPED_PARTS & set(path.relative_to(REPO).parts) and path != OWNER:
                yield path


def docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def literals(path: Path) -> Iterator[tuple[int, str]]:
    """(line, text) of every string literal but docstrings; an f-string's fields read as "{}"."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    skip = docstrings(tree)
    parts_of_fstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = ""
            for value in node.values:
                parts_of_fstrings.add(id(value))
                text += value.value if isinstance(value, ast.Constant) and isinstance(value.value, str) else "{}"
            yield node.lineno, text
    for node in ast.walk(tree):
        is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
        if is_text and id(node) not in skip and id(node) not in parts_of_fstrings:
            yield node.lineno, node.value


def test_no_second_copy_of_the_key_layout_or_the_symbol_rule_in_code() -> None:
    copies = [
        f"{path.relative_to(REPO)}:{line}: {text!r}"
        for path in python_files()
        for line, text in literals(path)
        if LAYOUT.search(text) or text in DEFAULT_NAMES
    ]
    assert not copies, "import these from stockfeed_contracts.lake instead:\n" + "\n".join(copies)


def test_data_files_carry_the_symbol_rule_only_verbatim() -> None:
    pattern = load_schema(QUOTE_V1)["properties"]["symbol"]["pattern"]
    spellings = (pattern, json.dumps(pattern)[1:-1])
    strays = []
    for root in DATA_ROOTS:
        for path in sorted((REPO / root).rglob("*")):
            if path.suffix not in {".yaml", ".yml", ".json", ".sql", ".toml"} or SKIPPED_PARTS & set(path.parts):
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                if SYMBOL_RULE in line and not any(spelling in line for spelling in spellings):
                    strays.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not strays, "a symbol rule that is not the contracts':\n" + "\n".join(strays)


def test_the_checks_catch_what_they_should(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""Keys look like topic=<t>/dt=.../x.ndjson.gz (a docstring may say so)."""\n'
        'log = "delivery failed: topic=%s"\n'
        'KEY = f"{prefix}/topic={topic}/dt={day}/{topic}+{partition}+{offset}.ndjson.gz"\n'
        'SYMBOL = r"^[A-Z0-9][A-Z0-9.:\\-]{0,19}$"\n'
        'BUCKET = "bronze-transactions"\n'
    )
    flagged = [line for line, text in literals(sample) if LAYOUT.search(text) or text in DEFAULT_NAMES]
    assert sorted(set(flagged)) == [3, 4, 5]

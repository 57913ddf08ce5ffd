"""The bad-input corpus: one file per case, each with its expected outcome beside it or inside it.

Layout (adding a case is adding a file, or a file and its sidecar):
- api_answers/NAME.body + NAME.expect: a Finnhub /quote answer's body; the sidecar (YAML) gives `status`,
  `content_type` and `poll`, what the producer's QuotePoller.poll returns for it (published, zero, malformed,
  client_error, failed).
- kafka_records/NAME.bin + NAME.expect: one Kafka record value; `valid: true` (accepted, and its bronze line is one
  the loader loads), `reason: <text in the reason>`, or `consistent: true` (either of the two),
  optionally `expected_schema` (the contract the consumer pins) and `pending: <why>` (a known gap: strict xfail).
- bronze_objects/NAME.bin + NAME.expect: one bronze object's bytes; `rows: N` or `reason: <text in the quarantine
  reason>`, optionally `expected_schema` (the loader's setting, default "any").
- stockfeeds/NAME.yaml: a StockFeed; header comments `# expect: admitted | refused | refused by rule`, with
  `# field: spec....` (refused by the CRD's structural schema at that field) or `# message: ...` (refused by a
  CEL rule with that message: only an API server evaluates those).
- chart_values/NAME.yaml: values merged over the chart's values.yaml; `# expect: accepted | refused` and
  `# field: a.b.c` (where values.schema.json refuses them; `(root)` for the top level).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CORPUS = Path(__file__).resolve().parent
HEADER_LINE = re.compile(r"^#\s*([A-Za-z_]+):\s*(.*?)\s*$")
DATA_SUFFIXES = {
    "api_answers": ".body",
    "kafka_records": ".bin",
    "bronze_objects": ".bin",
    "stockfeeds": ".yaml",
    "chart_values": ".yaml",
}


@dataclass(frozen=True)
class Entry:
    category: str
    name: str
    path: Path
    expect: dict[str, Any]

    def data(self) -> bytes:
        return self.path.read_bytes()

    def document(self) -> Any:
        return yaml.safe_load(self.path.read_text())


def header(path: Path) -> dict[str, Any]:
    """The `# key: value` comment lines a YAML entry starts with."""
    found: dict[str, Any] = {}
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        match = HEADER_LINE.match(line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def expectation(path: Path) -> dict[str, Any]:
    if path.suffix == ".yaml":
        return header(path)
    sidecar = path.with_suffix(".expect")
    loaded = yaml.safe_load(sidecar.read_text()) if sidecar.exists() else None
    return loaded if isinstance(loaded, dict) else {}


def entries(category: str) -> list[Entry]:
    suffix = DATA_SUFFIXES[category]
    return [
        Entry(category, path.name.removesuffix(suffix), path, expectation(path))
        for path in sorted((CORPUS / category).glob(f"*{suffix}"))
    ]


REQUIRED = re.compile(r"^'(.+)' is a required property$")


def field_path(error: Any) -> str:
    """A jsonschema error's place as Kubernetes writes it: spec.symbols[0] (a missing property included)."""
    parts = list(error.absolute_path)
    missing = REQUIRED.match(error.message) if error.validator == "required" else None
    if missing:
        parts.append(missing.group(1))
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(root)"

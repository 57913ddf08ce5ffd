"""Load the schema files and validate messages against them (compiled once, then cheap per message)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

QUOTE_V1 = "quote.v1"
TRADE_V1 = "trade.v1"
SCHEMA_VERSIONS = (QUOTE_V1, TRADE_V1)


class ContractError(ValueError):
    """A message does not follow its contract; the message says which rule it broke."""


@cache
def load_schema(version: str) -> dict[str, Any]:
    """The JSON Schema document for `version` (e.g. "quote.v1"), read from the package's schema files."""
    if version not in SCHEMA_VERSIONS:
        raise ContractError(f"unknown schema_version {version!r}; known: {', '.join(SCHEMA_VERSIONS)}")
    text = resources.files("stockfeed_contracts").joinpath("schemas", f"{version}.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator(version: str) -> Callable[[Any], Any]:
    import fastjsonschema  # here, not at the top: the lake's names and rules need no validator

    return fastjsonschema.compile(load_schema(version))


@cache
def _validation_error() -> type[Exception]:
    from fastjsonschema import JsonSchemaValueException

    return JsonSchemaValueException


def reason_invalid(message: object, expected: str | None = None) -> str | None:
    """None if `message` follows its contract, else a one-line reason (for logs and dead letters).

    The contract is chosen by the message's own `schema_version`; `expected` additionally pins it.
    """
    if not isinstance(message, dict):
        return f"not a JSON object but {type(message).__name__}"
    version = message.get("schema_version")
    if not isinstance(version, str) or version not in SCHEMA_VERSIONS:
        return f"unknown schema_version {version!r}"
    if expected is not None and version != expected:
        return f"schema_version {version!r}, expected {expected!r}"
    validate = _validator(version)
    try:
        validate(message)
    except _validation_error() as error:
        return f"{version}: {getattr(error, 'message', error)}"
    return None


def check(message: object, expected: str | None = None) -> None:
    """Raise ContractError unless `message` follows its contract."""
    reason = reason_invalid(message, expected)
    if reason is not None:
        raise ContractError(reason)

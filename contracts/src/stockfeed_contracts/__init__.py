"""stockfeed's message contracts: one JSON Schema file per message kind, one validator for every component."""

from stockfeed_contracts.validate import (
    QUOTE_V1,
    SCHEMA_VERSIONS,
    TRADE_V1,
    ContractError,
    check,
    load_schema,
    reason_invalid,
)

__all__ = [
    "QUOTE_V1",
    "SCHEMA_VERSIONS",
    "TRADE_V1",
    "ContractError",
    "check",
    "load_schema",
    "reason_invalid",
]

"""Which bronze view of dbt a raw record feeds, so that a run can report the rows it loaded per kind and the DAG
builds only the models the new rows touch.

The rules mirror dbt/models/bronze/bronze_stg_stock_quotes.sql and bronze_stg_trades.sql, which read the fields
with `json_field` (dbt/macros/cross_db/json.sql): an absent field and a JSON null are both SQL NULL there, and
both are None here. Change them together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

QUOTES = "quotes"
TRADES = "trades"
OTHER = "other"  # read by neither view; today only loaded with LOADER_VALIDATE_CONTRACT=false
KINDS = (QUOTES, TRADES, OTHER)


def record_kind(record: dict[str, Any]) -> str:
    """QUOTES, TRADES or OTHER for one parsed record, as the bronze views split the raw table."""
    version = record.get("schema_version")
    if version == "trade.v1":
        return TRADES
    # the original project's quotes carry no schema_version: a record with a symbol and no version is a quote
    if version == "quote.v1" or (version is None and record.get("symbol") is not None):
        return QUOTES
    return OTHER


@dataclass(frozen=True)
class KindCounts:
    """Rows per kind; the field names are the KINDS."""

    quotes: int = 0
    trades: int = 0
    other: int = 0

    @property
    def total(self) -> int:
        return self.quotes + self.trades + self.other

    def __add__(self, other: KindCounts) -> KindCounts:
        return KindCounts(self.quotes + other.quotes, self.trades + other.trades, self.other + other.other)

    def as_dict(self) -> dict[str, int]:
        return {QUOTES: self.quotes, TRADES: self.trades, OTHER: self.other}


NO_ROWS = KindCounts()

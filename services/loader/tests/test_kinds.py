"""Rows per kind: record_kind must split records exactly as dbt's bronze views split the raw table."""

from __future__ import annotations

import json

import duckdb
import pytest

from stockfeed_loader.kinds import KINDS, NO_ROWS, OTHER, QUOTES, TRADES, KindCounts, record_kind

pytestmark = pytest.mark.unit

# the original project's quote: no schema_version at all
ORIGINAL_QUOTE = (
    '{"c": 189.5, "d": 1.25, "dp": 0.66, "h": 190.0, "l": 187.1, "o": 188.0, "pc": 188.25, "t": 1714525200, '
    '"symbol": "AAPL", "fetched_at": 1714525200.25}'
)

CASES = [
    ('{"schema_version": "trade.v1", "s": "AAPL", "p": 189.5, "t": 1700000000123, "v": 100}', TRADES),
    ('{"schema_version": "trade.v1", "symbol": "AAPL"}', TRADES),  # the version decides, not the fields
    ('{"schema_version": "quote.v1", "symbol": "AAPL", "c": 189.5}', QUOTES),
    ('{"schema_version": "quote.v1"}', QUOTES),
    (ORIGINAL_QUOTE, QUOTES),
    ('{"schema_version": null, "symbol": "AAPL"}', QUOTES),  # a JSON null is no version
    ('{"symbol": ""}', QUOTES),  # present and not null is enough
    ('{"symbol": 0}', QUOTES),
    ('{"symbol": {"a": 1}}', QUOTES),
    ('{"symbol": null, "c": 1}', OTHER),
    ('{"s": "AAPL", "p": 1.0}', OTHER),  # a trade without its version: neither view reads it
    ("{}", OTHER),
    ('{"Symbol": "AAPL"}', OTHER),  # field names are case-sensitive
    ('{"schema_version": "quote.v2", "symbol": "AAPL"}', OTHER),  # an unknown version is not a quote
    ('{"schema_version": "Trade.v1"}', OTHER),
    ('{"schema_version": "", "symbol": "AAPL"}', OTHER),
    ('{"schema_version": 1, "symbol": "AAPL"}', OTHER),
]


@pytest.mark.parametrize(("text", "kind"), CASES)
def test_record_kind(text: str, kind: str) -> None:
    assert record_kind(json.loads(text)) == kind


# The views' filters (dbt/models/bronze/bronze_stg_trades.sql, bronze_stg_stock_quotes.sql) with json_field as
# DuckDB renders it (dbt/macros/cross_db/json.sql); a NULL condition drops the row like a WHERE does.
VIEWS_SQL = """
select
    coalesce((v ->> '$.schema_version') = 'trade.v1', false) as is_trade,
    coalesce(
        (v ->> '$.schema_version') = 'quote.v1'
        or ((v ->> '$.schema_version') is null and (v ->> '$.symbol') is not null),
        false
    ) as is_quote
from (select cast(? as json) as v)
"""


@pytest.mark.parametrize(("text", "kind"), CASES)
def test_record_kind_agrees_with_the_bronze_views_in_duckdb(text: str, kind: str) -> None:
    with duckdb.connect() as conn:
        row = conn.execute(VIEWS_SQL, [text]).fetchone()
    assert row is not None
    is_trade, is_quote = row
    assert not (is_trade and is_quote)
    assert (TRADES if is_trade else QUOTES if is_quote else OTHER) == record_kind(json.loads(text)) == kind


def test_kind_counts_add_up() -> None:
    total = KindCounts(quotes=2, trades=1) + KindCounts(quotes=1, other=4) + NO_ROWS
    assert total == KindCounts(quotes=3, trades=1, other=4)
    assert total.total == 8
    assert total.as_dict() == {"quotes": 3, "trades": 1, "other": 4}
    assert tuple(total.as_dict()) == KINDS

"""Reference data for the original's Power BI report: CSV parsing, the review polarity, and the idempotent load
(on a DuckDB file: the same statements run on Snowflake, see tests/integration/test_dbt_build.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from stockfeed_loader import static_load
from stockfeed_loader.errors import SourceError
from stockfeed_loader.sentiment import polarity
from stockfeed_loader.sql import Dialect
from stockfeed_loader.static_data import parse_company_reviews, parse_company_stocks, split_review
from stockfeed_loader.static_load import FileSource, StaticWarehouse, load_static

pytestmark = pytest.mark.unit

STOCKS = "Symbol,Company Name,Sector,P/E Ratio,Extra\naapl,Apple Inc.,Technology,29.5,x\nMSFT,,Technology,N/A,y\n"
REVIEWS = (
    "symbol,company_name,review\n"
    'AAPL,Apple Inc.,"4.2/5 - Great culture, very supportive managers"\n'
    "MSFT,Microsoft,3/5 - not good and very stressful\n"
    "NVDA,,No rating here\n"
    "AMD,,\n"
)


def test_company_stocks_match_headers_loosely_and_type_the_ratio() -> None:
    rows = parse_company_stocks(STOCKS)
    assert [(r.symbol, r.company_name, r.sector, r.p_e_ratio) for r in rows] == [
        ("AAPL", "Apple Inc.", "Technology", 29.5),
        ("MSFT", None, "Technology", None),
    ]


def test_company_stocks_name_the_missing_column_and_the_bad_number() -> None:
    with pytest.raises(SourceError, match="missing column"):
        parse_company_stocks("ticker,name\nAAPL,Apple\n")
    with pytest.raises(SourceError, match="line 2: p_e_ratio 'high'"):
        parse_company_stocks("symbol,p_e_ratio\nAAPL,high\n")


@pytest.mark.parametrize(
    ("review", "expected"),
    [
        ("4.2/5 - Great place", (4.2, "Great place")),
        ("5 / 5 \u2013 Best job ever", (5.0, "Best job ever")),
        ("3/5: ok", (3.0, "ok")),
        ("Great place", (None, "Great place")),
        ("7/5 - too good", (None, "too good")),
    ],
)
def test_split_review(review: str, expected: tuple[float | None, str]) -> None:
    assert split_review(review) == expected


def test_polarity_is_signed_bounded_and_handles_negation_and_intensifiers() -> None:
    assert polarity("Great culture, very supportive managers") > 0.5
    assert polarity("terrible management, toxic and stressful") < -0.5
    assert polarity("not good") == pytest.approx(-0.3)
    assert polarity("the food isn't bad") > 0
    assert polarity("very good") > polarity("good") > polarity("slightly good") > 0
    assert polarity("a company in a city") == 0.0
    assert polarity("") == 0.0
    assert polarity("extremely excellent outstanding best") == 1.0
    assert -1.0 <= polarity("extremely terrible worst awful") <= 1.0


def test_reviews_split_rating_and_text_and_score_the_text() -> None:
    rows = parse_company_reviews(REVIEWS)
    assert [(r.symbol, r.company_name, r.rating, r.review) for r in rows] == [
        ("AAPL", "Apple Inc.", 4.2, "Great culture, very supportive managers"),
        ("MSFT", "Microsoft", 3.0, "not good and very stressful"),
        ("NVDA", None, None, "No rating here"),
    ]
    assert rows[0].sentiment_score > 0 > rows[1].sentiment_score
    assert rows[2].sentiment_score == 0.0


def _load(directory: Path, db: Path) -> list[Any]:
    warehouse = StaticWarehouse(duckdb.connect(str(db)), Dialect.DUCKDB, "COMMON", None)
    try:
        return [(o.table, o.status, o.rows) for o in load_static(FileSource(str(directory), lambda: None), warehouse)]
    finally:
        warehouse.close()


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def test_load_is_idempotent_and_a_changed_file_replaces_its_table(tmp_path: Path) -> None:
    source, db = tmp_path / "static", tmp_path / "w.duckdb"
    source.mkdir()
    assert _load(source, db) == [
        ("STATIC_COMPANY_STOCKS", "not-supplied", 0),
        ("STATIC_COMPANY_REVIEWS", "not-supplied", 0),
    ]
    (source / "company_stocks.csv").write_text(STOCKS)
    (source / "company_reviews.csv").write_text(REVIEWS)
    assert _load(source, db) == [("STATIC_COMPANY_STOCKS", "loaded", 2), ("STATIC_COMPANY_REVIEWS", "loaded", 3)]
    first = _rows(db, "select * exclude (loaded_at) from COMMON.STATIC_COMPANY_STOCKS order by symbol")
    stamps = _rows(db, "select loaded_at from COMMON.STATIC_LOAD_LEDGER order by table_name")

    assert _load(source, db) == [("STATIC_COMPANY_STOCKS", "unchanged", 0), ("STATIC_COMPANY_REVIEWS", "unchanged", 0)]
    assert _rows(db, "select * exclude (loaded_at) from COMMON.STATIC_COMPANY_STOCKS order by symbol") == first
    assert _rows(db, "select loaded_at from COMMON.STATIC_LOAD_LEDGER order by table_name") == stamps

    (source / "company_stocks.csv").write_text("symbol,company_name,sector,p_e_ratio\nNVDA,NVIDIA,Semis,50\n")
    assert _load(source, db)[0] == ("STATIC_COMPANY_STOCKS", "loaded", 1)
    assert _rows(db, "select symbol, p_e_ratio from COMMON.STATIC_COMPANY_STOCKS") == [("NVDA", 50.0)]
    assert _rows(db, "select count(*) from COMMON.STATIC_COMPANY_REVIEWS") == [(3,)]
    assert _rows(db, "select count(*), count(distinct table_name) from COMMON.STATIC_LOAD_LEDGER") == [(2, 2)]


def test_a_bad_file_changes_nothing(tmp_path: Path) -> None:
    source, db = tmp_path / "static", tmp_path / "w.duckdb"
    source.mkdir()
    (source / "company_stocks.csv").write_text(STOCKS)
    _load(source, db)
    (source / "company_stocks.csv").write_text("symbol,p_e_ratio\nAAPL,high\n")
    with pytest.raises(SourceError):
        _load(source, db)
    assert _rows(db, "select count(*) from COMMON.STATIC_COMPANY_STOCKS") == [(2,)]


def test_cli_loads_a_local_directory_into_the_duckdb_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "company_stocks.csv").write_text(STOCKS)
    monkeypatch.setenv("LOADER_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("LOADER_TARGET", "duckdb")
    assert static_load.main(["--source", str(tmp_path)]) == 0
    assert '"status": "ok"' in capsys.readouterr().out
    assert _rows(tmp_path / "w.duckdb", "select count(*) from COMMON.STATIC_COMPANY_STOCKS") == [(2,)]

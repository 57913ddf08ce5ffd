from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import stockfeed_dashboard.app

pytestmark = pytest.mark.unit

APP = stockfeed_dashboard.app.__file__


def test_app_renders_kpis_movers_and_candles(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHBOARD_DUCKDB_PATH", str(warehouse))
    app = AppTest.from_file(APP, default_timeout=30).run()
    assert not app.exception
    assert [m.label for m in app.metric] == ["symbols", "newest quote", "gold built"]
    assert app.metric[0].value == "4"  # three quoted symbols, one traded
    frames = app.dataframe
    assert list(frames[0].value["symbol"]) == ["AAPL", "MSFT", "TSLA"]
    assert app.selectbox[0].options == ["AAPL", "MSFT", "TSLA"]
    assert list(frames[-1].value["symbol"]) == ["NVDA"]


def test_app_filters_by_feed(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHBOARD_DUCKDB_PATH", str(warehouse))
    app = AppTest.from_file(APP, default_timeout=30).run()
    assert app.radio[0].options == ["all", "quotes", "quotes-eu", "trades"]
    app.radio[0].set_value("quotes-eu").run()
    assert not app.exception
    assert list(app.dataframe[0].value["symbol"]) == ["MSFT", "TSLA"]  # MSFT: seen by both feeds
    assert app.metric[0].value == "2"
    assert "No trades yet" in app.caption[-1].value
    app.radio[0].set_value("trades").run()
    assert list(app.dataframe[0].value["symbol"]) == []
    assert list(app.dataframe[-1].value["symbol"]) == ["NVDA"]


def test_app_explains_an_empty_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHBOARD_DUCKDB_PATH", str(tmp_path / "empty.duckdb"))
    app = AppTest.from_file(APP, default_timeout=30).run()
    assert not app.exception
    assert "No gold tables yet" in app.info[0].value

"""stockfeed dashboard: `streamlit run app.py` (settings from DASHBOARD_* variables)."""

from __future__ import annotations

from datetime import UTC, datetime

import altair as alt
import pandas as pd
import streamlit as st

from stockfeed_dashboard import queries
from stockfeed_dashboard.config import DashboardSettings
from stockfeed_dashboard.reader import Reader, WarehouseBusyError, make_reader


@st.cache_resource
def _snowflake_reader(_settings: DashboardSettings) -> Reader:
    return make_reader(_settings)  # one connection per server process, kept between reruns


def _reader() -> tuple[DashboardSettings, Reader]:
    settings = DashboardSettings()
    if settings.uses_snowflake:
        return settings, _snowflake_reader(settings)
    return settings, make_reader(settings)  # DuckDB readers hold nothing between queries


def _age_seconds(moment: object) -> float | None:
    if moment is None or pd.isna(moment):
        return None
    stamp = pd.Timestamp(moment)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return float((datetime.now(UTC) - stamp.to_pydatetime()).total_seconds())


def _candle_chart(frame: pd.DataFrame) -> alt.LayerChart:
    base = alt.Chart(frame).encode(x=alt.X("candle_minute:T", title="minute (UTC)"))
    color = alt.condition("datum.open_price <= datum.close_price", alt.value("#2e7d32"), alt.value("#c62828"))
    wick = base.mark_rule().encode(y=alt.Y("low_price:Q", title="price", scale=alt.Scale(zero=False)), y2="high_price")
    body = base.mark_bar().encode(y="open_price:Q", y2="close_price:Q", color=color)
    sma = (
        base.transform_fold(["sma_5", "sma_20"], as_=["average", "value"])
        .mark_line()
        .encode(y="value:Q", strokeDash="average:N")
    )
    chart: alt.LayerChart = alt.layer(wick, body, sma).properties(height=320)  # type: ignore[assignment]
    return chart


def render() -> None:
    settings, reader = _reader()
    schema = settings.schema_name
    try:
        feed_names = [str(name) for name in reader.frame(queries.feeds(schema))["feed"]]
        # every feed (StockFeed) with data in gold; "all" shows them together (a quote seen by two feeds once)
        chosen = st.radio("Feed", ["all", *feed_names], horizontal=True, key="feed")
        feed = None if chosen in (None, "all") else str(chosen)
        kpis = reader.frame(queries.latest_kpis(schema, feed))
        trades = reader.frame(queries.latest_trades(schema, feed))
        freshness = reader.frame(queries.pipeline_freshness(schema))
    except WarehouseBusyError as busy:
        st.warning(f"The warehouse is busy (a load or dbt build is writing); retrying shortly. {busy}")
        return
    except Exception as error:
        st.info(f"No gold tables yet — the pipeline has not built them. ({type(error).__name__}: {error})")
        return

    newest = _age_seconds(freshness["newest_quote"].iloc[0]) if len(freshness) else None
    built = _age_seconds(freshness["gold_built_at"].iloc[0]) if len(freshness) else None
    left, middle, right = st.columns(3)
    left.metric("symbols", len(set(kpis["symbol"]) | set(trades["symbol"])))
    middle.metric("newest quote", "-" if newest is None else f"{newest:.0f} s ago")
    right.metric("gold built", "-" if built is None else f"{built:.0f} s ago")

    st.subheader("Latest KPIs")
    st.dataframe(
        kpis[["symbol", "current_price", "change_amount", "change_percent", "day_low", "day_high", "sma_5", "sma_20",
              "realized_volatility_30m", "staleness_seconds", "is_stale", "feeds"]],
        hide_index=True, width="stretch",
    )  # fmt: skip

    st.subheader("Gainers and losers")
    st.dataframe(reader.frame(queries.movers(schema, 3, feed)), hide_index=True, width="stretch")

    st.subheader("Realised volatility (stddev of 1-minute log returns, last 30 minutes)")
    if len(kpis):
        st.bar_chart(kpis.set_index("symbol")["realized_volatility_30m"])

    if len(kpis):
        symbol = st.selectbox("Minute candles for", list(kpis["symbol"]), key="symbol")
        candles = reader.frame(queries.candles(schema, str(symbol), 120))
        if len(candles):
            st.altair_chart(_candle_chart(candles), width="stretch")
        else:
            st.caption("No candles yet for this symbol.")

    st.subheader("Trades: latest minute per symbol (VWAP, volume)")
    if len(trades):
        st.dataframe(trades, hide_index=True, width="stretch")
    else:
        st.caption("No trades yet (a feed of type trades streams them).")


def main() -> None:
    st.set_page_config(page_title="stockfeed", layout="wide")
    st.title("stockfeed — live market data")
    settings, _ = _reader()
    st.fragment(run_every=settings.refresh_seconds)(render)()


main()

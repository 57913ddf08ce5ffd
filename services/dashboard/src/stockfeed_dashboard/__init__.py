"""The built-in dashboard: latest KPIs, minute candles with SMA, movers, volatility and pipeline freshness."""

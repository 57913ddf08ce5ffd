"""A Finnhub-compatible market simulator: seeded prices, the REST quote, the trades WebSocket, fault knobs."""

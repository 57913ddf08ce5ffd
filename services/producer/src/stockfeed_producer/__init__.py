"""Finnhub (or the stockfeed simulator) -> Kafka: paced quote polling and the trades WebSocket."""

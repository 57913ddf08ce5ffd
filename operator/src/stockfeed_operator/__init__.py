"""The StockFeed operator: `kubectl apply` a StockFeed and its topic, producer and consumer appear."""

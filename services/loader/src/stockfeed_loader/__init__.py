"""stockfeed's warehouse loader: new bronze objects -> raw table + load ledger (Snowflake or DuckDB)."""

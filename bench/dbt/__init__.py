"""dbt on DuckDB: full vs incremental build times (python -m bench.dbt)."""

"""What the minio_to_snowflake_stream DAG runs, and how (Kubernetes pods or local subprocesses)."""

"""stockfeed's bronze writer: Kafka records into batched, deterministic NDJSON.gz objects in S3/MinIO."""

__version__ = "0.1.0"

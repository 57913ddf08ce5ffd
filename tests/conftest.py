"""Fixtures over the local stack (`make devstack-up`): endpoints from its env file, fresh topics and buckets."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from devstack import envfile
from devstack.server import Server
from devstack.settings import Settings
from devstack.stack import all_servers


@pytest.fixture(scope="session")
def stack_settings() -> Settings:
    return Settings.from_env()


@pytest.fixture(scope="session")
def stack_env(stack_settings: Settings) -> dict[str, str]:
    """The running stack's endpoints and credentials (each endpoint fixture checks that its server is up)."""
    return envfile.read(stack_settings.env_file)


def require(stack_env: dict[str, str], key: str, server: str) -> str:
    """The env file's value, or a failure (never a skip) that says which server to start."""
    if not stack_env.get(key):
        pytest.fail(f"{server} of the local stack is not up (the env file lacks {key}): run `make devstack-up`")
    return stack_env[key]


@pytest.fixture(scope="session")
def stack_servers(stack_settings: Settings) -> dict[str, Server]:
    """The stack's servers, for fault tests that stop, kill or restart one of them."""
    return all_servers(stack_settings)


@pytest.fixture(scope="session")
def kafka_bootstrap(stack_env: dict[str, str]) -> str:
    return require(stack_env, "DEVSTACK_KAFKA_BOOTSTRAP", "Kafka")


@pytest.fixture
def kafka_topic(kafka_bootstrap: str) -> Iterator[str]:
    """A fresh topic with 3 partitions, deleted afterwards."""
    yield from _topic(kafka_bootstrap, partitions=3)


def _topic(bootstrap: str, partitions: int) -> Iterator[str]:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    name = f"test-{uuid.uuid4().hex[:12]}"
    for future in admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)]).values():
        future.result(timeout=30)
    yield name
    for future in admin.delete_topics([name]).values():
        # A broker restarted by the test may still be settling; the topic name is unique, so a leftover is harmless.
        with contextlib.suppress(Exception):
            future.result(timeout=30)


def make_s3_client(stack_env: dict[str, str]) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=require(stack_env, "DEVSTACK_S3_ENDPOINT", "MinIO"),
        aws_access_key_id=stack_env["DEVSTACK_S3_ACCESS_KEY"],
        aws_secret_access_key=stack_env["DEVSTACK_S3_SECRET_KEY"],
        region_name=stack_env.get("DEVSTACK_S3_REGION", "us-east-1"),
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30),
    )


@pytest.fixture(scope="session")
def s3(stack_env: dict[str, str]) -> Any:
    """A boto3 S3 client for the stack's MinIO."""
    return make_s3_client(stack_env)


@pytest.fixture
def s3_bucket(s3: Any) -> Iterator[str]:
    """A fresh bucket, emptied and deleted afterwards."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    yield name
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=name):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
    s3.delete_bucket(Bucket=name)


@pytest.fixture(scope="session")
def pg_dsn(stack_env: dict[str, str]) -> str:
    return require(stack_env, "DEVSTACK_PG_DSN", "PostgreSQL")

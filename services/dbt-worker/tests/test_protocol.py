from __future__ import annotations

import json

import pytest
from stockfeed_dbt_worker.protocol import (
    ProtocolError,
    Request,
    decode_request,
    encode_request,
    encode_trailer,
    split_trailer,
)

pytestmark = pytest.mark.unit


def test_a_request_survives_the_wire() -> None:
    request = Request(("build", "--selector", "minute_job"), {"DBT_TARGET": "duckdb", "HOME": "/h"}, "/work")
    line = encode_request(request)
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    assert decode_request(line.rstrip(b"\n")) == request


def test_a_request_never_shows_its_environment() -> None:
    request = Request(("build",), {"DBT_ENV_SECRET_SNOWFLAKE_PASSWORD": "hunter2"}, "/work")
    assert "hunter2" not in repr(request)
    assert "hunter2" not in str(request)


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b"not json", "not a JSON line"),
        (b"\xff\xfe", "not a JSON line"),
        (b"[]", "JSON object"),
        (json.dumps({"env": {}, "cwd": "/"}).encode(), "argv"),
        (json.dumps({"argv": [], "env": {}, "cwd": "/"}).encode(), "argv"),
        (json.dumps({"argv": ["build", 3], "env": {}, "cwd": "/"}).encode(), "argv"),
        (json.dumps({"argv": ["build"], "env": {"A": 1}, "cwd": "/"}).encode(), "env"),
        (json.dumps({"argv": ["build"], "env": [], "cwd": "/"}).encode(), "env"),
        (json.dumps({"argv": ["build"], "env": {}, "cwd": "relative"}).encode(), "cwd"),
        (json.dumps({"argv": ["build"], "env": {}}).encode(), "cwd"),
    ],
)
def test_a_bad_request_says_what_is_wrong(body: bytes, complaint: str) -> None:
    with pytest.raises(ProtocolError, match=complaint):
        decode_request(body)


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (b"line one\nline two\n" + encode_trailer(0), (b"line one\nline two\n", 0)),
        (b"" + encode_trailer(1), (b"", 1)),
        (b"out\n" + encode_trailer(2), (b"out\n", 2)),
        (b"no trailer: the child died\n", (b"no trailer: the child died\n", None)),
        (b"out\n\0garbage", (b"out\n", 2)),  # an unreadable code is an error, never a success
    ],
)
def test_the_exit_code_follows_the_output(response: bytes, expected: tuple[bytes, int | None]) -> None:
    assert split_trailer(response) == expected

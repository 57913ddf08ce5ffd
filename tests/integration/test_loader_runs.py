"""The loader (`python -m stockfeed_loader`, run as a separate process) against real MinIO, with two targets:
DuckDB (real, embedded) and the fakesnow server (a stand-in for Snowflake; the real snowflake-connector-python
talks to it over HTTP, PUT uploads included).

Shown here, for both targets: a run loads new objects and a second run loads nothing; with no topic
configured, a run discovers every `topic=` directory of the bucket (three topics, then a fourth that appears),
keeps a watermark per topic, and LOADER_TOPICS narrows it; 1,500 objects (more
than one 1,000-key listing page) all load; a run SIGKILLed between staging and COPY, or between COPY and the
ledger write (DuckDB also: just before COMMIT), is re-run and every record is in raw exactly once; a
malformed object is quarantined with its reason and the others load. DuckDB only (target-independent key
logic): late objects inside the re-check window load, older ones wait for --full-rescan; an object
re-written with new content loads again; an S3 failure exits 3. fakesnow only: key-pair auth wiring.

Snowflake semantics fakesnow does NOT cover, so these tests do not show them:
- Session scope: fakesnow keeps TEMPORARY stages after the session ends (Snowflake drops them with the
  session); a killed client's open transaction is never aborted (Snowflake aborts it when the session
  expires). Both are harmless to the loader (unique stage paths; the dangling transaction only appended),
  but the cleanup itself is not exercised.
- Locking: fakesnow is DuckDB (optimistic concurrency); Snowflake's table locks and lock waits are not
  emulated. The loader's transaction only INSERTs, which Snowflake runs without blocking other INSERTs.
- COPY: per-file results are only LOADED (or LOAD_SKIPPED); partial loads, ON_ERROR, and real JSON parse
  errors are not reported the way Snowflake does. Load history is keyed by path, not checksum (the loader
  does not rely on it: every staged path is new). PUT's SKIPPED/OVERWRITE behaviour and encryption are not
  emulated.
- Auth and access: any user/password is accepted; key-pair auth, roles, warehouses and grants are not checked.
- VARIANT is DuckDB JSON: number formatting may differ from Snowflake's (values compare equal).
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

PREFIX = "bronze/topic=stock-quotes/"
RUN_TIMEOUT = 240  # seconds for one loader process


# --- the stack: only MinIO is needed -------------------------------------------------------------------------


# --- fakesnow server -----------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def fakesnow_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A fakesnow server in its own process on a free port, stopped afterwards."""
    port = _free_port()
    home = tmp_path_factory.mktemp("fakesnow")
    log_path = home / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "fakesnow", "-s", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "TMPDIR": str(home)},  # its stage files land here, not in /tmp
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                pytest.fail(f"fakesnow exited with {server.returncode}: {log_path.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("fakesnow did not listen within 60 s")
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)


# --- targets: where a run writes and how a test reads it back -----------------------------------------------


@dataclass
class Target:
    kind: str
    env: dict[str, str]  # LOADER_* settings selecting and reaching this warehouse
    database: str
    port: int | None = None
    duckdb_path: Path | None = None

    def query(self, statement: str) -> list[tuple[Any, ...]]:
        if self.kind == "duckdb":
            import duckdb

            assert self.duckdb_path is not None
            with duckdb.connect(str(self.duckdb_path), read_only=True) as conn:
                return conn.execute(statement).fetchall()
        import snowflake.connector

        with snowflake.connector.connect(
            user="loader",
            password="test",
            account="fakesnow",
            host="localhost",
            port=self.port,
            protocol="http",
            database=self.database,
            schema="COMMON",
            network_timeout=10,
            login_timeout=10,
        ) as conn:
            cursor = conn.cursor()
            cursor.execute(statement)
            return list(cursor.fetchall())

    def raw_records(self) -> list[tuple[str, dict[str, Any]]]:
        """(object_key, record) for every raw row."""
        rows = self.query(f"SELECT object_key, v FROM {self.qualified('BRONZE_STOCK_QUOTES_RAW')}")
        return [(key, value if isinstance(value, dict) else json.loads(value)) for key, value in rows]

    def ledger(self) -> dict[str, tuple[str, int, str | None]]:
        """object_key -> (status, row_count, reason); fails if a key has more than one ledger row."""
        rows = self.query(f"SELECT object_key, status, row_count, reason FROM {self.qualified('BRONZE_LOAD_LEDGER')}")
        keys = Counter(row[0] for row in rows)
        assert max(keys.values(), default=1) == 1, f"ledger rows repeated: {keys.most_common(3)}"
        return {row[0]: (row[1], int(row[2]), row[3]) for row in rows}

    def qualified(self, table: str) -> str:
        return f"COMMON.{table}" if self.kind == "duckdb" else f"{self.database}.COMMON.{table}"


@pytest.fixture(params=["duckdb", "fakesnow"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    database = f"T_{uuid.uuid4().hex[:10].upper()}"  # fakesnow shares one in-memory instance: isolate by name
    if request.param == "duckdb":
        path = tmp_path / "stocks_mds.duckdb"
        return Target("duckdb", {"LOADER_TARGET": "duckdb", "LOADER_DUCKDB_PATH": str(path)}, database, None, path)
    port = request.getfixturevalue("fakesnow_port")
    env = {
        "LOADER_TARGET": "snowflake",
        "LOADER_DATABASE": database,
        "LOADER_SNOWFLAKE_ACCOUNT": "fakesnow",
        "LOADER_SNOWFLAKE_USER": "loader",
        "LOADER_SNOWFLAKE_PASSWORD": "test",
        "LOADER_SNOWFLAKE_HOST": "localhost",
        "LOADER_SNOWFLAKE_PORT": str(port),
        "LOADER_SNOWFLAKE_PROTOCOL": "http",
        "LOADER_SNOWFLAKE_NETWORK_TIMEOUT": "10",  # a server-side failure is an HTTP 500 the connector retries
        "LOADER_SNOWFLAKE_LOGIN_TIMEOUT": "10",
    }
    return Target("fakesnow", env, database, port)


@pytest.fixture
def duckdb_target(tmp_path: Path) -> Target:
    path = tmp_path / "stocks_mds.duckdb"
    return Target("duckdb", {"LOADER_TARGET": "duckdb", "LOADER_DUCKDB_PATH": str(path)}, "-", None, path)


# --- bronze objects ------------------------------------------------------------------------------------------

Record = dict[str, Any]
_next_t = [1_714_500_000]


def quote(symbol: str) -> Record:
    _next_t[0] += 1
    t = _next_t[0]
    return {
        "c": 189.5, "d": 1.25, "dp": 0.66, "h": 190.0, "l": 187.1, "o": 188.0, "pc": 188.25, "t": t,
        "symbol": symbol, "fetched_at": t + 0.25, "schema_version": "quote.v1", "source": "simulator", "feed": "it",
    }  # fmt: skip


def object_key(hour: int, partition: int, offset: int, day: str = "2024-05-01") -> str:
    return f"{PREFIX}dt={day}/hour={hour:02d}/stock-quotes+{partition}+{offset:020d}.ndjson.gz"


def ndjson_gz(records: list[Record]) -> bytes:
    return gzip.compress("".join(json.dumps(r) + "\n" for r in records).encode(), mtime=0)  # same lines, same ETag


def put_quotes(s3: Any, bucket: str, keys: list[str], per_object: int = 3) -> dict[str, list[Record]]:
    """One object per key with `per_object` fresh quotes each; returns what each object holds."""
    contents = {key: [quote("AAPL") for _ in range(per_object)] for key in keys}
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda key: s3.put_object(Bucket=bucket, Key=key, Body=ndjson_gz(contents[key])), keys))
    return contents


# --- running the loader --------------------------------------------------------------------------------------


@dataclass
class Run:
    returncode: int
    summary: dict[str, str]
    stderr: str


def run_loader(stack_env: dict[str, str], bucket: str, target: Target, *args: str, **extra_env: str) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOADER_")}
    env.update(
        LOADER_S3_ENDPOINT_URL=stack_env["DEVSTACK_S3_ENDPOINT"],
        LOADER_S3_ACCESS_KEY_ID=stack_env["DEVSTACK_S3_ACCESS_KEY"],
        LOADER_S3_SECRET_ACCESS_KEY=stack_env["DEVSTACK_S3_SECRET_KEY"],
        LOADER_S3_REGION=stack_env.get("DEVSTACK_S3_REGION", "us-east-1"),
        LOADER_BUCKET=bucket,
        LOADER_PREFIXES=PREFIX,
        **target.env,
    )
    env.update(extra_env)  # may override the above (LOADER_PREFIXES="" switches to topic discovery)
    done = subprocess.run(
        [sys.executable, "-m", "stockfeed_loader", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("stockfeed-load ")]
    summary = dict(part.split("=", 1) for part in lines[-1].split()[1:] if "=" in part) if lines else {}
    return Run(done.returncode, summary, done.stderr)


def assert_exactly_once(target: Target, expected: dict[str, list[Record]]) -> None:
    """Every expected record is in raw once, under its object's key, and nothing else is."""
    got = Counter((key, json.dumps(record, sort_keys=True)) for key, record in target.raw_records())
    want = Counter((key, json.dumps(record, sort_keys=True)) for key, records in expected.items() for record in records)
    assert got == want, f"missing {list((want - got).items())[:3]}, extra {list((got - want).items())[:3]}"


# --- the tests -----------------------------------------------------------------------------------------------


@pytest.mark.timeout(300)
def test_a_run_loads_new_objects_and_a_second_run_nothing(
    s3: Any, s3_bucket: str, stack_env: dict[str, str], target: Target
) -> None:
    expected = put_quotes(s3, s3_bucket, [object_key(hour, p, 100 * hour) for hour in (1, 2) for p in range(3)])
    s3.put_object(Bucket=s3_bucket, Key=f"dead-letter/{object_key(2, 0, 0)}", Body=ndjson_gz([{"bad": 1}]))

    first = run_loader(stack_env, s3_bucket, target)
    assert first.returncode == 0, first.stderr
    assert (first.summary["status"], first.summary["loaded"], first.summary["rows"]) == ("ok", "6", "18")
    assert_exactly_once(target, expected)
    assert {status for status, _, _ in target.ledger().values()} == {"loaded"}
    assert set(target.ledger()) == set(expected)  # dead letters are never loaded

    second = run_loader(stack_env, s3_bucket, target)
    assert second.returncode == 0, second.stderr
    assert (second.summary["loaded"], second.summary["rows"]) == ("0", "0")
    assert_exactly_once(target, expected)

    expected |= put_quotes(s3, s3_bucket, [object_key(3, 0, 300), object_key(3, 1, 300)])
    third = run_loader(stack_env, s3_bucket, target)
    assert (third.returncode, third.summary["loaded"], third.summary["rows"]) == (0, "2", "6"), third.stderr
    assert_exactly_once(target, expected)


def topic_key(topic: str, hour: int, partition: int, offset: int) -> str:
    """A key of `topic` in the contract's layout (stockfeed_contracts.lake builds it, as the consumer does)."""
    from datetime import UTC, datetime

    from stockfeed_contracts.lake import DEFAULT_PREFIX, bronze_key

    moment = datetime(2024, 5, 1, hour, tzinfo=UTC)
    return bronze_key(DEFAULT_PREFIX, topic, partition, offset, int(moment.timestamp() * 1000))


def test_every_topic_under_the_prefix_is_discovered_and_has_its_own_watermark(
    s3: Any, s3_bucket: str, stack_env: dict[str, str], target: Target
) -> None:
    """Three topics in one bucket, no topic configured: one run loads them all; a fourth appears and is loaded."""
    topics = {"stock-quotes": 3, "stock-trades": 5, "feed-x": 2}  # last hour holding objects, per topic
    keys = {
        t: [topic_key(t, hour, p, 10 * hour) for hour in range(1, last + 1) for p in (0, 1)]
        for t, last in topics.items()
    }
    expected: dict[str, list[Record]] = {}
    for topic_keys in keys.values():
        expected |= put_quotes(s3, s3_bucket, topic_keys)
    s3.put_object(Bucket=s3_bucket, Key=f"dead-letter/{keys['feed-x'][0]}", Body=ndjson_gz([{"bad": 1}]))

    first = run_loader(stack_env, s3_bucket, target, LOADER_PREFIXES="")  # discovery: the default
    assert first.returncode == 0, first.stderr
    assert (first.summary["loaded"], first.summary["rows"]) == (str(len(expected)), str(3 * len(expected)))
    assert_exactly_once(target, expected)

    def watermarks() -> dict[str, str]:
        ledger = target.qualified("BRONZE_LOAD_LEDGER")
        statement = f"SELECT object_key FROM {ledger}"
        by_topic: dict[str, str] = {}
        for (key,) in target.query(statement):
            topic = key.split("/")[1].removeprefix("topic=")
            by_topic[topic] = max(by_topic.get(topic, ""), key)
        return by_topic

    assert watermarks() == {topic: max(topic_keys) for topic, topic_keys in keys.items()}

    # a new feed's topic, and a new object of one old topic: the next run loads exactly those
    added = put_quotes(s3, s3_bucket, [topic_key("new-feed", 1, 0, 0), topic_key("stock-quotes", 4, 0, 40)])
    expected |= added
    second = run_loader(stack_env, s3_bucket, target, LOADER_PREFIXES="")
    assert (second.returncode, second.summary["loaded"], second.summary["rows"]) == (0, "2", "6"), second.stderr
    assert_exactly_once(target, expected)
    assert watermarks()["new-feed"] == topic_key("new-feed", 1, 0, 0)
    assert watermarks()["stock-quotes"] == topic_key("stock-quotes", 4, 0, 40)

    # an allow-list narrows discovery: only the listed topic's new object loads
    put_quotes(s3, s3_bucket, [topic_key("feed-x", 5, 0, 50), topic_key("stock-trades", 6, 0, 60)])
    third = run_loader(stack_env, s3_bucket, target, LOADER_PREFIXES="", LOADER_TOPICS="feed-x")
    assert (third.returncode, third.summary["loaded"]) == (0, "1"), third.stderr
    assert watermarks()["stock-trades"] == max(keys["stock-trades"])


@pytest.fixture(scope="module")
def bucket_of_1500(s3: Any) -> Iterator[tuple[str, dict[str, list[Record]]]]:
    """1,500 one-record objects across 15 hours, shared read-only by both targets' tests."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    keys = [object_key(i // 100, i % 3, i) for i in range(1500)]
    try:
        yield name, put_quotes(s3, name, keys, per_object=1)
    finally:
        for start in range(0, len(keys), 1000):
            s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]]})
        s3.delete_bucket(Bucket=name)


@pytest.mark.timeout(600)
def test_1500_objects_all_load(
    bucket_of_1500: tuple[str, dict[str, list[Record]]], stack_env: dict[str, str], target: Target
) -> None:
    bucket, expected = bucket_of_1500
    done = run_loader(stack_env, bucket, target, LOADER_BATCH_OBJECTS="500")
    assert done.returncode == 0, done.stderr
    assert (done.summary["listed"], done.summary["loaded"], done.summary["rows"]) == ("1500", "1500", "1500")
    assert_exactly_once(target, expected)
    assert len(target.ledger()) == 1500


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("target", "kill_point"),
    [
        ("duckdb", "after-stage"),
        ("duckdb", "after-copy"),
        ("duckdb", "before-commit"),
        ("fakesnow", "after-stage"),
        ("fakesnow", "after-copy"),
    ],
    indirect=["target"],
)
def test_a_killed_run_is_rerun_and_each_record_is_in_raw_once(
    s3: Any, s3_bucket: str, stack_env: dict[str, str], target: Target, kill_point: str
) -> None:
    """Batches of 4 objects: the first batch commits, the second is SIGKILLed at `kill_point`."""
    expected = put_quotes(s3, s3_bucket, [object_key(5, p, o) for p in range(2) for o in range(5)])

    killed = run_loader(stack_env, s3_bucket, target, LOADER_BATCH_OBJECTS="4", LOADER_TEST_KILL_AT=f"{kill_point}:2")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    committed = target.ledger()
    assert len(committed) == 4, "only the first batch is committed"
    assert_exactly_once(target, {key: expected[key] for key in committed})

    rerun = run_loader(stack_env, s3_bucket, target, LOADER_BATCH_OBJECTS="4")
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.summary["loaded"] == "6"
    assert_exactly_once(target, expected)
    assert len(target.ledger()) == 10


@pytest.mark.timeout(300)
def test_a_malformed_object_is_quarantined_and_the_rest_load(
    s3: Any, s3_bucket: str, stack_env: dict[str, str], target: Target
) -> None:
    expected = put_quotes(s3, s3_bucket, [object_key(7, 0, o) for o in (0, 10, 30)])
    not_gzip, bad_line, off_contract = object_key(7, 0, 20), object_key(7, 1, 0), object_key(7, 2, 0)
    s3.put_object(Bucket=s3_bucket, Key=not_gzip, Body=b'{"plain": "text"}\n')
    bad = gzip.compress((json.dumps(quote("MSFT")) + "\n{truncated\n").encode())
    s3.put_object(Bucket=s3_bucket, Key=bad_line, Body=bad)
    s3.put_object(Bucket=s3_bucket, Key=off_contract, Body=ndjson_gz([{**quote("MSFT"), "c": -5}]))

    done = run_loader(stack_env, s3_bucket, target)
    assert done.returncode == 1, done.stderr
    assert (done.summary["status"], done.summary["loaded"], done.summary["quarantined"]) == ("quarantined", "3", "3")
    assert_exactly_once(target, expected)
    ledger = target.ledger()
    assert {ledger[key][0] for key in (not_gzip, bad_line, off_contract)} == {"quarantined"}
    assert "bad gzip" in str(ledger[not_gzip][2])
    assert str(ledger[bad_line][2]).startswith("line 2: bad JSON")
    assert "quote.v1" in str(ledger[off_contract][2])

    again = run_loader(stack_env, s3_bucket, target)
    assert (again.returncode, again.summary["quarantined"], again.summary["loaded"]) == (0, "0", "0")


@pytest.mark.timeout(300)
def test_late_objects_inside_the_window_load_older_ones_wait_for_a_full_rescan(
    s3: Any, s3_bucket: str, stack_env: dict[str, str], duckdb_target: Target
) -> None:
    expected = put_quotes(s3, s3_bucket, [object_key(hour, 0, hour) for hour in range(10)])
    assert run_loader(stack_env, s3_bucket, duckdb_target).returncode == 0

    # partition 1 lagged: its objects for hour 8 (inside the window: hours 7-9 behind high-water hour 9) and
    # hour 3 (outside it) arrive only now
    inside, outside = object_key(8, 1, 800), object_key(3, 1, 300)
    expected |= put_quotes(s3, s3_bucket, [inside, outside])
    windowed = run_loader(stack_env, s3_bucket, duckdb_target, LOADER_RECHECK_HOURS="2")
    assert (windowed.returncode, windowed.summary["loaded"]) == (0, "1"), windowed.stderr
    assert windowed.summary["listed"] == "4"  # hours 7, 8, 9 and the late one: not the 10 loaded before
    assert inside in duckdb_target.ledger()
    assert outside not in duckdb_target.ledger()

    rescan = run_loader(stack_env, s3_bucket, duckdb_target, "--full-rescan")
    assert (rescan.returncode, rescan.summary["loaded"]) == (0, "1"), rescan.stderr
    assert_exactly_once(duckdb_target, expected)


@pytest.mark.timeout(300)
def test_an_object_rewritten_with_new_content_is_loaded_again(
    s3: Any, s3_bucket: str, stack_env: dict[str, str], duckdb_target: Target
) -> None:
    """The consumer re-writes a batch under the same key after a crash; if it holds more records now, they load.

    Re-writing identical bytes (same ETag, as the consumer's fixed gzip header gives) loads nothing again.
    """
    key = object_key(4, 0, 400)
    first = put_quotes(s3, s3_bucket, [key], per_object=2)[key]
    assert run_loader(stack_env, s3_bucket, duckdb_target).returncode == 0

    s3.put_object(Bucket=s3_bucket, Key=key, Body=ndjson_gz(first))
    same = run_loader(stack_env, s3_bucket, duckdb_target)
    assert (same.returncode, same.summary["loaded"]) == (0, "0"), same.stderr

    longer = [*first, quote("AAPL")]
    s3.put_object(Bucket=s3_bucket, Key=key, Body=ndjson_gz(longer))
    again = run_loader(stack_env, s3_bucket, duckdb_target)
    assert (again.returncode, again.summary["loaded"], again.summary["rows"]) == (0, "1", "3"), again.stderr
    records = Counter(json.dumps(record, sort_keys=True) for _, record in duckdb_target.raw_records())
    assert records == Counter(
        json.dumps(r, sort_keys=True) for r in [*first, *longer]
    )  # raw may repeat; silver dedupes
    etags = duckdb_target.query("SELECT count(DISTINCT etag) FROM COMMON.BRONZE_LOAD_LEDGER")
    assert etags == [(2,)]


@pytest.mark.timeout(180)
def test_key_pair_auth_from_a_mounted_key_file(
    s3: Any, s3_bucket: str, stack_env: dict[str, str], fakesnow_port: int, tmp_path: Path
) -> None:
    """The connector signs in with an encrypted PKCS#8 key (fakesnow accepts any signature: wiring only)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key_file, passphrase_file = tmp_path / "rsa_key.p8", tmp_path / "passphrase"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    encryption = serialization.BestAvailableEncryption(b"open sesame")
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))
    passphrase_file.write_text("open sesame\n")
    database = f"T_{uuid.uuid4().hex[:10].upper()}"
    env = {
        "LOADER_DATABASE": database,
        "LOADER_SNOWFLAKE_ACCOUNT": "fakesnow",
        "LOADER_SNOWFLAKE_USER": "loader",
        "LOADER_SNOWFLAKE_PRIVATE_KEY_FILE": str(key_file),
        "LOADER_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE_FILE": str(passphrase_file),
        "LOADER_SNOWFLAKE_HOST": "localhost",
        "LOADER_SNOWFLAKE_PORT": str(fakesnow_port),
        "LOADER_SNOWFLAKE_PROTOCOL": "http",
        "LOADER_SNOWFLAKE_NETWORK_TIMEOUT": "10",
        "LOADER_SNOWFLAKE_LOGIN_TIMEOUT": "10",
    }
    target = Target("fakesnow", env, database, fakesnow_port)  # LOADER_TARGET=auto: the account selects Snowflake
    expected = put_quotes(s3, s3_bucket, [object_key(6, 0, 600)])
    done = run_loader(stack_env, s3_bucket, target)
    assert (done.returncode, done.summary["target"], done.summary["rows"]) == (0, "snowflake", "3"), done.stderr
    assert_exactly_once(target, expected)


@pytest.mark.timeout(120)
def test_an_s3_failure_exits_3_with_a_summary(stack_env: dict[str, str], duckdb_target: Target) -> None:
    done = run_loader(stack_env, f"absent-{uuid.uuid4().hex[:8]}", duckdb_target)
    assert done.returncode == 3, done.stderr
    assert done.summary["status"] == "error"
    assert "NoSuchBucket" in done.summary["error"] or "NoSuchBucket" in done.stderr

"""Issue 19: a corpus of bad bronze objects beside good ones, loaded by the loader CLI (a separate process)
from real MinIO into DuckDB.

Each bad object once made every run fail (exit 3), silently stopped loading, or exhausted memory. Shown here:
one run loads every good row and quarantines each bad object with its reason (exit 1); a second run changes
nothing (exit 0); an object under `dt=9999-12-31/` never becomes the watermark, so objects written later still
load; a gzip bomb and a 1 GiB-class line are refused with the loader's peak memory staying bounded.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

PREFIX = "bronze/topic=stock-quotes/"
RUN_TIMEOUT = 240
MIB = 1024 * 1024

# the loader CLI in a child of a small wrapper, which reports the loader's peak resident memory (KiB) on stderr
_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call([sys.executable, '-m', 'stockfeed_loader'])\n"
    "print('MAXRSS_KIB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


@dataclass
class Run:
    returncode: int
    summary: dict[str, str]
    stderr: str
    max_rss_mib: float


def run_loader(stack_env: dict[str, str], bucket: str, duckdb_path: Path, **extra_env: str) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOADER_")}
    env.update(
        LOADER_S3_ENDPOINT_URL=stack_env["DEVSTACK_S3_ENDPOINT"],
        LOADER_S3_ACCESS_KEY_ID=stack_env["DEVSTACK_S3_ACCESS_KEY"],
        LOADER_S3_SECRET_ACCESS_KEY=stack_env["DEVSTACK_S3_SECRET_KEY"],
        LOADER_S3_REGION=stack_env.get("DEVSTACK_S3_REGION", "us-east-1"),
        LOADER_BUCKET=bucket,
        LOADER_PREFIXES=PREFIX,
        LOADER_TARGET="duckdb",
        LOADER_DUCKDB_PATH=str(duckdb_path),
        **extra_env,
    )
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER], env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("stockfeed-load ")]
    summary = dict(part.split("=", 1) for part in lines[-1].split()[1:] if "=" in part) if lines else {}
    rss = [line.split()[1] for line in done.stderr.splitlines() if line.startswith("MAXRSS_KIB ")]
    return Run(done.returncode, summary, done.stderr, int(rss[-1]) / 1024 if rss else float("nan"))


def query(duckdb_path: Path, statement: str) -> list[tuple[Any, ...]]:
    import duckdb

    with duckdb.connect(str(duckdb_path), read_only=True) as conn:
        return conn.execute(statement).fetchall()


def raw_records(duckdb_path: Path) -> Counter[tuple[str, str]]:
    rows = query(duckdb_path, "SELECT object_key, v FROM COMMON.BRONZE_STOCK_QUOTES_RAW")
    return Counter((key, json.dumps(json.loads(value), sort_keys=True)) for key, value in rows)


def ledger(duckdb_path: Path) -> dict[str, tuple[str, int, str | None]]:
    rows = query(duckdb_path, "SELECT object_key, status, row_count, reason FROM COMMON.BRONZE_LOAD_LEDGER")
    assert len({row[0] for row in rows}) == len(rows), "a key has more than one ledger row"
    return {row[0]: (row[1], int(row[2]), row[3]) for row in rows}


_next_t = [1_714_500_000]


def quote(symbol: str = "AAPL") -> dict[str, Any]:
    _next_t[0] += 1
    t = _next_t[0]
    return {
        "c": 189.5, "d": 1.25, "dp": 0.66, "h": 190.0, "l": 187.1, "o": 188.0, "pc": 188.25, "t": t,
        "symbol": symbol, "fetched_at": t + 0.25, "schema_version": "quote.v1", "source": "simulator", "feed": "it",
    }  # fmt: skip


def key(hour: int, partition: int, offset: int, day: str = "2024-05-01") -> str:
    return f"{PREFIX}dt={day}/hour={hour:02d}/stock-quotes+{partition}+{offset:020d}.ndjson.gz"


def lines_gz(lines: list[str]) -> bytes:
    return gzip.compress("".join(line + "\n" for line in lines).encode("utf-8", "surrogatepass"), mtime=0)


def good_line() -> str:
    return json.dumps(quote())


def compressed_repeat(piece: bytes, total: int) -> bytes:
    """gzip of `piece` repeated up to `total` bytes, built in chunks (the test never holds `total` bytes)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip container
    chunk = piece * max(1, MIB // len(piece))
    parts = [packer.compress(chunk) for _ in range(total // len(chunk))]
    return b"".join([*parts, packer.flush()])


def nested_quote(depth: int) -> str:
    record = quote()
    text = json.dumps(record)
    return text[:-1] + ', "extra": ' + "[" * depth + "]" * depth + "}"


@pytest.mark.timeout(600)
def test_bad_objects_are_quarantined_with_reasons_and_every_good_row_loads(
    s3: Any, s3_bucket: str, stack_env: dict[str, str], tmp_path: Path
) -> None:
    duckdb_path = tmp_path / "stocks_mds.duckdb"
    good: dict[str, list[str]] = {
        key(1, 0, 0): [good_line() for _ in range(3)],
        key(1, 1, 0): [good_line() for _ in range(3)],
        key(2, 0, 30): [good_line() for _ in range(3)],
        # a legitimate (if odd) name longer than a file name may be: loads like any other
        f"{PREFIX}dt=2024-05-01/hour=01/{'q' * 240}.ndjson.gz": [good_line() for _ in range(2)],  # 250 chars
    }
    bad: dict[str, tuple[bytes, str]] = {
        key(1, 2, 0): (lines_gz([good_line(), json.dumps(quote())[:-1] + ', "note": "\\ud800"}']), "lone UTF-16"),
        key(1, 3, 0): (lines_gz([nested_quote(5000)]), "nested too deeply"),
        key(1, 4, 0): (lines_gz([good_line(), json.dumps(quote()).replace('"c": 189.5', '"c": 1e400')]), "range"),
        key(1, 5, 0): (lines_gz([json.dumps(quote()).replace('"c": 189.5', '"c": -5, "c": 189.5')]), "duplicate"),
        key(2, 1, 0): (compressed_repeat(b"0", 200 * MIB), "LOADER_MAX_LINE_BYTES"),  # a 200 MB line
        key(2, 2, 0): (compressed_repeat(b" " * 4095 + b"\n", 200 * MIB), "LOADER_MAX_DECOMPRESSED_BYTES"),
        key(2, 3, 0): (os.urandom(3 * MIB), "LOADER_MAX_OBJECT_BYTES"),
        key(23, 0, 0, day="9999-12-31"): (lines_gz([good_line()]), "in the future (LOADER_MAX_FUTURE_HOURS)"),
    }
    for name, lines in good.items():
        s3.put_object(Bucket=s3_bucket, Key=name, Body=lines_gz(lines))
    for name, (body, _) in bad.items():
        s3.put_object(Bucket=s3_bucket, Key=name, Body=body)
    caps = {
        "LOADER_MAX_OBJECT_BYTES": str(2 * MIB),
        "LOADER_MAX_DECOMPRESSED_BYTES": str(16 * MIB),
        "LOADER_MAX_LINE_BYTES": str(MIB),
        "LOADER_BATCH_OBJECTS": "5",
    }

    first = run_loader(stack_env, s3_bucket, duckdb_path, **caps)
    assert first.returncode == 1, first.stderr  # 1: finished, with quarantined objects
    assert first.summary["status"] == "quarantined"
    assert (first.summary["loaded"], first.summary["quarantined"]) == (str(len(good)), str(len(bad)))
    want = Counter(
        (name, json.dumps(json.loads(line), sort_keys=True)) for name, lines in good.items() for line in lines
    )
    assert raw_records(duckdb_path) == want
    recorded = ledger(duckdb_path)
    for name, (_, reason) in bad.items():
        status, rows, why = recorded[name]
        assert (status, rows) == ("quarantined", 0), name
        assert reason in str(why), f"{name}: {why}"
    assert {recorded[name][0] for name in good} == {"loaded"}
    print(f"corpus run: loader peak RSS {first.max_rss_mib:.0f} MiB")
    assert first.max_rss_mib < 400, f"the loader peaked at {first.max_rss_mib:.0f} MiB"

    second = run_loader(stack_env, s3_bucket, duckdb_path, **caps)
    assert second.returncode == 0, second.stderr
    assert (second.summary["loaded"], second.summary["quarantined"], second.summary["rows"]) == ("0", "0", "0")
    assert raw_records(duckdb_path) == want
    assert ledger(duckdb_path) == recorded

    # the 9999 object is not the watermark: an object written after the first runs still loads
    later = key(3, 0, 40)
    later_lines = [good_line(), good_line()]
    s3.put_object(Bucket=s3_bucket, Key=later, Body=lines_gz(later_lines))
    third = run_loader(stack_env, s3_bucket, duckdb_path, **caps)
    assert (third.returncode, third.summary["loaded"], third.summary["rows"]) == (0, "1", "2"), third.stderr
    want.update((later, json.dumps(json.loads(line), sort_keys=True)) for line in later_lines)
    assert raw_records(duckdb_path) == want


@pytest.mark.timeout(600)
def test_a_gzip_bomb_is_refused_with_bounded_memory(
    s3: Any, s3_bucket: str, stack_env: dict[str, str], tmp_path: Path
) -> None:
    """1 GiB of zeros (about 1 MB compressed) with the default caps: quarantined, memory far below 1 GiB."""
    duckdb_path = tmp_path / "stocks_mds.duckdb"
    bomb = compressed_repeat(b"\0", 1024 * MIB)
    assert len(bomb) < 4 * MIB
    s3.put_object(Bucket=s3_bucket, Key=key(1, 0, 0), Body=bomb)
    s3.put_object(Bucket=s3_bucket, Key=key(1, 1, 0), Body=lines_gz([good_line()]))

    done = run_loader(stack_env, s3_bucket, duckdb_path)
    assert done.returncode == 1, done.stderr
    assert (done.summary["loaded"], done.summary["quarantined"], done.summary["rows"]) == ("1", "1", "1")
    status, _, reason = ledger(duckdb_path)[key(1, 0, 0)]
    assert status == "quarantined"
    assert "LOADER_MAX_LINE_BYTES" in str(reason)
    print(f"gzip bomb run: loader peak RSS {done.max_rss_mib:.0f} MiB")
    assert done.max_rss_mib < 400, f"the loader peaked at {done.max_rss_mib:.0f} MiB"


@pytest.mark.timeout(300)
def test_a_key_ahead_of_the_clock_never_hides_the_current_hour(
    s3: Any, s3_bucket: str, stack_env: dict[str, str], tmp_path: Path
) -> None:
    """A key within LOADER_MAX_FUTURE_HOURS loads, but the listing watermark is never taken from it: an object
    of the current hour written afterwards still loads (before, the watermark jumped ahead and hid it)."""
    from datetime import UTC, datetime, timedelta

    duckdb_path = tmp_path / "stocks_mds.duckdb"
    now = datetime.now(UTC)
    ahead = now + timedelta(hours=2)
    early = f"{PREFIX}dt={ahead:%Y-%m-%d}/hour={ahead:%H}/stock-quotes+0+{0:020d}.ndjson.gz"
    s3.put_object(Bucket=s3_bucket, Key=early, Body=lines_gz([good_line()]))
    first = run_loader(stack_env, s3_bucket, duckdb_path, LOADER_MAX_FUTURE_HOURS="2")
    assert first.returncode == 0, first.stderr[-2000:]
    assert ledger(duckdb_path)[early][0] == "loaded"

    on_time = f"{PREFIX}dt={now:%Y-%m-%d}/hour={now:%H}/stock-quotes+1+{0:020d}.ndjson.gz"
    s3.put_object(Bucket=s3_bucket, Key=on_time, Body=lines_gz([good_line(), good_line()]))
    second = run_loader(stack_env, s3_bucket, duckdb_path, LOADER_MAX_FUTURE_HOURS="2")
    assert second.returncode == 0, second.stderr[-2000:]
    assert ledger(duckdb_path)[on_time] == ("loaded", 2, None)

"""LOADER_REPORT_FILE: `stockfeed-load` end to end (cli.main) on an in-memory bucket and a DuckDB file.

The report is written, atomically, after a run that finished (ok or quarantined) and never after a dry run or a
failed run; a report that cannot be written fails the run (exit 3), since the DAG picks dbt models from it.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from stockfeed_loader import cli

pytestmark = pytest.mark.unit

PREFIX = "bronze/topic=stock-quotes/"

QUOTE = {
    "c": 189.5, "d": 1.25, "dp": 0.66, "h": 190.0, "l": 187.1, "o": 188.0, "pc": 188.25, "t": 1714525200,
    "symbol": "AAPL", "fetched_at": 1714525200.25, "schema_version": "quote.v1", "source": "simulator", "feed": "demo",
}  # fmt: skip
TRADE = {
    "schema_version": "trade.v1", "s": "AAPL", "p": 189.5, "t": 1714525200123, "v": 100, "c": None,
    "fetched_at": 1714525200.5, "source": "simulator", "feed": "demo",
}  # fmt: skip


def key(offset: int) -> str:
    return f"{PREFIX}dt=2024-05-01/hour=01/stock-quotes+0+{offset:020d}.ndjson.gz"


def ndjson_gz(*records: dict[str, Any]) -> bytes:
    return gzip.compress("".join(json.dumps(record) + "\n" for record in records).encode())


class Bucket:
    """Just enough of an S3 client for one run over explicit LOADER_PREFIXES: one listing page, GetObject."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects

    def list_objects_v2(self, **request: Any) -> dict[str, Any]:
        after = request.get("StartAfter", "")
        keys = sorted(k for k in self.objects if k.startswith(request["Prefix"]) and k > after)
        return {
            "Contents": [{"Key": k, "ETag": f'"{len(self.objects[k])}"', "Size": len(self.objects[k])} for k in keys],
            "IsTruncated": False,
        }

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803 (boto3's names)
        data = self.objects[Key]
        return {"ETag": f'"{len(data)}"', "Body": io.BytesIO(data)}


class BrokenBucket(Bucket):
    def list_objects_v2(self, **request: Any) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": "NoSuchBucket", "Message": "gone"}}, "ListObjectsV2")


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("LOADER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LOADER_PREFIXES", PREFIX)
    monkeypatch.setenv("LOADER_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    (tmp_path / "xcom").mkdir()
    monkeypatch.setenv("LOADER_REPORT_FILE", str(tmp_path / "xcom" / "return.json"))


def use_bucket(monkeypatch: pytest.MonkeyPatch, bucket: Bucket) -> None:
    monkeypatch.setattr(cli, "make_s3_client", lambda settings: bucket)


def summary_fields(stdout: str) -> dict[str, str]:
    line = stdout.strip().splitlines()[-1]
    return dict(part.split("=", 1) for part in line.split()[1:] if "=" in part)


def report_of(tmp_path: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((tmp_path / "xcom" / "return.json").read_text(encoding="utf-8"))
    return result


def test_a_run_reports_its_rows_per_kind(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    use_bucket(monkeypatch, Bucket({key(1): ndjson_gz(QUOTE, TRADE, QUOTE), key(2): ndjson_gz(TRADE)}))
    assert cli.main([]) == cli.EXIT_OK
    fields = summary_fields(capsys.readouterr().out)
    report = report_of(tmp_path)
    assert report == {
        "run": fields["run"],
        "status": "ok",
        "objects": 2,
        "rows": 4,
        "rows_by_kind": {"quotes": 2, "trades": 2, "other": 0},
    }
    assert (fields["rows"], fields["quote_rows"], fields["trade_rows"], fields["other_rows"]) == ("4", "2", "2", "0")
    assert sorted(path.name for path in (tmp_path / "xcom").iterdir()) == ["return.json"]  # no temporary left

    # the next run finds nothing new: its report says so (rather than repeating the last one)
    assert cli.main([]) == cli.EXIT_OK
    assert report_of(tmp_path)["rows_by_kind"] == {"quotes": 0, "trades": 0, "other": 0}


def test_unversioned_and_unknown_records_count_as_quotes_and_other_without_validation(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LOADER_VALIDATE_CONTRACT", "false")
    original = {k: v for k, v in QUOTE.items() if k != "schema_version"}
    use_bucket(monkeypatch, Bucket({key(1): ndjson_gz(original, {"note": "no kind"}, TRADE)}))
    assert cli.main([]) == cli.EXIT_OK
    assert report_of(tmp_path)["rows_by_kind"] == {"quotes": 1, "trades": 1, "other": 1}


def test_a_quarantined_object_reports_its_status_and_no_rows(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    use_bucket(monkeypatch, Bucket({key(1): ndjson_gz(QUOTE), key(2): b"not gzip"}))
    assert cli.main([]) == cli.EXIT_QUARANTINED
    assert report_of(tmp_path) == {
        "run": summary_fields(capsys.readouterr().out)["run"],
        "status": "quarantined",
        "objects": 2,
        "rows": 1,
        "rows_by_kind": {"quotes": 1, "trades": 0, "other": 0},
    }


def test_the_report_is_renamed_into_place_from_the_same_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "xcom" / "return.json"
    renames: list[tuple[Path, Path]] = []
    real_replace = os.replace

    def replace(source: str, destination: Path) -> None:
        renames.append((Path(source), Path(destination)))
        assert json.loads(Path(source).read_text(encoding="utf-8"))["status"] == "ok"  # complete before the rename
        assert not target.exists()  # a reader finds the whole report or none
        real_replace(source, destination)

    monkeypatch.setattr(cli.os, "replace", replace)
    use_bucket(monkeypatch, Bucket({key(1): ndjson_gz(QUOTE)}))
    assert cli.main([]) == cli.EXIT_OK
    [(source, destination)] = renames
    assert (source.parent, destination) == (target.parent, target)
    assert report_of(tmp_path)["rows"] == 1
    assert target.stat().st_mode & 0o777 == 0o644  # readable by the XCom sidecar


def test_no_report_on_a_dry_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    use_bucket(monkeypatch, Bucket({key(1): ndjson_gz(QUOTE)}))
    assert cli.main(["--dry-run"]) == cli.EXIT_OK
    assert list((tmp_path / "xcom").iterdir()) == []


def test_no_report_when_the_run_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "xcom" / "return.json").write_text('{"status": "ok", "rows": 9}')  # an earlier run's
    use_bucket(monkeypatch, BrokenBucket({}))
    assert cli.main([]) == cli.EXIT_FAILED
    assert summary_fields(capsys.readouterr().out)["status"] == "error"
    assert list((tmp_path / "xcom").iterdir()) == []


def test_no_report_on_a_configuration_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOADER_BATCH_OBJECTS", "0")
    assert cli.main([]) == cli.EXIT_CONFIG
    assert list((tmp_path / "xcom").iterdir()) == []


def test_a_report_that_cannot_be_written_fails_the_run(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    missing = tmp_path / "no-such-directory" / "return.json"
    use_bucket(monkeypatch, Bucket({key(1): ndjson_gz(QUOTE)}))
    with caplog.at_level(logging.ERROR, logger="stockfeed_loader"):
        assert cli.main(["--report-file", str(missing)]) == cli.EXIT_FAILED
    out = capsys.readouterr().out
    assert f"error='LOADER_REPORT_FILE: cannot write {missing}: No such file or directory'" in out
    fields = summary_fields(out)
    assert fields["status"] == "error"
    assert fields["rows"] == "1"  # committed all the same: the retry finds them in the ledger
    assert any("LOADER_REPORT_FILE" in record.getMessage() for record in caplog.records if record.levelname == "ERROR")
    assert not missing.parent.exists()


def test_a_failed_rename_leaves_no_temporary_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def refuse(source: str, destination: Path) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cli.os, "replace", refuse)
    use_bucket(monkeypatch, Bucket({key(1): ndjson_gz(QUOTE)}))
    assert cli.main([]) == cli.EXIT_FAILED
    assert list((tmp_path / "xcom").iterdir()) == []

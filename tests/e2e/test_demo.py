"""`make demo`, bounded: simulator -> producer -> Kafka -> consumer -> MinIO -> Airflow (local mode) -> DuckDB/dbt
-> dashboard. The demo itself fails unless every symbol reaches gold, each one within 2 minutes, and every quote
and trade the producers delivered is in silver once (it drains and counts: tools/demo/audit.py). The run has
topics, a bucket, a consumer group and a warehouse of its own, so a stack reused from earlier runs can neither
fail it nor make it pass. This test then checks gold's exact symbols, the dashboard over the demo's warehouse
with Streamlit's AppTest, and the headless-Chromium screenshot the demo took of the live dashboard."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1500)]

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"
# The demo's default feeds (tools/demo/demo.py: demo_feeds): quotes for 10 symbols, trades for 5 others.
QUOTE_SYMBOLS = ["AAPL", "MSFT", "GOOGL", "AMZN", "NVDA", "META", "TSLA", "JPM", "V", "NFLX"]
TRADE_SYMBOLS = ["AMD", "INTC", "ORCL", "CRM", "ADBE"]


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo")


@pytest.fixture(scope="module")
def run_names(stack_env: dict[str, str], s3: Any, demo_home: Path) -> Iterator[dict[str, str]]:
    """Topics, bucket and consumer group of this run only; removed afterwards with its Airflow database."""
    from confluent_kafka.admin import AdminClient

    run = f"e2e-{uuid.uuid4().hex[:10]}"
    names = {"DEMO_TOPIC_PREFIX": f"{run}-", "DEMO_BUCKET": run, "DEMO_CONSUMER_GROUP": run}
    yield names
    with contextlib.suppress(Exception):  # nothing to remove if the demo never started
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=run):
            if keys := [{"Key": item["Key"]} for item in page.get("Contents", [])]:
                s3.delete_objects(Bucket=run, Delete={"Objects": keys, "Quiet": True})
        s3.delete_bucket(Bucket=run)
    admin = AdminClient({"bootstrap.servers": stack_env["DEVSTACK_KAFKA_BOOTSTRAP"]})
    topics = [f"{run}-stock-quotes", f"{run}-stock-trades"]
    for future in admin.delete_topics(topics).values():
        with contextlib.suppress(Exception):
            future.result(timeout=30)
    sys.path.insert(0, str(REPO / "tools" / "demo"))
    import airflow_db

    airflow_db.drop_database(stack_env["DEVSTACK_PG_DSN"], airflow_db.database_name(demo_home / "airflow"))


@pytest.fixture(scope="module")
def demo_run(stack_env: dict[str, str], demo_home: Path, run_names: dict[str, str]) -> subprocess.CompletedProcess[str]:
    ARTIFACTS.mkdir(exist_ok=True)
    env = {
        **run_names,
        **{k: v for k, v in os.environ.items() if not k.startswith(("FINNHUB_", "LOADER_SNOWFLAKE", "DBT_SNOWFLAKE"))},
        "DEMO_SECONDS": os.environ.get("E2E_DEMO_SECONDS", "300"),
        "PIPELINE_SCHEDULE": "events",  # the default, said out loud: runs start when objects land
        "DEMO_HOME": str(demo_home),  # a warehouse of its own: nothing left over from an earlier demo
        "DEMO_SCREENSHOT": str(ARTIFACTS / "dashboard.png"),
        "TMPDIR": str(demo_home / "tmp"),  # every throwaway folder of the demo (Chromium's profile too) lives here
    }
    (demo_home / "tmp").mkdir()
    (ARTIFACTS / "dashboard.png").unlink(missing_ok=True)  # a picture from an earlier run proves nothing
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "demo" / "demo.py")],
        env=env, capture_output=True, text=True, timeout=1400, check=False,
    )  # fmt: skip
    (ARTIFACTS / "demo.log").write_text(result.stdout + result.stderr)
    return result


def test_every_symbol_reaches_gold_fresh(demo_run: subprocess.CompletedProcess[str]) -> None:
    assert demo_run.returncode == 0, (
        f"demo failed; see {ARTIFACTS / 'demo.log'}:\n{demo_run.stdout[-3000:]}{demo_run.stderr[-3000:]}"
    )
    assert "demo: OK: gold for all 15 symbols of 2 feeds, each with its feed" in demo_run.stdout
    assert "nothing lost" in demo_run.stdout


def test_objects_landing_started_the_runs(demo_run: subprocess.CompletedProcess[str]) -> None:
    """Events mode: bucket events, not the 5-minute timer, ran the pipeline (the demo counts runs by type)."""
    [line] = [line for line in demo_run.stdout.splitlines() if line.startswith("demo: DAG runs while")]
    counts = {run_type: int(count) for count, run_type in re.findall(r"(\d+) (\w+)", line)}
    assert counts.get("asset_triggered", 0) >= 10, line  # an object every 5 s per partition for 5 minutes
    assert counts.get("scheduled", 0) <= 4, line  # the timer: its first tick at start-up, then every 5 minutes


def test_the_dbt_steps_ran_on_the_warm_worker(demo_run: subprocess.CompletedProcess[str], demo_home: Path) -> None:
    """make demo starts the dbt worker: every event run's build used it, with the project parsed ahead. An event
    run builds what its load touched (minute_job for both kinds, minute_quotes or minute_trades for one,
    minute_clock for none; which ones a demo sees depends on when its two feeds' objects land:
    tests/integration/test_dag_local.py pins each)."""
    log = (demo_home / "logs" / "dbt-worker.log").read_text()
    builds = re.findall(r"dbt build --selector (\w+) .* exited (\d+) after", log)
    # one per event run that loaded rows (a failed one is retried by Airflow)
    assert sum(1 for _, code in builds if code == "0") >= 10, log[-3000:]
    known = {"minute_job", "minute_quotes", "minute_trades", "minute_clock", "full_build"}
    assert {selector for selector, _ in builds} <= known
    assert "(warm manifest)" in log
    assert log.count("project parsed") <= 4, "parsed once per distinct command shape, not once per command"


def test_every_delivered_quote_and_trade_is_in_silver_once(demo_run: subprocess.CompletedProcess[str]) -> None:
    """The demo's loss count: it read both topics from the start and compared them with silver."""
    counted = [line for line in demo_run.stdout.splitlines() if line.startswith("demo: loss count:")]
    assert len(counted) == 1, demo_run.stdout[-3000:]
    quotes, trades = (int(word) for word in counted[0].split() if word.isdigit())
    assert quotes > 100, counted[0]  # 10 symbols for minutes: a count of a handful would prove little
    assert trades > 100, counted[0]
    assert counted[0].endswith("every one in silver, once"), counted[0]


def test_gold_has_every_symbol_of_both_feeds_each_with_its_feed(
    demo_run: subprocess.CompletedProcess[str], demo_home: Path
) -> None:
    import duckdb

    warehouse = demo_home / "warehouse" / "stocks_mds.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        quoted = set(conn.execute("select symbol, feed, feeds from common.gold_latest_kpis").fetchall())
        traded = set(conn.execute("select distinct symbol, feed, feeds from common.gold_trades_1m").fetchall())
        daily = set(conn.execute("select distinct symbol, feed from common.gold_daily_summary").fetchall())
    # exactly the demo's symbols: its bucket and topics are its own, so nothing else can be there
    assert quoted == {(symbol, "quotes", "quotes") for symbol in QUOTE_SYMBOLS}
    assert traded == {(symbol, "trades", "trades") for symbol in TRADE_SYMBOLS}
    assert daily == {(symbol, "quotes") for symbol in QUOTE_SYMBOLS}


def test_dashboard_renders_the_demo_warehouse(
    demo_run: subprocess.CompletedProcess[str], demo_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    import stockfeed_dashboard.app

    warehouse = demo_home / "warehouse" / "stocks_mds.duckdb"
    monkeypatch.setenv("DASHBOARD_DUCKDB_PATH", str(warehouse))
    app = AppTest.from_file(stockfeed_dashboard.app.__file__, default_timeout=60).run()
    assert not app.exception
    shown = list(app.dataframe[0].value["symbol"])
    # every demo symbol, once, and no other
    assert sorted(shown) == sorted(QUOTE_SYMBOLS)
    assert set(TRADE_SYMBOLS) == set(app.dataframe[-1].value["symbol"])
    assert {"all", "quotes", "trades"} <= set(app.radio[0].options)
    app.radio[0].set_value("trades").run()
    assert not app.exception
    assert set(TRADE_SYMBOLS) == set(app.dataframe[-1].value["symbol"])
    assert not set(QUOTE_SYMBOLS) & set(app.dataframe[0].value["symbol"])


def test_the_demo_leaves_no_process_behind(demo_run: subprocess.CompletedProcess[str], demo_home: Path) -> None:
    """Chromium's processes name their profile in `demo_home`, the demo's own processes its warehouse or logs."""
    marker = str(demo_home).encode()
    left = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            if marker in cmdline.read_bytes() and "State:\tZ" not in (cmdline.parent / "status").read_text():
                left.append(cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")[:160])
    assert not left, f"processes of the demo still running after it stopped: {left}"


def test_the_screenshot_shows_the_dashboard_when_one_was_taken(demo_run: subprocess.CompletedProcess[str]) -> None:
    """A picture is a courtesy of the demo: a problem with it is one line in the log and never a failure."""
    shot = ARTIFACTS / "dashboard.png"
    if "screenshot of the dashboard:" not in demo_run.stdout:
        reasons = [line for line in demo_run.stderr.splitlines() if line.startswith("demo: no screenshot:")]
        assert len(reasons) == 1, "without a picture the demo says why, on one line"
        assert not shot.exists()
        pytest.skip(reasons[0])
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000, "a blank page is a few KB; the rendered dashboard is larger"

"""`make demo`: the whole pipeline on one machine, without Docker, Kubernetes or any account.

simulator (or Finnhub) -> producer (quotes + trades) -> Kafka -> consumer -> MinIO -> Airflow (local mode,
every minute: loader -> DuckDB or Snowflake, dbt build) -> dashboard. Ctrl-C stops everything it started.
DEMO_SECONDS=N stops after N seconds and exits non-zero unless every symbol reached gold, fresh.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import screenshot
from progress import Warehouse, read_warehouse, scrape
from supervisor import Component, Supervisor

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv" / "bin"
DEFAULT_SYMBOLS = "AAPL,MSFT,GOOGL,AMZN,NVDA,META,TSLA,JPM,V,NFLX"
PORTS = {"simulator": 18080, "simulator_admin": 18081, "quotes": 18100, "trades": 18101, "consumer": 18102}


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    if not raw.isdigit():
        sys.exit(f"demo: {name}={raw!r} is not a whole number")
    return int(raw)


def read_env_file(path: Path) -> dict[str, str]:
    sys.path.insert(0, str(REPO / "tools" / "devstack" / "src"))
    from devstack import envfile

    values: dict[str, str] = envfile.read(path)
    return values


def plan(stack: dict[str, str], home: Path, symbols: str) -> tuple[list[Component], dict[str, str]]:
    """Every process of the demo with its environment; pure apart from reading os.environ once."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PRODUCER_", "CONSUMER_", "LOADER_"))}
    finnhub_key = os.environ.get("FINNHUB_API_KEY")
    api_url = "https://finnhub.io/api/v1" if finnhub_key else f"http://127.0.0.1:{PORTS['simulator']}/api/v1"
    producer_env = {
        **base,
        "PRODUCER_SYMBOLS": symbols,
        "PRODUCER_FEED": "demo",
        "PRODUCER_API_URL": api_url,
        "PRODUCER_KAFKA_BOOTSTRAP": stack["DEVSTACK_KAFKA_BOOTSTRAP"],
    }
    if finnhub_key:
        producer_env["PRODUCER_FINNHUB_API_KEY"] = finnhub_key
    duckdb_path = home / "warehouse" / "stocks_mds.duckdb"
    s3 = {
        "endpoint": stack["DEVSTACK_S3_ENDPOINT"],
        "key": stack["DEVSTACK_S3_ACCESS_KEY"],
        "secret": stack["DEVSTACK_S3_SECRET_KEY"],
    }
    loader_env = {
        "LOADER_S3_ENDPOINT_URL": s3["endpoint"],
        "LOADER_S3_ACCESS_KEY_ID": s3["key"],
        "LOADER_S3_SECRET_ACCESS_KEY": s3["secret"],
        "LOADER_PREFIXES": "bronze/topic=stock-quotes/,bronze/topic=stock-trades/",
        "LOADER_DUCKDB_PATH": str(duckdb_path),
    }
    airflow_home = home / "airflow"
    airflow_env = {
        **base,
        **loader_env,
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",  # a laptop demo on 127.0.0.1: no login
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": "8080",
        "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "30",
        "PIPELINE_EXECUTION_MODE": "local",
        "PIPELINE_LOADER_COMMAND": str(VENV / "stockfeed-load"),
        "PIPELINE_DBT_COMMAND": str(REPO / ".venv-dbt" / "bin" / "dbt"),
        "DBT_DUCKDB_PATH": str(duckdb_path),
        "PATH": f"{REPO / '.venv-airflow' / 'bin'}:{base.get('PATH', '')}",
    }
    components = []
    if not finnhub_key:
        components.append(
            Component(
                "simulator",
                [str(VENV / "stockfeed-simulator")],
                {**base, "SIMULATOR_PORT": str(PORTS["simulator"]),
                 "SIMULATOR_ADMIN_PORT": str(PORTS["simulator_admin"]), "SIMULATOR_SYMBOLS": "*",
                 "SIMULATOR_TRADE_RATE": "20"},
                health_url=f"http://127.0.0.1:{PORTS['simulator']}/healthz",
            )
        )  # fmt: skip
    components += [
        Component(
            "producer-quotes",
            [str(VENV / "stockfeed-producer")],
            {**producer_env, "PRODUCER_MODE": "quotes", "PRODUCER_METRICS_PORT": str(PORTS["quotes"])},
            health_url=f"http://127.0.0.1:{PORTS['quotes']}/healthz",
        ),
        Component(
            "producer-trades",
            [str(VENV / "stockfeed-producer")],
            {**producer_env, "PRODUCER_MODE": "trades", "PRODUCER_METRICS_PORT": str(PORTS["trades"])},
            health_url=f"http://127.0.0.1:{PORTS['trades']}/healthz",
        ),
        Component(
            "consumer",
            [str(VENV / "stockfeed-consumer")],
            {
                **base,
                "CONSUMER_BOOTSTRAP_SERVERS": stack["DEVSTACK_KAFKA_BOOTSTRAP"],
                "CONSUMER_TOPICS": "stock-quotes,stock-trades",
                "CONSUMER_S3_ENDPOINT": s3["endpoint"],
                "CONSUMER_S3_ACCESS_KEY": s3["key"],
                "CONSUMER_S3_SECRET_KEY": s3["secret"],
                "CONSUMER_MAX_AGE_SECONDS": "10",  # small batches keep the demo's gold within a minute or two
                "CONSUMER_METRICS_HOST": "127.0.0.1",
                "CONSUMER_METRICS_PORT": str(PORTS["consumer"]),
            },
            health_url=f"http://127.0.0.1:{PORTS['consumer']}/healthz",
        ),
        Component(
            "airflow",
            [str(REPO / ".venv-airflow" / "bin" / "airflow"), "standalone"],
            airflow_env,
            health_url="http://127.0.0.1:8080/api/v2/monitor/health",
            start_timeout=240,
        ),
        Component(
            "dashboard",
            [str(VENV / "stockfeed-dashboard"), "--server.address", "127.0.0.1", "--server.port", "8501",
             "--server.headless", "true"],
            {**base, "DASHBOARD_DUCKDB_PATH": str(duckdb_path)},
            health_url="http://127.0.0.1:8501/_stcore/health",
        ),
    ]  # fmt: skip
    return components, {"duckdb_path": str(duckdb_path)}


def progress_line(started: float, warehouse: Warehouse | None) -> str:
    produced = sum(
        scrape(f"http://127.0.0.1:{PORTS[p]}/metrics", "stockfeed_producer_messages_delivered") or 0
        for p in ("quotes", "trades")
    )
    objects = scrape(f"http://127.0.0.1:{PORTS['consumer']}/metrics", "stockfeed_consumer_objects_written")
    if warehouse is None:
        tables = "warehouse: waiting for the first DAG run"
    else:
        fresh = "-" if warehouse.freshness_seconds is None else f"{warehouse.freshness_seconds:.0f}s"
        tables = (
            f"raw {warehouse.raw}  silver {warehouse.silver}  gold symbols {warehouse.gold_symbols}  freshness {fresh}"
        )
    return f"[{time.monotonic() - started:5.0f}s] produced {produced:.0f}  objects {objects or 0:.0f}  {tables}"


def main() -> int:
    seconds = env_int("DEMO_SECONDS", 0)
    symbols = os.environ.get("DEMO_SYMBOLS", DEFAULT_SYMBOLS)
    home = Path(os.environ.get("DEMO_HOME") or REPO / ".devstack" / "demo")
    stack_env_file = REPO / ".devstack" / "env"
    # The local stack (idempotent: a no-op when it is up already).
    subprocess.run([sys.executable, "-m", "devstack", "up", "kafka", "minio"], check=True,
                   env={**os.environ, "PYTHONPATH": str(REPO / "tools" / "devstack" / "src")})  # fmt: skip
    stack = read_env_file(stack_env_file)
    if "DEVSTACK_KAFKA_BOOTSTRAP" not in stack or "DEVSTACK_S3_ENDPOINT" not in stack:
        sys.exit("demo: the local stack is not up (make demo starts it; or run `make devstack-up`)")
    components, info = plan(stack, home, symbols)
    supervisor = Supervisor(home / "logs")
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    started = time.monotonic()
    try:
        for component in components:
            print(f"starting {component.name} ...", flush=True)
            supervisor.start(component)
        print(
            "\nstockfeed demo is running:\n"
            "  Airflow UI   http://127.0.0.1:8080  (DAG minio_to_snowflake_stream, every minute)\n"
            "  dashboard    http://127.0.0.1:8501\n"
            f"  warehouse    {info['duckdb_path']} (DuckDB)\n"
            f"  logs         {supervisor.logs}\n"
            "Ctrl-C stops everything.\n",
            flush=True,
        )
        started = time.monotonic()  # DEMO_SECONDS counts the pipeline's running time, not the start-up
        warehouse = None
        recent: list[tuple[float, Warehouse]] = []  # the last 90 s of samples: one DAG cycle and then some
        while not stop["now"] and (seconds == 0 or time.monotonic() - started < seconds):
            time.sleep(10)
            warehouse = read_warehouse(Path(info["duckdb_path"])) or warehouse
            if warehouse is not None:
                recent = [(t, w) for t, w in recent if time.monotonic() - t <= 90] + [(time.monotonic(), warehouse)]
            print(progress_line(started, warehouse), flush=True)
            if supervisor.dead():
                print(f"demo: stopped: {', '.join(supervisor.dead())} exited (see their logs)", file=sys.stderr)
                return 1
        if os.environ.get("DEMO_SCREENSHOT"):
            take_screenshot("http://127.0.0.1:8501", Path(os.environ["DEMO_SCREENSHOT"]))
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
    finally:
        supervisor.stop_all()
    if seconds:
        return verdict([w for _, w in recent], len(symbols.split(",")))
    return 0


def take_screenshot(url: str, target: Path) -> None:
    """A headless-Chromium picture of the live dashboard (Debian's chromium; loopback only).

    A picture is a courtesy: whatever goes wrong with it is reported on one line and never fails the demo.
    """
    try:
        screenshot.take(url, target, ready_text="Latest KPIs")
    except Exception as error:  # any failure of the picture, including ones not foreseen
        reason = " ".join(str(error).split()) or type(error).__name__
        print(f"demo: no screenshot: {reason}", file=sys.stderr, flush=True)
    else:
        print(f"screenshot of the dashboard: {target}", flush=True)


def verdict(recent: list[Warehouse], symbol_count: int) -> int:
    """Every symbol in gold, and gold refreshed within 2 minutes of the quotes: freshness right after the last
    minute's DAG run (the smallest in the last 90 s of samples), since it grows between runs by design."""
    have = max((w.gold_symbols for w in recent), default=0)
    if have < symbol_count:
        print(f"demo: FAILED: gold rows for {have} of {symbol_count} symbols", file=sys.stderr)
        return 1
    freshness = [w.freshness_seconds for w in recent if w.freshness_seconds is not None]
    if not freshness or min(freshness) > 120:
        print(f"demo: FAILED: gold freshness {min(freshness, default=None)}s > 120s", file=sys.stderr)
        return 1
    print(f"demo: OK: gold for all {symbol_count} symbols, freshness {min(freshness):.0f}s after the last refresh")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`make demo`: the whole pipeline on one machine, without Docker, Kubernetes or any account.

simulator (or Finnhub) -> producer (quotes + trades) -> Kafka -> consumer -> MinIO -> Airflow (local mode,
every minute: loader -> DuckDB or Snowflake, dbt build on a warm dbt worker) -> dashboard. Ctrl-C stops
everything it started.
Two feeds by default, as two StockFeed-shaped configs (`demo_feeds`): `quotes` polls 10 symbols
(DEMO_SYMBOLS), `trades` streams 5 others (DEMO_TRADE_SYMBOLS), each with its producer and topic.
DEMO_SECONDS=N stops after N seconds and exits non-zero unless every symbol of every feed reached gold (with its
feed), each fresh, and nothing was lost: it then stops the producers, waits until the consumer has written every
delivered message to bronze, runs the DAG once more and counts every delivered quote and trade in silver
(tools/demo/audit.py). DEMO_TOPIC_PREFIX, DEMO_BUCKET and DEMO_CONSUMER_GROUP give a run names of its own.
PIPELINE_SCHEDULE=events (default) runs the DAG as soon as objects land: MinIO publishes each new bronze object
on the stack's events topic and Airflow's triggerer watches it; `cron` runs it every minute as the original did.
The DAG's dbt steps run on a warm dbt worker (services/dbt-worker); DEMO_DBT_WORKER=off runs each one cold.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import airflow_db
import audit
import bucket_events
import screenshot
from progress import Warehouse, read_warehouse, scrape
from supervisor import Component, Supervisor

from stockfeed_contracts import envs
from stockfeed_contracts.lake import DEFAULT_BUCKET, QUOTES_TOPIC, TRADES_TOPIC

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv" / "bin"
DEFAULT_SYMBOLS = "AAPL,MSFT,GOOGL,AMZN,NVDA,META,TSLA,JPM,V,NFLX"  # the quotes feed
DEFAULT_TRADE_SYMBOLS = "AMD,INTC,ORCL,CRM,ADBE"  # the trades feed
UNIX_SOCKET_PATH_MAX = 100  # Linux allows 107 bytes in a socket's path


def demo_feeds(quote_symbols: str, trade_symbols: str, topic_prefix: str = "") -> list[dict[str, Any]]:
    """The demo's feeds, shaped like StockFeed resources (operator/crds/stockfeed.yaml): what a cluster would be
    given with `kubectl apply`, run here as one producer per feed, one topic each (`topic_prefix` + the usual)."""
    feeds = []
    for name, mode, symbols, topic in (
        ("quotes", "quotes", quote_symbols, QUOTES_TOPIC),
        ("trades", "trades", trade_symbols, TRADES_TOPIC),
    ):
        if symbols.strip():
            spec = {
                "mode": mode,
                "symbols": [s.strip() for s in symbols.split(",") if s.strip()],
                "kafka": {"topic": topic_prefix + topic},
            }
            feeds.append(
                {"apiVersion": "stockfeed.dev/v1", "kind": "StockFeed", "metadata": {"name": name}, "spec": spec}
            )
    return feeds


DEFAULT_GROUP = "stockfeed-bronze"  # the consumer's own default
FRESH_SECONDS = 120  # each symbol's newest time in gold, right after a DAG run
DRAIN_SECONDS = 120  # after the producers stop: how long the consumer may take to write the rest to bronze
DAG_ID = "minio_to_snowflake_stream"
SCHEDULES = ("events", "cron")  # PIPELINE_SCHEDULE (dags/stockfeed_pipeline/settings.py)
EVENTS_TOPIC = "stockfeed.bronze-events"  # when the stack's env file does not name one
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


def events_connection(kafka: str, group: str) -> str:
    """The Airflow connection (AIRFLOW_CONN_*, JSON) the bucket-events watcher consumes with: its own group, read
    from the start, so an event published before the triggerer came up still starts a run."""
    extra = {"bootstrap.servers": kafka, "group.id": group, "auto.offset.reset": "earliest",
             "enable.auto.commit": False}  # fmt: skip
    return json.dumps({"conn_type": "kafka", "extra": extra})


def plan(
    stack: dict[str, str],
    home: Path,
    feeds: list[dict[str, Any]],
    bucket: str = DEFAULT_BUCKET,
    group: str = DEFAULT_GROUP,
    schedule: str = "events",
    dbt_worker: bool = True,
) -> tuple[list[Component], dict[str, str]]:
    """Every process of the demo with its environment; pure apart from reading os.environ once."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PRODUCER_", "CONSUMER_", "LOADER_"))}
    finnhub_key = os.environ.get("FINNHUB_API_KEY")
    api_url = "https://finnhub.io/api/v1" if finnhub_key else f"http://127.0.0.1:{PORTS['simulator']}/api/v1"
    kafka = stack["DEVSTACK_KAFKA_BOOTSTRAP"]

    def producer_env(feed: dict[str, Any], port: int) -> dict[str, str]:
        spec = feed["spec"]
        rendered = envs.producer_env(mode=spec["mode"], feed=feed["metadata"]["name"], symbols=spec["symbols"],
                                     kafka_bootstrap=kafka, topic=spec["kafka"]["topic"], api_url=api_url,
                                     metrics_port=port)  # fmt: skip
        return {**base, **rendered}

    if finnhub_key:
        base = {**base, "PRODUCER_FINNHUB_API_KEY": finnhub_key}
    duckdb_path = home / "warehouse" / "stocks_mds.duckdb"
    s3 = {
        "endpoint": stack["DEVSTACK_S3_ENDPOINT"],
        "key": stack["DEVSTACK_S3_ACCESS_KEY"],
        "secret": stack["DEVSTACK_S3_SECRET_KEY"],
    }
    region = stack.get("DEVSTACK_S3_REGION", "us-east-1")
    loader_env = {  # every topic under bronze/ is discovered: both producers' topics load with no list here
        **envs.loader_env(
            s3_endpoint_url=s3["endpoint"], s3_region=region, bucket=bucket, duckdb_path=str(duckdb_path)
        ),
        **envs.s3_credentials_env(envs.LOADER, s3["key"], s3["secret"]),
    }
    airflow_home = home / "airflow"
    worker_socket = dbt_worker_socket(home)
    airflow_database = airflow_db.database_name(airflow_home)
    airflow_env = {
        **base,
        **loader_env,
        # the metadata on the stack's PostgreSQL with LocalExecutor, as in the chart (main() creates the database)
        **airflow_db.airflow_env(stack["DEVSTACK_PG_DSN"], airflow_database),
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",  # a laptop demo on 127.0.0.1: no login
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": "8080",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
        "PIPELINE_EXECUTION_MODE": "local",
        # the triggerer imports the watcher's message filter by name; only the DAG processor adds the DAGs folder
        "PYTHONPATH": str(REPO / "dags"),
        "PYTHONUNBUFFERED": "1",  # standalone relays its parts' lines: into the log as they come, not at exit
        "PIPELINE_SCHEDULE": schedule,
        "PIPELINE_EVENTS_TOPIC": stack.get("DEVSTACK_S3_EVENTS_TOPIC", EVENTS_TOPIC),
        "PIPELINE_EVENTS_BUCKET": bucket,  # the events topic is the stack's: other buckets' objects are not ours
        "AIRFLOW_CONN_STOCKFEED_EVENTS_KAFKA": events_connection(kafka, f"stockfeed-events-{airflow_database}"),
        "PIPELINE_LOADER_COMMAND": str(VENV / "stockfeed-load"),
        "PIPELINE_DBT_COMMAND": str(REPO / ".venv-dbt" / "bin" / "dbt"),
        # dbt without its cold start (services/dbt-worker); unset: each dbt step a `dbt` process of its own
        "PIPELINE_DBT_WORKER_SOCKET": str(worker_socket) if dbt_worker else "",
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
    for feed in feeds:  # one producer per feed; its metrics port by the feed's mode (one feed of each here)
        port = PORTS[feed["spec"]["mode"]]
        components.append(
            Component(
                f"producer-{feed['metadata']['name']}",
                [str(VENV / "stockfeed-producer")],
                producer_env(feed, port),
                health_url=f"http://127.0.0.1:{port}/healthz",
            )
        )
    topics = sorted({feed["spec"]["kafka"]["topic"] for feed in feeds})
    components += [
        Component(
            "consumer",
            [str(VENV / "stockfeed-consumer")],
            {
                **base,
                **envs.consumer_env(kafka_bootstrap=kafka, topics=topics, bucket=bucket, group_id=group,
                                    s3_endpoint_url=s3["endpoint"], s3_region=region,
                                    metrics_host="127.0.0.1", metrics_port=PORTS["consumer"]),
                **envs.s3_credentials_env(envs.CONSUMER, s3["key"], s3["secret"]),
                # an object at least every 5 s per partition: the events schedule loads it at once (README: Tuning)
                "CONSUMER_MAX_AGE_SECONDS": "5",
            },
            health_url=f"http://127.0.0.1:{PORTS['consumer']}/healthz",
        ),
        # before Airflow, so the first run finds it warm (a step that finds no worker runs dbt cold)
        *([Component("dbt-worker", [str(REPO / ".venv-dbt" / "bin" / "stockfeed-dbt-worker"), "--socket",
                                    str(worker_socket)], base)] if dbt_worker else []),
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
    info = {"duckdb_path": str(duckdb_path), "airflow_database": airflow_database, "pg_dsn": stack["DEVSTACK_PG_DSN"]}
    return components, info


def dbt_worker_socket(home: Path) -> Path:
    """The warm dbt's socket in the demo's folder, or in the temp folder when that path is too long for one."""
    path = home / "dbt-worker.sock"
    if len(str(path).encode()) <= UNIX_SOCKET_PATH_MAX:
        return path
    digest = hashlib.sha256(str(home).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"stockfeed-{os.getuid()}-{digest}" / "dbt-worker.sock"


def private_socket_folder(socket_path: Path, home: Path) -> None:
    """The worker's socket outside the demo's folder sits in a folder of ours alone (created here), so nobody else
    can take its place; the Airflow side also talks only to a worker of its own user (SO_PEERCRED)."""
    folder = socket_path.parent
    if folder == home:
        return
    folder.mkdir(mode=0o700, exist_ok=True)
    info = folder.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        sys.exit(f"demo: {folder} (for the dbt worker's socket) is not a folder of this user alone: remove it")


SCHEDULE_TEXT = {"events": "when objects land", "cron": "every minute"}


def enable_bucket_events(stack: dict[str, str], bucket: str) -> None:
    """The bucket (created here if new) publishes its new bronze objects on the events topic, which exists
    before Airflow's watcher subscribes to it."""
    import boto3
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    s3 = boto3.client("s3", endpoint_url=stack["DEVSTACK_S3_ENDPOINT"],
                      aws_access_key_id=stack["DEVSTACK_S3_ACCESS_KEY"],
                      aws_secret_access_key=stack["DEVSTACK_S3_SECRET_KEY"],
                      region_name=stack.get("DEVSTACK_S3_REGION", "us-east-1"))  # fmt: skip
    bucket_events.enable(s3, bucket, stack["DEVSTACK_S3_EVENTS_ARN"])
    admin = AdminClient({"bootstrap.servers": stack["DEVSTACK_KAFKA_BOOTSTRAP"]})
    topic = stack.get("DEVSTACK_S3_EVENTS_TOPIC", EVENTS_TOPIC)
    for future in admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)]).values():
        try:
            future.result(timeout=30)
        except Exception as error:  # KafkaException: already there is what we want
            if "TOPIC_ALREADY_EXISTS" not in str(error):
                raise


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
    feeds = demo_feeds(
        os.environ.get("DEMO_SYMBOLS", DEFAULT_SYMBOLS),
        os.environ.get("DEMO_TRADE_SYMBOLS", DEFAULT_TRADE_SYMBOLS),
        os.environ.get("DEMO_TOPIC_PREFIX", ""),
    )
    bucket = os.environ.get("DEMO_BUCKET") or DEFAULT_BUCKET
    group = os.environ.get("DEMO_CONSUMER_GROUP") or DEFAULT_GROUP
    home = Path(os.environ.get("DEMO_HOME") or REPO / ".devstack" / "demo")
    schedule = os.environ.get("PIPELINE_SCHEDULE", "events")
    if schedule not in SCHEDULES:
        sys.exit(f"demo: PIPELINE_SCHEDULE={schedule!r}: use 'events' or 'cron'")
    dbt_worker = os.environ.get("DEMO_DBT_WORKER", "on")
    if dbt_worker not in ("on", "off"):
        sys.exit(f"demo: DEMO_DBT_WORKER={dbt_worker!r}: use 'on' (dbt steps on the warm dbt worker) or 'off'")
    stack_env_file = REPO / ".devstack" / "env"
    # The local stack (idempotent: a no-op when it is up already).
    subprocess.run([sys.executable, "-m", "devstack", "up", "kafka", "minio", "postgres"], check=True,
                   env={**os.environ, "PYTHONPATH": str(REPO / "tools" / "devstack" / "src")})  # fmt: skip
    stack = read_env_file(stack_env_file)
    if not {"DEVSTACK_KAFKA_BOOTSTRAP", "DEVSTACK_S3_ENDPOINT", "DEVSTACK_PG_DSN"} <= set(stack):
        sys.exit("demo: the local stack is not up (make demo starts it; or run `make devstack-up`)")
    components, info = plan(stack, home, feeds, bucket, group, schedule, dbt_worker == "on")
    private_socket_folder(dbt_worker_socket(home), home)
    airflow_db.ensure_database(stack["DEVSTACK_PG_DSN"], info["airflow_database"])
    if schedule == "events":
        try:
            enable_bucket_events(stack, bucket)
        except Exception as error:  # botocore's ClientError: a MinIO started by an older version has no such target
            if "ARN" not in str(error):
                raise
            advice = "restart it (`make devstack-down`, then `make demo`) or set PIPELINE_SCHEDULE=cron"
            sys.exit(f"demo: the stack's MinIO publishes no bucket events (an older version?): {advice}\n  ({error})")
    supervisor = Supervisor(home / "logs")
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    started = time.monotonic()
    since = time.time()  # the loss count covers what this run's producers delivered
    losses: list[str] = []
    try:
        for component in components:
            print(f"starting {component.name} ...", flush=True)
            supervisor.start(component)
        print(
            "\nstockfeed demo is running:\n"
            f"  Airflow UI   http://127.0.0.1:8080  (DAG minio_to_snowflake_stream, {SCHEDULE_TEXT[schedule]})\n"
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
        if seconds and not stop["now"]:
            airflow = next(c for c in components if c.name == "airflow")
            losses = drain(supervisor, feeds, stack["DEVSTACK_KAFKA_BOOTSTRAP"], group, airflow, info, since)
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
    finally:
        supervisor.stop_all()
    if seconds:
        return verdict([w for _, w in recent], feeds, losses)
    return 0


def drain(
    supervisor: Supervisor,
    feeds: list[dict[str, Any]],
    kafka: str,
    group: str,
    airflow: Component,
    info: dict[str, str],
    since: float,
) -> list[str]:
    """Stop the producers (they flush), let the consumer write everything delivered to bronze, run the DAG once
    more, and count every delivered quote and trade in silver. Problems, one line each."""
    for feed in feeds:
        supervisor.stop(f"producer-{feed['metadata']['name']}")
    topics = sorted({feed["spec"]["kafka"]["topic"] for feed in feeds})
    if not audit.wait_committed(kafka, group, topics, DRAIN_SECONDS):
        return [f"the consumer did not commit every delivered message within {DRAIN_SECONDS}s of the producers' stop"]
    objects = scrape(f"http://127.0.0.1:{PORTS['consumer']}/metrics", "stockfeed_consumer_objects_written") or 0
    partitions = len(audit.end_offsets(kafka, topics))
    hours = (time.time() - since) / 3600
    # the price of freshness: each partition's open batch is cut at least every CONSUMER_MAX_AGE_SECONDS
    print(f"demo: the consumer wrote {objects:.0f} objects from {partitions} partitions: "
          f"{objects / max(partitions, 1) / hours:.0f} objects per hour per partition", flush=True)  # fmt: skip
    supervisor.stop("consumer")
    supervisor.stop("airflow")  # the last load runs here, alone on the warehouse
    runs = airflow_db.run_counts(info["pg_dsn"], info["airflow_database"], DAG_ID)
    print(f"demo: DAG runs while the pipeline ran ({airflow.env['PIPELINE_SCHEDULE']}): "
          + ", ".join(f"{count} {run_type}" for run_type, count in sorted(runs.items())), flush=True)  # fmt: skip
    log = supervisor.log("final-dag-run")
    try:
        with log.open("ab") as out:
            final = subprocess.run(
                [airflow.argv[0], "dags", "test", DAG_ID],
                env=dict(airflow.env), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                timeout=600, check=False,
            )  # fmt: skip
        if final.returncode != 0:
            return [f"the final DAG run failed (exit {final.returncode}); see {log}"]
        delivered = audit.delivered_keys(audit.read_topics(kafka, topics), since)
    except (subprocess.TimeoutExpired, TimeoutError) as error:
        return [f"the loss count could not finish: {error}"]
    problems = audit.compare(delivered, audit.silver_keys(Path(info["duckdb_path"]), since))
    verdict_text = "; ".join(problems) if problems else "every one in silver, once"
    print(f"demo: loss count: {audit.summary(delivered)}: {verdict_text}", flush=True)
    return problems


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


def verdict(recent: list[Warehouse], feeds: list[dict[str, Any]], losses: list[str]) -> int:
    """Every symbol of every feed in gold with its feed (quotes in gold_kpi, trades in gold_trades_1m), each one
    fresh: its newest time in gold within FRESH_SECONDS right after a DAG run (the smallest of the last 90 s of
    samples, since ages grow between runs by design); and nothing lost (`losses` empty)."""
    wanted = {(feed["metadata"]["name"], symbol) for feed in feeds for symbol in feed["spec"]["symbols"]}
    seen = frozenset().union(*(w.feed_symbols for w in recent))
    symbol_count = len(wanted)
    if missing := sorted(wanted - seen):
        have = symbol_count - len(missing)
        shown = ", ".join(f"{symbol} ({feed})" for feed, symbol in missing)
        print(f"demo: FAILED: gold rows for {have} of {symbol_count} symbols; missing {shown}", file=sys.stderr)
        return 1
    ages = {key: min(w.symbol_ages[key] for w in recent if key in w.symbol_ages) for key in wanted}
    if stale := sorted(key for key, age in ages.items() if age > FRESH_SECONDS):
        shown = ", ".join(f"{symbol} ({feed}) {ages[(feed, symbol)]:.0f}s" for feed, symbol in stale)
        print(f"demo: FAILED: stale in gold (> {FRESH_SECONDS}s): {shown}", file=sys.stderr)
        return 1
    if losses:
        print(f"demo: FAILED: {'; '.join(losses)}", file=sys.stderr)
        return 1
    print(
        f"demo: OK: gold for all {symbol_count} symbols of {len(feeds)} feeds, each with its feed, "
        f"each at most {max(ages.values()):.0f}s old after a refresh; nothing lost"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""stockfeed-dbt-worker: serve dbt commands on a Unix socket with dbt imported and the project parsed once.

    stockfeed-dbt-worker [--socket PATH]        (or DBT_WORKER_SOCKET)

The DAG's local steps use it when PIPELINE_DBT_WORKER_SOCKET names the same path, and run `dbt` themselves when
nothing listens there. SIGTERM/SIGINT: stop taking commands, let running ones finish (up to --drain-seconds).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from stockfeed_dbt_worker.server import AlreadyRunningError, Worker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stockfeed-dbt-worker", description=__doc__.split("\n\n")[0])
    parser.add_argument("--socket", default=os.environ.get("DBT_WORKER_SOCKET", ""),
                        help="Unix socket path to listen on (default: DBT_WORKER_SOCKET)")  # fmt: skip
    parser.add_argument("--drain-seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s stockfeed-dbt-worker %(levelname)s %(message)s")
    if not args.socket:
        print("stockfeed-dbt-worker: set DBT_WORKER_SOCKET (or --socket) to the socket path", file=sys.stderr)
        return 2
    directory = os.path.dirname(os.path.abspath(args.socket))
    if not os.path.isdir(directory):
        print(f"stockfeed-dbt-worker: DBT_WORKER_SOCKET: directory {directory} does not exist", file=sys.stderr)
        return 2
    from stockfeed_dbt_worker.dbt_runner import DbtRunner

    try:
        Worker(args.socket, DbtRunner(), drain_seconds=args.drain_seconds).serve()
    except AlreadyRunningError as exc:
        print(f"stockfeed-dbt-worker: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

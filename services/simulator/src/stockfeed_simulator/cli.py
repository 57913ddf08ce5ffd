"""`stockfeed-simulator`: flags override SIMULATOR_* variables; bad configuration exits 2 naming the variable."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from pydantic import ValidationError

from stockfeed_simulator.config import ENV_PREFIX, SimulatorSettings
from stockfeed_simulator.server import SimulatorServer

EXIT_BAD_CONFIG = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stockfeed-simulator",
        description="A Finnhub-compatible market simulator (REST /api/v1/quote + trades WebSocket) with fault "
        "injection. Every flag can also be set as SIMULATOR_<FLAG> (e.g. --hang-share -> SIMULATOR_HANG_SHARE).",
    )
    for name, field in SimulatorSettings.model_fields.items():
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, default=None, help=field.description)
    return parser


def load_settings(argv: list[str] | None) -> SimulatorSettings:
    flags = {name: value for name, value in vars(build_parser().parse_args(argv)).items() if value is not None}
    try:
        return SimulatorSettings(**flags)
    except ValidationError as error:
        for problem in error.errors():
            field = str(problem["loc"][0]) if problem["loc"] else "settings"
            where = f"{ENV_PREFIX}{field.upper()} / --{field.replace('_', '-')}"
            print(f"stockfeed-simulator: {where}: {problem['msg']}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_CONFIG) from None


async def _serve(settings: SimulatorSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await SimulatorServer(settings).serve(stop)


def main(argv: list[str] | None = None) -> int:
    settings = load_settings(argv)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("stockfeed_simulator.websockets").setLevel(logging.WARNING)
    asyncio.run(_serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())

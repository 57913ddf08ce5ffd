"""`stockfeed-operator`: check the OPERATOR_* settings (exit 2 naming the variable), then run kopf standalone."""

from __future__ import annotations

import argparse
import sys

import kopf

from stockfeed_operator.config import ConfigError, OperatorSettings, load_settings

LOG_FORMATS = {"plain": kopf.LogFormat.PLAIN, "full": kopf.LogFormat.FULL, "json": kopf.LogFormat.JSON}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stockfeed-operator",
        description="Run the StockFeed operator. Settings come from OPERATOR_* variables (see operator/README.md).",
    )
    parser.add_argument(
        "--namespace",
        action="append",
        default=None,
        metavar="NS",
        help="watch only this namespace (repeatable; overrides OPERATOR_NAMESPACES; default: the whole cluster)",
    )
    parser.add_argument("--check", action="store_true", help="validate the settings and exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"stockfeed-operator: {error}", file=sys.stderr)
        return 2
    if args.check:
        print("stockfeed-operator: settings are valid")
        return 0
    run(settings, namespaces=tuple(args.namespace or settings.namespaces))
    return 0


def configure_logging(settings: OperatorSettings) -> None:
    # log_prefix=None is kopf's own CLI default: text lines name their feed ([namespace/name]), JSON has fields for
    # it; kopf.configure's default (False) would leave a pod log that never says which feed a line is about.
    kopf.configure(verbose=settings.log_level == "DEBUG", log_format=LOG_FORMATS[settings.log_format], log_prefix=None)


def run(settings: OperatorSettings, namespaces: tuple[str, ...]) -> None:
    configure_logging(settings)
    from stockfeed_operator import handlers  # noqa: F401 - importing registers the handlers with kopf

    kopf.run(
        standalone=True,
        clusterwide=not namespaces,
        namespaces=namespaces,
        liveness_endpoint=settings.liveness_endpoint or None,
    )

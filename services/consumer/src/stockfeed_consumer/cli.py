"""`stockfeed-consumer`: exit 0 after SIGTERM (batches flushed), 2 on bad configuration, 1 on a fatal error.

Imports happen inside main(): spawned encoder processes import this module as their main module again,
and should not pay for Kafka, boto3 and pydantic.
"""

from __future__ import annotations

import logging
import sys


def main(argv: list[str] | None = None) -> None:
    from stockfeed_consumer.config import load_settings
    from stockfeed_consumer.errors import ConfigError

    try:
        settings = load_settings(sys.argv[1:] if argv is None else argv)
    except ConfigError as error:
        print(f"stockfeed-consumer: bad configuration: {error}", file=sys.stderr)
        sys.exit(2)
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr
    )
    logging.getLogger("botocore").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)

    from stockfeed_consumer.app import run

    try:
        sys.exit(run(settings))
    except ConfigError as error:
        print(f"stockfeed-consumer: bad configuration: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()

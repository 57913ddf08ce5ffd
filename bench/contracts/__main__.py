"""The contract check per record, fast path against the full check, measured side by side in one run.

    .venv/bin/python -m bench.contracts [--messages 100000] [--repeats 3]

Over the same valid quotes (raw bytes as they arrive from Kafka):
(a) full: orjson parse + `stockfeed_contracts.reason_invalid` (the compiled JSON Schema), what every record
    cost before the fast path;
(b) fast: `stockfeed_contracts.fast.accepts_json` on the raw bytes (one msgspec decode into types generated
    from the same schema files), what a valid record costs now;
(c) the consumer's path: `stockfeed_consumer.validation.reasons_invalid` over the whole batch (fast path first,
    full check only for what it does not accept), when the consumer is installed.
Every record is checked in every round (no sampling); each check's verdict is asserted. Rounds are interleaved;
the medians of µs per record and the ratio full/fast are printed. No servers needed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable, Sequence

import orjson

from stockfeed_contracts import reason_invalid
from stockfeed_contracts.fast import accepts_json

SYMBOLS = ["AAPL", "MSFT", "GOOGL", "AMZN", "NVDA", "META", "TSLA", "JPM", "V", "NFLX"]


def quotes(count: int, seed: int = 7) -> list[bytes]:
    """`count` distinct valid quote v1 messages, as the producer encodes them."""
    rng = random.Random(seed)
    start = 1_767_225_600  # 2026-01-01
    messages = []
    for n in range(count):
        price = round(rng.uniform(10, 900), 2)
        previous = round(price * rng.uniform(0.95, 1.05), 2)
        messages.append(
            orjson.dumps(
                {
                    "schema_version": "quote.v1",
                    "symbol": SYMBOLS[n % len(SYMBOLS)],
                    "c": price,
                    "d": round(price - previous, 2),
                    "dp": round((price - previous) / previous * 100, 4),
                    "h": round(price * 1.01, 2),
                    "l": round(price * 0.99, 2),
                    "o": previous,
                    "pc": previous,
                    "t": start + n,
                    "fetched_at": start + n + 0.25,
                    "source": "simulator",
                    "feed": "bench",
                }
            )
        )
    return messages


def full_check(raw: bytes) -> bool:
    return reason_invalid(orjson.loads(raw)) is None


def fast_check(raw: bytes) -> bool:
    return accepts_json(raw)


def time_per_record(check: Callable[[bytes], bool], messages: Sequence[bytes]) -> float:
    began = time.perf_counter()
    verdicts = [check(raw) for raw in messages]
    elapsed = time.perf_counter() - began
    assert all(verdicts), f"{check.__name__} refused a valid quote"
    return elapsed / len(messages) * 1e6


def consumer_path() -> Callable[[bytes], bool] | None:
    try:
        from stockfeed_consumer.validation import reasons_invalid
    except ImportError:
        return None

    def consumer_batch(raw: bytes) -> bool:  # timed per record like the others, over the same bytes
        return reasons_invalid([raw])[0] is None

    return consumer_batch


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.contracts", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    messages = quotes(args.messages)
    candidates: dict[str, Callable[[bytes], bool]] = {"full": full_check, "fast": fast_check}
    if (consumer := consumer_path()) is not None:
        candidates["consumer"] = consumer
    for check in candidates.values():  # warm up: compile the validator, build the msgspec decoder
        time_per_record(check, messages[:1000])
    runs: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(args.repeats):
        for name, check in candidates.items():  # interleaved, so drifts in machine load hit all alike
            runs[name].append(time_per_record(check, messages))
    print(f"contract check of {len(messages):,} valid quotes, medians of {args.repeats} rounds (µs per record):")
    medians = {name: statistics.median(values) for name, values in runs.items()}
    for name, values in runs.items():
        print(f"  {name:9s} {medians[name]:6.2f}   runs: {' '.join(f'{v:.2f}' for v in values)}")
    print(f"  full / fast: {medians['full'] / medians['fast']:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

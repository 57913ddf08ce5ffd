"""The interface the run uses for either warehouse, and the crash hook tests use to kill a load mid-way."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from typing import Protocol

from stockfeed_loader.batch import PreparedBatch
from stockfeed_loader.keys import KeyRange

log = logging.getLogger(__name__)

Checkpoint = Callable[[str], None]


class Warehouse(Protocol):
    """A raw table plus its load ledger; `load_batch` commits a batch's rows and ledger rows together."""

    name: str

    def ensure_tables(self) -> None: ...

    def high_water_key(self, key_range: KeyRange) -> str | None: ...

    def ledger_keys(self, key_range: KeyRange, after: str | None) -> set[tuple[str, str]]: ...

    def load_batch(self, batch: PreparedBatch) -> int:
        """Load the batch in one transaction with its ledger rows; return the raw rows inserted."""
        ...

    def close(self) -> None: ...


def no_checkpoint(point: str) -> None:
    """Production: checkpoints do nothing."""


def kill_at(spec: str | None) -> Checkpoint:
    """A checkpoint that SIGKILLs this process (tests of crash recovery); a no-op when `spec` is None.

    `spec` is a point name, optionally with the occurrence to kill at: "after-copy:2" lets the first batch
    commit and kills the second one after its COPY.
    """
    if spec is None:
        return no_checkpoint
    point_to_kill, _, nth = spec.partition(":")
    kill_on = int(nth) if nth else 1
    seen = 0

    def checkpoint(point: str) -> None:
        nonlocal seen
        if point != point_to_kill:
            return
        seen += 1
        if seen == kill_on:
            log.warning("test hook: killing the loader at %s", spec)
            logging.shutdown()
            os.kill(os.getpid(), signal.SIGKILL)

    return checkpoint

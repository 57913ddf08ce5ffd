"""What one batch hands to a warehouse: the prepared objects, each loaded or quarantined."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from stockfeed_loader.kinds import NO_ROWS, KindCounts

LOADED = "loaded"
QUARANTINED = "quarantined"


@dataclass(frozen=True)
class PreparedObject:
    """One bronze object after download and parsing."""

    key: str
    etag: str
    rows: int
    staged_name: str | None  # file name inside the batch directory; None when quarantined or empty
    reason: str | None = None  # why it is quarantined
    kinds: KindCounts = NO_ROWS  # `rows` per kind (kinds.py); none when quarantined or empty

    @property
    def status(self) -> str:
        return QUARANTINED if self.reason is not None else LOADED


@dataclass(frozen=True)
class PreparedBatch:
    """A batch of objects from one prefix, loaded in one warehouse transaction with their ledger rows."""

    run_id: str
    sequence: int
    loaded_at: datetime  # naive UTC; the same value goes into the raw rows and the ledger rows
    directory: Path  # holds exactly the staged files of this batch
    objects: tuple[PreparedObject, ...]

    @property
    def staged(self) -> tuple[PreparedObject, ...]:
        """Objects with records to load (quarantined and empty objects only get a ledger row)."""
        return tuple(obj for obj in self.objects if obj.staged_name is not None)

    @property
    def staged_rows(self) -> int:
        return sum(obj.rows for obj in self.staged)

    @property
    def staged_kinds(self) -> KindCounts:
        return sum((obj.kinds for obj in self.staged), NO_ROWS)

    @property
    def stage_path(self) -> str:
        """Where the batch's files go on a stage: unique per run and batch, so names are never reused."""
        return f"{self.run_id}/{self.sequence:06d}"


@dataclass(frozen=True)
class LedgerRow:
    object_key: str
    etag: str
    row_count: int
    status: str
    reason: str | None
    loaded_at: datetime
    run_id: str


def ledger_rows(batch: PreparedBatch) -> list[LedgerRow]:
    return [
        LedgerRow(obj.key, obj.etag, obj.rows, obj.status, obj.reason, batch.loaded_at, batch.run_id)
        for obj in batch.objects
    ]

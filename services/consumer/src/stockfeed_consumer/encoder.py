"""Where batches are encoded (validated, split, gzipped): worker processes, so that per-record JSON parsing and
contract checks run beside the Kafka loop instead of sharing its interpreter lock.

With `processes=0` encoding runs on a thread instead (small pods, tests). Worker processes are spawned, never
forked: forking a process that already runs librdkafka's threads is unsafe.
"""

from __future__ import annotations

import multiprocessing
import signal
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait

from stockfeed_consumer.batching import SealedBatch
from stockfeed_consumer.flush import EncodedFlush, Layout, encode_flush
from stockfeed_contracts import SCHEMA_VERSIONS, reason_invalid
from stockfeed_contracts.fast import accepts_json


def _worker_init() -> None:
    # Ctrl-C reaches the whole process group; only the main process decides when to stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _warm_up() -> None:
    """Import and compile the contract validators (full and fast) before the first batch needs them."""
    for version in SCHEMA_VERSIONS:
        reason_invalid({"schema_version": version})
    accepts_json(b"{}")


class Encoder:
    def __init__(self, processes: int, layout: Layout, gzip_level: int) -> None:
        self.processes = processes
        self.layout = layout
        self.gzip_level = gzip_level
        self.warming: list[Future[None]] = []
        self.pool: Executor = self._new_pool()

    def _new_pool(self) -> Executor:
        if self.processes == 0:
            pool: Executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="encode")
        else:
            pool = ProcessPoolExecutor(
                max_workers=self.processes, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_init
            )
        # workers start on demand: start them now, not when the first batch needs them
        self.warming = [pool.submit(_warm_up) for _ in range(max(self.processes, 1))]
        return pool

    def wait_ready(self, timeout: float) -> None:
        """Block until the workers have started and compiled the contracts (benchmarks; the service never waits)."""
        wait(self.warming, timeout=timeout)

    def submit(self, batch: SealedBatch) -> Future[EncodedFlush]:
        return self.pool.submit(encode_flush, batch, self.layout, self.gzip_level)

    def rebuild(self) -> None:
        """After a worker died (BrokenProcessPool): every pending encode failed; start a fresh pool."""
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = self._new_pool()

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

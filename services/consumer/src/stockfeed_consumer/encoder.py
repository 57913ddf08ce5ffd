"""Where batches are encoded (validated, split, gzipped): worker processes, so that per-record JSON parsing and
contract checks run beside the Kafka loop instead of sharing its interpreter lock.

With `processes=0` encoding runs on a thread instead (small pods, tests). Worker processes are spawned, never
forked: forking a process that already runs librdkafka's threads is unsafe.

Workers die with the consumer, however it ends (a SIGKILL included): the kernel's parent-death signal, armed in
each worker, and a thread that watches the parent's pid as a fallback. Once they are gone, multiprocessing's
resource tracker sees its pipe close (the consumer and its workers held its only write ends) and exits too.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait

from stockfeed_consumer.batching import SealedBatch
from stockfeed_consumer.flush import EncodedFlush, Layout, encode_flush
from stockfeed_contracts import SCHEMA_VERSIONS, reason_invalid
from stockfeed_contracts.fast import accepts_json

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
PARENT_WATCH_SECONDS = 1.0


def set_parent_death_signal(signum: int) -> bool:
    """Ask Linux to send `signum` to this process when its parent ends; False where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent_pid: int, interval: float) -> None:
    while os.getppid() == parent_pid:
        time.sleep(interval)
    os._exit(1)  # the parent is gone (we were re-parented): nothing left to encode for


def die_with_parent(parent_pid: int, interval: float = PARENT_WATCH_SECONDS) -> None:
    """End this process when `parent_pid` (its parent) ends: at once by the parent-death signal, within
    `interval` by a watching thread where the signal is not available or the parent died before it was armed."""
    set_parent_death_signal(signal.SIGKILL)
    if os.getppid() != parent_pid:  # died before the signal was armed
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid, interval), name="watch-parent", daemon=True).start()


def _worker_init(parent_pid: int) -> None:
    # Ctrl-C reaches the whole process group; only the main process decides when to stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent_pid)


def _warm_up() -> None:
    """Import and compile the contract validators (full and fast) before the first batch needs them."""
    for version in SCHEMA_VERSIONS:
        reason_invalid({"schema_version": version})
    accepts_json(b"{}", None)


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
                max_workers=self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_init,
                initargs=(os.getpid(),),
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

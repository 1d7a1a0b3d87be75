"""Wakes long-polling requests when the store changes, with one cheap probe.

On SQLite, ``PRAGMA data_version`` changes whenever another connection
commits; one background task probes it every ``PROBE_S`` and wakes every
waiter, who then re-reads its own row. Waiters cost nothing between changes,
however many there are. Other databases fall back to waking every
``FALLBACK_S``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time


from gateway.metrics import STORE_LATENCY
from runner.store import Store
from runner.store.engine import is_sqlite

PROBE_S = 0.002
SAMPLE_EVERY = 50  # probes between two store latency samples (one every 0.1 s)
FALLBACK_S = 0.05


class StoreWatcher:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._changed = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def changed(self, timeout_s: float) -> None:
        """Return after the next change, or after ``timeout_s``."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout_s)

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _run(self) -> None:
        if not is_sqlite(self.store.engine):
            while True:
                await asyncio.sleep(FALLBACK_S)
                self._wake()
        with self.store.engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            last = None
            probes = 0
            while True:
                probes += 1
                t0 = time.perf_counter()
                version = raw.execute("PRAGMA data_version").fetchone()[0]
                if probes % SAMPLE_EVERY == 0:
                    STORE_LATENCY.observe(time.perf_counter() - t0)
                if version != last:
                    last = version
                    self._wake()
                await asyncio.sleep(PROBE_S)

"""Many callers' small operations done as one: what arrives while the previous batch is being
done forms the next batch (no timer: under no load a batch is one item and waits for nothing).

``Batched(do_batch)`` calls ``do_batch(items)`` on its own thread with everything queued so far
(at most ``max_batch``); ``__call__`` waits for its item's outcome, ``send`` does not wait.
The gateway commits submissions this way (``store.jobs.create_jobs``: one transaction, each
submission answered as if alone, its 202 only once committed) and tells placement of them
(one actor call for many ids).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger(__name__)

#: at most this many items in one batch (one transaction, one actor call)
MAX_BATCH = 256


class Batched(Generic[T, R]):
    def __init__(
        self,
        do_batch: Callable[[list[T]], Sequence[R | Exception] | None],
        *,
        name: str,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._do_batch = do_batch
        self._name = name
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[T, Future | None]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def __call__(self, item: T) -> R:
        """Do ``item`` in the next batch and answer its outcome (or raise its error)."""
        done: Future = Future()
        self._put(item, done)
        outcome = done.result()
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def send(self, item: T) -> None:
        """Do ``item`` in the next batch; do not wait."""
        self._put(item, None)

    def _put(self, item: T, done: Future | None) -> None:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                    self._thread.start()
        self._queue.put((item, done))

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                outcomes = self._do_batch([item for item, _ in batch]) or [None] * len(batch)
            except Exception as exc:  # noqa: BLE001 - each caller gets the batch's failure
                log.warning("%s: a batch of %d failed: %s", self._name, len(batch), exc)
                outcomes = [exc] * len(batch)
            for (_, done), outcome in zip(batch, outcomes):
                if done is not None:
                    done.set_result(outcome)

"""How far a job's start got (an image pull's bytes, a VM's boot), as its status reason.

A pull reports every chunk; the store hears at most one reason a ``min_interval_s``
per job: the latest word, written at once when the last write is old enough, else
when it is (a timer), so a last word such as "booting VM" is never lost. The reason
is set in place, with no entry in the job's history (a long pull would fill it with
a line a second), and only while the job is still Starting as this attempt here.
"""

from __future__ import annotations

import logging
import threading
import time

from runner.errors import ZunrayError
from runner.models import JobStatus
from runner.store import Store

log = logging.getLogger(__name__)


class StartProgress:
    """The ``progress`` of one job's run: the latest word into the store, at a bounded rate."""

    def __init__(
        self, store: Store, job_id: str, *, fence: tuple[str, int], min_interval_s: float = 1.0
    ) -> None:
        self.store = store
        self.job_id = job_id
        self.fence = fence  # (host, attempt): a run that moved on writes nothing
        self.min_interval_s = min_interval_s
        self._lock = threading.Lock()
        self._written_at = float("-inf")  # monotonic time of the last write
        self._pending: str | None = None  # the latest word, not written yet
        self._timer: threading.Timer | None = None  # due to write it

    def __call__(self, text: str) -> None:
        with self._lock:
            self._pending = text
            if self._timer is not None:
                return  # a write is due: it takes this word
            wait_s = self._written_at + self.min_interval_s - time.monotonic()
            if wait_s > 0:
                self._timer = threading.Timer(wait_s, self._write)
                self._timer.daemon = True
                self._timer.start()
                return
        self._write()

    def _write(self) -> None:
        with self._lock:
            text, self._pending, self._timer = self._pending, None, None
            self._written_at = time.monotonic()
        if text is None:
            return
        try:
            self.store.jobs.update_job(
                self.job_id, only_in=[JobStatus.STARTING], fence=self.fence, status_reason=text
            )
        except ZunrayError as exc:  # a word on progress is not worth failing the start for
            log.warning("cannot record the progress of job %s: %s", self.job_id, exc)

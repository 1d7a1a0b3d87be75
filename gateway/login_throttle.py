"""The dashboard's password login, rate-limited per client address.

A client address with ``login_failures_max`` failed logins within
``login_failure_window_s`` gets 429 with ``Retry-After`` until the oldest of
them leaves the window; Keystone is not asked meanwhile. A success does not
clear the count (a guesser could interleave logins to an account of its own).
Memory is bounded: at most ``login_clients_max`` addresses, each with at most
``login_failures_max`` times; the least recently failing address is forgotten first.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from runner.errors import Throttled
from runner.settings import Settings


class LoginThrottle:
    def __init__(self, settings: Settings) -> None:
        self.max_failures = settings.login_failures_max
        self.window_s = settings.login_failure_window_s
        self.max_clients = settings.login_clients_max
        self._failures: OrderedDict[str, list[float]] = OrderedDict()

    def check(self, client: str) -> None:
        """Raise Throttled (429) while ``client`` has too many recent failures."""
        now = time.monotonic()
        recent = [t for t in self._failures.get(client, ()) if t > now - self.window_s]
        if len(recent) >= self.max_failures:
            raise Throttled(
                "too many failed logins from this address; try again later",
                retry_after_s=recent[0] + self.window_s - now,
            )

    def failed(self, client: str) -> None:
        now = time.monotonic()
        times = [t for t in self._failures.pop(client, ()) if t > now - self.window_s] + [now]
        self._failures[client] = times[-self.max_failures :]
        while len(self._failures) > self.max_clients:
            self._failures.popitem(last=False)

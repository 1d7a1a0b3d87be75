"""What the FunctionActor keeps per function: its pool of warm instances and counters."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from runner.functions.model import Function, Instance


@dataclass
class Slot:
    """One serving instance as the router sees it."""

    inst: Instance
    local: bool  # on this actor's host: called over its socket directly
    inflight: int = 0
    last_used: float = field(default_factory=time.monotonic)
    conns: list = field(default_factory=list)  # idle (reader, writer) pairs to a local shim


@dataclass
class Pool:
    fn: Function
    slots: dict[str, Slot] = field(default_factory=dict)
    starting: set[str] = field(default_factory=set)
    waiters: deque = field(default_factory=deque)  # futures waiting for a slot
    deleted: bool = False
    cold_starts: int = 0
    warm_hits: int = 0
    invocations: int = 0
    errors: int = 0
    timeouts: int = 0
    last_error: str = ""
    unmetered: list = field(
        default_factory=lambda: [0, 0.0]
    )  # invocations and their seconds since the last usage record

    def stats(self) -> dict:
        busy = sum(1 for s in self.slots.values() if s.inflight)
        return {
            "instances": len(self.slots),
            "starting": len(self.starting),
            "busy": busy,
            "idle": len(self.slots) - busy,
            "queue_length": len(self.waiters),
            "cold_starts": self.cold_starts,
            "warm_hits": self.warm_hits,
            "invocations": self.invocations,
            "errors": self.errors,
            "timeouts": self.timeouts,
            "last_error": self.last_error,
            "instance_list": [
                {"id": u, "host": s.inst.host, "version": s.inst.version, "busy": s.inflight}
                for u, s in self.slots.items()
            ],
        }

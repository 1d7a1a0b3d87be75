"""What arrives while a batch is being done goes in the next one; each caller gets its own
outcome (no Ray, no Docker)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from runner.batching import Batched
from runner.errors import Throttled


def test_callers_that_arrive_together_share_one_batch_and_get_their_own_answers():
    batches: list[list[int]] = []
    gate = threading.Event()

    def do(items: list[int]) -> list[int | Exception]:
        gate.wait()  # the first batch is slow: the others queue meanwhile
        batches.append(items)
        return [Throttled("odd") if i % 2 else i * 10 for i in items]

    batched: Batched[int, int] = Batched(do, name="test")
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(batched, 0)
        time.sleep(0.05)
        rest = [pool.submit(batched, i) for i in range(1, 8)]
        time.sleep(0.05)
        gate.set()
        assert first.result() == 0
        for i, f in enumerate(rest, start=1):
            if i % 2:
                with pytest.raises(Throttled):
                    f.result()
            else:
                assert f.result() == i * 10
    assert batches[0] == [0] and sorted(batches[1]) == list(range(1, 8))


def test_a_failed_batch_fails_each_caller_and_the_next_batch_still_runs():
    calls = iter([RuntimeError("store unavailable"), None])

    def do(items: list[str]) -> list[str]:
        if (failure := next(calls)) is not None:
            raise failure
        return [s.upper() for s in items]

    batched: Batched[str, str] = Batched(do, name="test")
    with pytest.raises(RuntimeError, match="store unavailable"):
        batched("a")
    assert batched("b") == "B"


def test_send_does_not_wait():
    done = threading.Event()
    seen: list[str] = []

    def do(items: list[str]) -> None:
        seen.extend(items)
        done.set()

    Batched(do, name="test").send("x")
    assert done.wait(5) and seen == ["x"]

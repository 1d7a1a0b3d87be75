from __future__ import annotations

import pytest

from runner.cpus import CpuPinning, parse_cpulist
from runner.errors import RuntimeFailure


def test_parse_cpulist():
    assert parse_cpulist("0-3,8,10-11\n") == [0, 1, 2, 3, 8, 10, 11]


def test_pins_on_one_numa_node_and_keeps_the_shared_reserve():
    p = CpuPinning({0: [0, 1, 2, 3], 1: [4, 5, 6, 7]}, reserved_shared=1)
    assert p.dedicated_free() == 4
    assert p.pin("a", 3) == ("0,1,2", "0")
    assert p.pin("b", 3) == ("4,5,6", "1")
    assert p.dedicated_free() == 1  # 7 of 8 may be pinned: one cpu left, on either node
    assert p.shared_cpuset() == "3,7"
    with pytest.raises(RuntimeFailure, match="no 2 cpus left to pin"):
        p.pin("c", 2)
    p.release("a")
    assert p.pin("c", 2) == ("0,1", "0")


def test_a_capsule_never_spans_numa_nodes():
    p = CpuPinning({0: [0, 1], 1: [2, 3]}, reserved_shared=0)
    assert p.pin("a", 1) == ("0", "0")
    assert p.pin("x", 1) == ("2", "1")  # the node with the most free cpus
    assert p.dedicated_free() == 1  # two free cpus, but one per node
    with pytest.raises(RuntimeFailure, match="no NUMA node has 2 unpinned cpus"):
        p.pin("b", 2)


def test_shared_containers_move_off_a_pin_and_back_when_it_ends():
    p = CpuPinning({0: [0, 1, 2, 3]}, reserved_shared=1)
    before = {"warm-fn": ("inst", "0-3"), "zun": ("ctr", ""), "pinned": ("dedicated", "0-3")}
    assert p.shared_moves(before) == {}  # nothing pinned: every cpu ("" too) is already right
    assert p.pin("dedicated", 2) == ("0,1", "0")
    pinned_now = {**before, "pinned": ("dedicated", "0,1"), "moved": ("job", "2,3")}
    assert p.shared_moves(pinned_now) == {
        "warm-fn": "2,3",
        "zun": "2,3",
    }  # the pinned one and the moved one stay
    assert p.release("dedicated") and not p.release("dedicated")
    after = {"warm-fn": ("inst", "2,3"), "zun": ("ctr", "2-3"), "other": ("job", "")}
    assert p.shared_moves(after) == {"warm-fn": "0,1,2,3", "zun": "0,1,2,3"}

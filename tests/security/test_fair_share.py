"""Item 8, fair share: a member project past one of its caps gets 403 (what it keeps) or
429 with Retry-After (what drains by itself), and its backlog is its own.

The caps are set for p2 as per-project overrides through Zun's quota API by carol
(admin), on the shared secured stack, and removed afterwards (DELETE of the quota).
"""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

pytestmark = [pytest.mark.docker, pytest.mark.ray]

# waits for quota while p2's cpu quota is 0: stays Queued as long as the test needs
JOB = {"image": "busybox:latest", "command": ["true"], "resources": {"cpu": 0.1, "memory_mb": 16}}
CAPS = {
    "queued_jobs": 2,
    "completions": 3,
    "schedules": 1,
    "schedule_interval_s": 60,
    "log_followers": 1,
    "async_invocations": 1,
}


@pytest.fixture
def p2_capped(as_user, keystone):
    """p2 with small fair-share caps and no cpu (its jobs wait in the queue); restored after."""
    carol = as_user("carol")
    p2 = keystone.projects["p2"]["id"]
    resp = carol.put(f"/v1/quotas/{p2}", json={**CAPS, "cpu": 0})
    assert resp.status_code == 200, resp.text
    assert {k: resp.json()[k] for k in CAPS} == CAPS  # the overrides show where they were set
    yield as_user("bob")
    assert carol.delete(f"/v1/quotas/{p2}").status_code == 200
    assert set(carol.get(f"/v1/quotas/{p2}").json()) == {
        "containers",
        "cpu",
        "memory",
        "disk",
    }  # Zun's shape again


def _throttled(resp: httpx.Response) -> None:
    assert resp.status_code == 429, resp.text
    assert int(resp.headers["Retry-After"]) >= 1


def test_queued_jobs_and_array_size_past_the_cap(p2_capped, as_user):
    bob, alice = p2_capped, as_user("alice")
    made: list[tuple[httpx.Client, str]] = []
    try:
        for _ in range(CAPS["queued_jobs"]):
            resp = bob.post("/v1/jobs", json=JOB)
            assert resp.status_code == 202, resp.text
            made.append((bob, resp.json()["id"]))
        _throttled(bob.post("/v1/jobs", json=JOB))
        over = bob.post("/v1/jobs", json={**JOB, "completions": CAPS["completions"] + 1})
        assert over.status_code == 403 and "completions" in over.json()["errors"][0]["detail"]
        ok = alice.post("/v1/jobs", json=JOB)  # p2's backlog is p2's alone
        assert ok.status_code == 202
        made.append((alice, ok.json()["id"]))
    finally:
        for client, job_id in made:
            client.post(f"/v1/jobs/{job_id}/cancel")


def test_schedules_and_their_rhythm_past_the_cap(p2_capped):
    bob = p2_capped
    made = []
    try:
        fast = bob.post("/v1/schedules", json={"name": "fast", "cron": "*/5 * * * * *", "job": JOB})
        assert fast.status_code == 403 and "schedule_interval_s" in fast.text
        hourly = bob.post(
            "/v1/schedules",
            json={"name": "hourly", "cron": "0 * * * *", "job": JOB, "suspend": True},
        )
        assert hourly.status_code == 201, hourly.text
        made.append(hourly.json()["id"])
        faster = bob.patch(f"/v1/schedules/{made[0]}", json={"cron": "* * * * * *"})
        assert faster.status_code == 403
        second = bob.post(
            "/v1/schedules",
            json={"name": "daily", "cron": "0 3 * * *", "job": JOB, "suspend": True},
        )
        assert second.status_code == 403 and "schedules" in second.text
    finally:
        for ident in made:
            bob.delete(f"/v1/schedules/{ident}?purge=true")


def test_log_followers_past_the_cap(p2_capped):
    bob = p2_capped
    job = bob.post("/v1/jobs", json=JOB).json()  # queued: its log stream stays open
    try:
        with bob.stream("GET", f"/v1/jobs/{job['id']}/logs", params={"follow": "true"}) as first:
            assert first.status_code == 200
            _throttled(bob.get(f"/v1/jobs/{job['id']}/logs", params={"follow": "true"}))
        deadline = time.monotonic() + 10  # the closed stream gives its slot back
        while True:
            with bob.stream(
                "GET", f"/v1/jobs/{job['id']}/logs", params={"follow": "true"}
            ) as again:
                if again.status_code == 200:
                    break
            assert time.monotonic() < deadline, "the follower slot was not given back"
            time.sleep(0.2)
    finally:
        bob.post(f"/v1/jobs/{job['id']}/cancel")


def test_async_invocations_past_the_cap(p2_capped):
    bob = p2_capped
    name = f"fs-{uuid.uuid4().hex[:8]}"
    created = bob.post(
        "/v1/functions",
        json={
            "name": name,
            "image": "busybox:latest",
            "command": ["cat"],
            "resources": {"cpu": 0.1, "memory_mb": 32},
        },
    )
    assert created.status_code == 201, created.text
    try:
        first = bob.post(
            f"/v1/functions/{name}/invoke?async=true", content=b"x"
        )  # waits: no cpu quota for an instance
        assert first.status_code == 202, first.text
        _throttled(bob.post(f"/v1/functions/{name}/invoke?async=true", content=b"y"))
    finally:
        bob.delete(f"/v1/functions/{name}")


def test_quota_api_takes_caps_only_where_they_mean_something(as_user, keystone):
    carol = as_user("carol")
    p2 = keystone.projects["p2"]["id"]
    assert (
        carol.put("/v1/quota_classes/default", json={"queued_jobs": 5}).status_code == 400
    )  # caps default from settings
    assert carol.put(f"/v1/quotas/{p2}", json={"queued_jobs": -2}).status_code == 400
    assert (
        as_user("bob").put(f"/v1/quotas/{p2}", json={"queued_jobs": 100000}).status_code == 403
    )  # a member cannot lift its own cap

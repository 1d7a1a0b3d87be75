"""A project's cap on running invocations, on a stack of its own (cap 2)."""

from __future__ import annotations

import concurrent.futures
import time

import pytest

from tests.conftest import run_stack, test_settings

pytestmark = pytest.mark.timeout(300)

CODE = "import time\ndef handle(event):\n    time.sleep(event)\n    return event\n"


@pytest.fixture(scope="module")
def capped(tmp_path_factory):
    yield from run_stack(
        test_settings(tmp_path_factory.mktemp("capped"), function_concurrency_per_project=2)
    )


def test_calls_over_the_project_cap_get_429_and_other_projects_do_not(capped):
    for project in ("busy", "calm"):
        body = {
            "name": "sleepy",
            "image": "zunray/python:3.11",
            "handler": "app:handle",
            "code": CODE,
            "concurrency": 4,
            "max_instances": 1,
        }
        assert (
            capped.http.post(
                "/v1/functions", json=body, headers={"X-Project-Id": project}
            ).status_code
            == 201
        )
    capped.http.post(
        "/v1/functions/sleepy/invoke", json=0, headers={"X-Project-Id": "busy"}
    ).raise_for_status()  # warm

    def call(project: str, seconds: float) -> int:
        return capped.http.post(
            "/v1/functions/sleepy/invoke", json=seconds, headers={"X-Project-Id": project}
        ).status_code

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        running = [pool.submit(call, "busy", 2) for _ in range(2)]
        time.sleep(0.5)
        third = capped.http.post(
            "/v1/functions/sleepy/invoke", json=0, headers={"X-Project-Id": "busy"}
        )
        other = call("calm", 0)
        assert [f.result() for f in running] == [200, 200]
    assert third.status_code == 429 and "function_concurrency_per_project" in third.text
    assert other == 200
    assert call("busy", 0) == 200  # the cap frees with the calls

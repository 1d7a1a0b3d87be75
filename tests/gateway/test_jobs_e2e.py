"""Jobs over HTTP against the real stack: Docker, Ray, SQLite."""

from __future__ import annotations

import time

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.ray]


def test_job_succeeds_and_keeps_logs_after_its_container_is_gone(zunray):
    job = zunray.submit(command=["sh", "-c", "echo out; echo err >&2"], name="hello")
    assert job["status"] in ("Queued", "Placed", "Starting", "Running")
    done = zunray.wait(job["id"])
    assert done["status"] == "Succeeded", done
    assert done["exit_code"] == 0
    assert done["host"]
    assert done["started_at"] and done["finished_at"]
    assert [h["status"] for h in done["history"]] == [
        "Queued",
        "Placed",
        "Starting",
        "Running",
        "Succeeded",
    ]
    logs = zunray.http.get(f"/v1/jobs/{job['id']}/logs").text
    assert "out\n" in logs and "err\n" in logs
    assert zunray.no_containers(job["id"])


def test_running_container_has_limits_labels_and_no_network(zunray):
    job = zunray.submit(
        command=["sleep", "30"], resources={"cpu": 0.5, "memory_mb": 96, "pids": 64}
    )
    zunray.wait(job["id"], until=("Running",))
    [container] = zunray.containers(uuid=job["id"])
    hc = container.attrs["HostConfig"]
    assert hc["NanoCpus"] == 500_000_000
    assert hc["Memory"] == 96 * 1024 * 1024
    assert hc["PidsLimit"] == 64
    assert hc["NetworkMode"] == "none"
    labels = container.labels
    assert (
        labels["zunray.project"] == "default"
        and labels["zunray.capsule"] == job["id"]
        and labels["zunray.node"]
    )
    zunray.http.post(f"/v1/jobs/{job['id']}/cancel")
    assert zunray.wait(job["id"])["status"] == "Cancelled"


def test_nonzero_exit_fails_with_its_code(zunray):
    done = zunray.wait(zunray.submit(command=["sh", "-c", "echo bad; exit 3"])["id"])
    assert (done["status"], done["exit_code"]) == ("Failed", 3)
    assert "exited with 3" in done["status_reason"]


def test_timeout_kills_the_job_and_keeps_its_logs(zunray):
    job = zunray.submit(command=["sh", "-c", "echo before; sleep 60"], timeout_s=1.5)
    done = zunray.wait(job["id"])
    assert done["status"] == "TimedOut"
    assert "timeout of 1.5 s" in done["status_reason"]
    assert "before" in zunray.http.get(f"/v1/jobs/{job['id']}/logs").text
    assert zunray.no_containers(job["id"])


def test_cancel_a_running_job(zunray):
    job = zunray.submit(command=["sleep", "60"])
    zunray.wait(job["id"], until=("Running",))
    resp = zunray.http.post(f"/v1/jobs/{job['id']}/cancel")
    assert resp.status_code == 202
    done = zunray.wait(job["id"], timeout_s=20)
    assert done["status"] == "Cancelled"
    assert zunray.no_containers(job["id"])
    again = zunray.http.post(f"/v1/jobs/{job['id']}/cancel")
    assert again.status_code == 409


def test_retries_with_backoff_then_fails(zunray):
    done = zunray.wait(zunray.submit(command=["sh", "-c", "exit 7"], max_retries=2)["id"])
    assert (done["status"], done["exit_code"], done["attempt"]) == ("Failed", 7, 3)
    retries = [h for h in done["history"] if h["status"] == "Queued" and "retry in" in h["reason"]]
    assert len(retries) == 2


def test_same_idempotency_key_gives_the_same_job_and_one_run(zunray):
    body = {
        "image": "busybox:latest",
        "command": ["true"],
        "resources": {"cpu": 0.25, "memory_mb": 32},
    }
    first = zunray.http.post("/v1/jobs", json=body, headers={"Idempotency-Key": "k-123"})
    second = zunray.http.post("/v1/jobs", json=body, headers={"Idempotency-Key": "k-123"})
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    done = zunray.wait(first.json()["id"])
    assert done["attempt"] == 1
    by_body = zunray.submit(command=["true"], submission_id="s-9")
    assert zunray.submit(command=["true"], submission_id="s-9")["id"] == by_body["id"]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"colour": "red"}, "colour"),
        ({"resources": {"cpu": -1}}, "resources.cpu"),
        ({"resources": {"memory_mb": 10**9}}, "resources.memory_mb"),
        ({"image": "Not A/Valid::Image"}, "image"),
        ({"command": "echo hi"}, "command"),
        ({"command": ["echo", 3]}, "command"),
        ({"timeout_s": 0}, "timeout_s"),
        ({"runtime": "kata"}, "runtime"),
    ],
    ids=[
        "unknown-field",
        "negative-cpu",
        "too-much-memory",
        "bad-image",
        "command-string",
        "command-int",
        "zero-timeout",
        "bad-runtime",
    ],
)
def test_invalid_spec_names_the_field_and_writes_nothing(zunray, change, field):
    before = len(zunray.http.get("/v1/jobs", params={"limit": 1000}).json()["jobs"])
    body = {"image": "busybox:latest", "command": ["true"], **change}
    resp = zunray.http.post("/v1/jobs", json=body)
    assert resp.status_code == 400, resp.text
    err = resp.json()["errors"][0]
    assert field in err["detail"]
    assert err["request_id"] == resp.headers["x-openstack-request-id"]
    assert len(zunray.http.get("/v1/jobs", params={"limit": 1000}).json()["jobs"]) == before


def test_image_neither_local_nor_pullable_fails_clearly(zunray):
    done = zunray.wait(zunray.submit(image="zunray-test/absent:1.0", command=["true"])["id"])
    assert done["status"] == "Failed"
    assert (
        "zunray-test/absent:1.0" in done["status_reason"]
        and "not present locally" in done["status_reason"]
    )
    assert zunray.no_containers(done["id"])


def test_job_bigger_than_every_host_waits_with_a_reason_and_others_still_run(zunray):
    big = zunray.submit(command=["true"], resources={"cpu": 64, "memory_mb": 32})
    time.sleep(0.5)
    shown = zunray.http.get(f"/v1/jobs/{big['id']}").json()
    assert shown["status"] == "Queued"
    assert "needs 64 cpus; largest host has" in shown["status_reason"]
    small = zunray.wait(zunray.submit(command=["true"])["id"])
    assert small["status"] == "Succeeded"
    assert zunray.http.post(f"/v1/jobs/{big['id']}/cancel").json()["status"] == "Cancelled"


def test_follow_streams_logs_while_the_job_runs(zunray):
    job = zunray.submit(command=["sh", "-c", "for i in 1 2 3; do echo line $i; sleep 0.4; done"])
    chunks = []
    with zunray.http.stream("GET", f"/v1/jobs/{job['id']}/logs", params={"follow": "true"}) as resp:
        for chunk in resp.iter_text():
            chunks.append(chunk)
    assert "".join(chunks) == "line 1\nline 2\nline 3\n"
    assert len(chunks) >= 2  # it arrived in pieces, not once at the end


def test_gvisor_runtime_runs_in_a_sandbox(zunray):
    job = zunray.submit(command=["dmesg"], runtime="runsc")
    done = zunray.wait(job["id"], timeout_s=90)
    assert done["status"] == "Succeeded", done
    assert "gVisor" in zunray.http.get(f"/v1/jobs/{job['id']}/logs").text


def test_list_paginates_and_filters_by_status(zunray):
    ids = [zunray.submit(command=["true"])["id"] for _ in range(3)]
    for i in ids:
        zunray.wait(i)
    page = zunray.http.get("/v1/jobs", params={"limit": 2, "status": "Succeeded"}).json()
    assert len(page["jobs"]) == 2 and page["next"]
    assert all(j["status"] == "Succeeded" for j in page["jobs"])
    rest = zunray.http.get(page["next"]).json()
    assert not {j["id"] for j in rest["jobs"]} & {j["id"] for j in page["jobs"]}


def test_delete_only_ended_jobs(zunray):
    running = zunray.submit(command=["sleep", "30"])
    zunray.wait(running["id"], until=("Running",))
    assert zunray.http.delete(f"/v1/jobs/{running['id']}").status_code == 409
    zunray.http.post(f"/v1/jobs/{running['id']}/cancel")
    zunray.wait(running["id"])
    assert zunray.http.delete(f"/v1/jobs/{running['id']}").status_code == 204
    assert zunray.http.get(f"/v1/jobs/{running['id']}").status_code == 404


def test_unknown_job_is_404_in_the_error_shape(zunray):
    resp = zunray.http.get("/v1/jobs/nope")
    assert resp.status_code == 404
    assert resp.json()["errors"][0]["code"] == "zunray.not-found"


def test_healthz_reports_hosts(zunray):
    body = zunray.http.get("/healthz").json()
    assert body["status"] == "ok"
    [host] = body["cluster"]["hosts"]
    assert host["docker_ok"] and "runc" in host["runtimes"]


def test_jobs_over_the_project_quota_wait_queued_then_run(zunray):
    project = {"X-Project-Id": "job-quota"}
    assert (
        zunray.http.put(
            "/v1/quotas/job-quota",
            json={"containers": 1},
            headers={"OpenStack-API-Version": "container latest"},
        ).status_code
        == 200
    )
    try:
        body = {"image": "busybox:latest", "resources": {"cpu": 0.1, "memory_mb": 16}}
        first = zunray.http.post(
            "/v1/jobs", json={**body, "command": ["sleep", "2"]}, headers=project
        ).json()
        zunray.wait(first["id"], until=("Running",), headers=project)
        second = zunray.http.post(
            "/v1/jobs", json={**body, "command": ["echo", "my turn"]}, headers=project
        ).json()
        time.sleep(0.5)
        waiting = zunray.http.get(f"/v1/jobs/{second['id']}", headers=project).json()
        assert waiting["status"] == "Queued"
        assert "waiting for quota: containers 1 of 1 in use" in waiting["status_reason"]
        done = zunray.http.get(
            f"/v1/jobs/{second['id']}", params={"wait_s": 30}, headers=project
        ).json()
        assert done["status"] == "Succeeded"
        assert (
            zunray.http.get(f"/v1/jobs/{first['id']}", headers=project).json()["finished_at"]
            <= done["started_at"]
        )
    finally:
        zunray.http.delete(
            "/v1/quotas/job-quota", headers={"OpenStack-API-Version": "container latest"}
        )


def test_why_explains_per_host_and_the_cli_prints_it(zunray, monkeypatch, capsys):
    from runner.cli.main import main as cli_main

    big = zunray.submit(command=["true"], resources={"cpu": 64, "memory_mb": 32})
    try:
        why = zunray.http.get(f"/v1/jobs/{big['id']}/why").json()
        assert why["host"] is None and "needs 64 cpus" in why["summary"]
        [(host, reason)] = why["reasons"].items()
        assert "host has" in reason and "64 asked" in reason
        for key, value in zunray.settings.to_env().items():
            monkeypatch.setenv(key, value)
        assert cli_main(["why", big["id"]]) == 0
        out = capsys.readouterr().out
        assert "needs 64 cpus" in out and host in out
    finally:
        zunray.http.post(f"/v1/jobs/{big['id']}/cancel")


def test_job_array_runs_indexed_tasks_at_most_parallelism_at_once(zunray):
    body = {
        "image": "busybox:latest",
        "command": ["sh", "-c", "echo task $JOB_INDEX; sleep 1"],
        "resources": {"cpu": 0.1, "memory_mb": 16},
        "completions": 4,
        "parallelism": 2,
        "name": "arr",
    }
    array = zunray.http.post("/v1/jobs", json=body).json()
    done = zunray.wait(array["id"], timeout_s=90)
    assert done["status"] == "Succeeded", done["status_reason"]
    tasks = done["tasks"]
    assert sorted(t["index"] for t in tasks) == [0, 1, 2, 3]
    spans = []
    for t in tasks:
        task = zunray.http.get(f"/v1/jobs/{t['id']}").json()
        assert task["status"] == "Succeeded" and task["parent_id"] == array["id"]
        assert zunray.http.get(f"/v1/jobs/{t['id']}/logs").text == f"task {t['index']}\n"
        spans.append((task["started_at"], task["finished_at"]))
    for start, _ in spans:  # at no moment were more than 2 running
        assert sum(1 for s, f in spans if s <= start < f) <= 2


def test_job_array_fails_when_its_backoff_limit_is_spent_and_cancels_the_rest(zunray):
    body = {
        "image": "busybox:latest",
        "command": ["sh", "-c", "[ $JOB_INDEX != 1 ] || exit 5; sleep 20"],
        "resources": {"cpu": 0.1, "memory_mb": 16},
        "completions": 3,
        "parallelism": 3,
        "backoff_limit": 1,
    }
    array = zunray.http.post("/v1/jobs", json=body).json()
    done = zunray.wait(array["id"], timeout_s=90)
    assert done["status"] == "Failed"
    assert (
        "task 1 Failed" in done["status_reason"]
        and "backoff limit 1 reached" in done["status_reason"]
    )
    assert done["retries_used"] == 1
    for t in done["tasks"]:
        final = zunray.wait(t["id"], timeout_s=30)
        assert final["status"] == ("Failed" if t["index"] == 1 else "Cancelled")
        assert zunray.no_containers(t["id"])

"""The dashboard in a real headless Chromium against the shared stack (noauth)."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser import browser_page, screenshot

pytestmark = [pytest.mark.docker, pytest.mark.ray, pytest.mark.timeout(300)]


def test_dashboard_shows_hosts_and_a_jobs_logs_timeline_and_why(zunray):
    done = zunray.submit(command=["sh", "-c", "echo hello from the dashboard"], name="shown")
    assert zunray.wait(done["id"])["status"] == "Succeeded"
    waiting = zunray.submit(
        command=["true"], resources={"cpu": 64, "memory_mb": 32}, name="too-big"
    )
    try:
        with browser_page() as page:
            assert page.goto(f"{zunray.settings.gateway_url}/dashboard").status == 200
            page.wait_for_selector("body[data-ready=true]")
            host = page.locator("#hosts .host").first
            assert "pinned cpus" in host.inner_text() and "cores" in host.inner_text()
            page.click(f'tr[data-id="{done["id"]}"]')
            page.wait_for_function(
                "document.querySelector('#job-logs').textContent.includes('hello from the dashboard')"
            )
            page.wait_for_function(
                "document.querySelectorAll('#job-trace .span').length >= 3"
            )  # the trace's spans as bars
            page.click(f'tr[data-id="{waiting["id"]}"]')
            page.wait_for_selector("#job-why:not([hidden])")
            page.wait_for_function(
                "document.querySelector('#job-why').textContent.includes('needs 64 cpus')"
            )
            path = screenshot(page, "dashboard.png")
            assert path.stat().st_size > 10_000
            assert page.evaluate(
                "[...document.scripts].every(s => s.src.startsWith(location.origin))"
            )  # no CDN
    finally:
        zunray.http.post(f"/v1/jobs/{waiting['id']}/cancel")


ECHO = "def handle(event, context):\n    return event\n"
# a polyline of this chart with a point above its zero line (y of zero is 150 - 20 in charts.js)
DRAWN_ABOVE_ZERO = """name => [...document.querySelectorAll(`#chart-${name} polyline`)].some(line => {
    const ys = [...Array(line.points.numberOfItems).keys()].map(i => line.points.getItem(i).y);
    return ys.length >= 2 && ys.some(y => y < 129);
})"""


def test_dashboard_charts_draw_real_activity(zunray, tmp_path):
    ok = zunray.submit(command=["true"], name="chart-ok")
    bad = zunray.submit(command=["sh", "-c", "exit 3"], name="chart-bad")
    waiting = zunray.submit(
        command=["true"], resources={"cpu": 64, "memory_mb": 32}, name="chart-queued"
    )
    fn = {
        "name": "chart-echo",
        "image": "zunray/python:3.11",
        "handler": "app:handle",
        "code": ECHO,
    }
    assert zunray.http.post("/v1/functions", json=fn).status_code == 201
    try:
        for call in range(
            2
        ):  # the first starts an instance (cold), the second finds it idle (warm)
            resp = zunray.http.post("/v1/functions/chart-echo/invoke", json=call, timeout=90)
            assert resp.status_code == 200 and resp.json() == call, resp.text
        stats = zunray.http.get("/v1/functions/chart-echo").json()["stats"]
        assert stats["cold_starts"] == 1 and stats["warm_hits"] == 1, stats
        assert (
            zunray.wait(ok["id"])["status"] == "Succeeded"
            and zunray.wait(bad["id"])["status"] == "Failed"
        )
        time.sleep(
            2 * zunray.settings.dashboard_sample_s + 1
        )  # samples see the queued job and the warm instance
        zunray.http.post(f"/v1/jobs/{waiting['id']}/cancel").raise_for_status()
        with browser_page() as page:
            assert page.goto(f"{zunray.settings.gateway_url}/dashboard").status == 200
            page.wait_for_selector("body[data-ready=true]")
            for series in ("Succeeded", "Failed", "Cancelled"):
                page.wait_for_selector(f'#chart-outcomes rect.col[data-series="{series}"]')
            for series in ("cold", "warm"):
                page.wait_for_selector(f'#chart-invocations rect.col[data-series="{series}"]')
            for name in ("queue_depth", "placed", "usage"):
                try:
                    page.wait_for_function(DRAWN_ABOVE_ZERO, arg=name)
                except PlaywrightTimeout:
                    chart = zunray.http.get("/v1/dashboard/series").json()["charts"][name]
                    pytest.fail(f"chart {name} drew nothing above zero; its data: {chart}")
            assert page.locator("#charts figure.chart").count() == 5
            path = tmp_path / "dashboard-charts.png"
            page.locator("#charts").screenshot(path=str(path))
            assert path.stat().st_size > 5_000
    finally:
        zunray.http.post(f"/v1/jobs/{waiting['id']}/cancel")
        zunray.http.delete("/v1/functions/chart-echo")

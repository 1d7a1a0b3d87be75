"""The dashboard in a real headless Chromium against the shared stack (noauth)."""

from __future__ import annotations

import pytest

from tests.browser import browser_page, screenshot

pytestmark = [pytest.mark.docker, pytest.mark.ray, pytest.mark.timeout(300)]


def test_dashboard_shows_hosts_and_a_jobs_logs_timeline_and_why(zunray):
    done = zunray.submit(command=["sh", "-c", "echo hello from the dashboard"], name="shown")
    assert zunray.wait(done["id"])["status"] == "Succeeded"
    waiting = zunray.submit(command=["true"], resources={"cpu": 64, "memory_mb": 32}, name="too-big")
    try:
        with browser_page() as page:
            assert page.goto(f"{zunray.settings.gateway_url}/dashboard").status == 200
            page.wait_for_selector("body[data-ready=true]")
            host = page.locator("#hosts .host").first
            assert "pinned cpus" in host.inner_text() and "cores" in host.inner_text()
            page.click(f'tr[data-id="{done["id"]}"]')
            page.wait_for_function("document.querySelector('#job-logs').textContent.includes('hello from the dashboard')")
            page.wait_for_function("document.querySelectorAll('#job-trace .span').length >= 3")  # the trace's spans as bars
            page.click(f'tr[data-id="{waiting["id"]}"]')
            page.wait_for_selector("#job-why:not([hidden])")
            page.wait_for_function("document.querySelector('#job-why').textContent.includes('needs 64 cpus')")
            path = screenshot(page, "dashboard.png")
            assert path.stat().st_size > 10_000
            assert page.evaluate("[...document.scripts].every(s => s.src.startsWith(location.origin))")  # no CDN
    finally:
        zunray.http.post(f"/v1/jobs/{waiting['id']}/cancel")

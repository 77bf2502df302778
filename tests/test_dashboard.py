"""The dashboard (``GET /``) in a real browser: headless Chromium driven by Selenium
(tests/browser.py; ``make test`` installs chromium and chromium-driver).

The page is opened on a running ``hub.serve()``; jobs are enqueued and events published from
Python, and the test waits (a generous deadline, not a latency assertion) until the page
shows them. Then the service is stopped, events are published while it is down, it is
started again on the same port, more are published, and every event must be shown exactly
once: the page resumes from the durable event log with ``Last-Event-ID`` and drops resends.
Screenshots go to tests/artifacts/ (ignored by git).
"""

from __future__ import annotations

import collections
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import console_log, headless_chromium, screenshot, wait_for

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
README_IMAGE = Path(__file__).resolve().parent.parent / "docs" / "img" / "dashboard.png"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with headless_chromium() as driver:
        yield driver


def _testid(driver: Any, testid: str) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.CSS_SELECTOR, f'[data-testid="{testid}"]').text)


def _conn_state(driver: Any) -> str:
    return str(
        driver.execute_script("return document.querySelector('[data-testid=conn]').dataset.state")
    )


def _shown_ids(driver: Any) -> list[str]:
    """The ids of the event rows in the page's tail, as many times as each is shown."""
    return list(
        driver.execute_script(
            "return [...document.querySelectorAll('[data-testid=event]')].map(r => r.dataset.id)"
        )
    )


def _wait_live(driver: Any, what: str) -> None:
    wait_for(lambda: _conn_state(driver) == "live", what=f"{what}\n{console_log(driver)}")


def test_dashboard_shows_live_events_and_resumes_after_a_restart(
    hub: Any, browser: Any, backend: str
) -> None:
    server = hub.serve(host="127.0.0.1", port=0)
    port = server.port
    try:
        browser.get(server.url)
        _wait_live(browser, "the event stream did not connect")
        wait_for(lambda: _testid(browser, "namespace") == hub.namespace, what="the status")

        before = [hub.events.publish("dash:a", {"n": i}).id for i in range(5)]
        wait_for(
            lambda: set(before) <= set(_shown_ids(browser)),
            what="the first events in the live tail",
        )

        server.close()
        wait_for(
            lambda: _conn_state(browser) != "live",
            what="the page noticing the server went away",
        )
        while_down = [hub.events.publish("dash:b", {"n": i}).id for i in range(4)]
        server = hub.serve(host="127.0.0.1", port=port)
        after = [hub.events.publish("dash:c", {"n": i}).id for i in range(3)]

        expected = before + while_down + after
        wait_for(
            lambda: set(expected) <= set(_shown_ids(browser)),
            what="every event published before, during and after the restart "
            f"(page console:\n{console_log(browser)})",
        )
        _wait_live(browser, "the stream after the restart")
        shown = collections.Counter(_shown_ids(browser))
        assert {i: n for i, n in shown.items() if n != 1} == {}, "an event shown twice"
        assert set(shown) == set(expected), "an event the test did not publish"
        # Newest first: the tail's order is the log's.
        assert _shown_ids(browser) == list(reversed(expected))
        assert _testid(browser, "tail-count") == str(len(expected))
        screenshot(browser, ARTIFACTS / f"dashboard-events-{backend}.png")
    finally:
        server.close()


def test_dashboard_shows_bus_agents_and_jobs(hub: Any, browser: Any, backend: str) -> None:
    server = hub.serve(host="127.0.0.1", port=0)
    try:
        browser.get(server.url)
        _wait_live(browser, "the event stream did not connect")
        for agent in ("planner", "coder", "reviewer"):
            hub.bus.register(agent)
        for i in range(3):
            hub.bus.share("planner", "coder", {"step": i})
        hub.bus.share("coder", "reviewer", {"diff": "..."})
        wait_for(
            lambda: (
                _testid(browser, "agent-coder-pending") == "3"
                and _testid(browser, "agent-reviewer-pending") == "1"
            ),
            what="the bus agents' pending messages",
        )
        for i in range(3):
            hub.jobs.enqueue("email", {"to": f"user{i}@example.com"})
        hub.jobs.enqueue("resize", {"image": "a.png"})
        wait_for(
            lambda: (
                _testid(browser, "jobs-email-ready") == "3"
                and _testid(browser, "jobs-resize-ready") == "1"
            ),
            what="the queued jobs (3 email, 1 resize) in the jobs table",
        )
        # A worker that beats shows as alive; one that stopped beating long ago as lost.
        hub.jobs.register_worker("mailer-1", kinds=["email"], interval=30)
        hub.jobs.register_worker("resizer-1", kinds=["resize"], interval=0.05)
        time.sleep(0.3)  # past three of resizer-1's beat intervals: it counts as lost

        def worker_states() -> dict[str, str]:
            from selenium.webdriver.common.by import By

            rows = browser.find_elements(By.CSS_SELECTOR, '[data-testid="worker"]')
            return {r.get_attribute("data-id"): r.get_attribute("data-lost") for r in rows}

        wait_for(
            lambda: worker_states() == {"mailer-1": "false", "resizer-1": "true"},
            what="the workers, mailer-1 alive and resizer-1 lost",
        )
        for user in ("u1", "u2", "u3"):
            hub.analytics.track("signup", user)
        hub.analytics.track("login", "u1")
        wait_for(
            lambda: "signup" in (_testid(browser, "analytics") or ""),
            what="the tracked events in the analytics section",
        )
        for i in range(3):
            hub.events.publish("task:done", {"task": f"t{i}", "ok": True})
        wait_for(lambda: len(_shown_ids(browser)) == 3, what="the events")
        image = screenshot(browser, ARTIFACTS / f"dashboard-{backend}.png")
        if os.environ.get("ZEROLAG_README_SCREENSHOT") and backend == "embedded":
            README_IMAGE.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(image, README_IMAGE)
    finally:
        server.close()


def test_dashboard_sends_the_token_from_its_address(hub: Any, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    token = "dashboard-test-token-0123456789"
    server = hub.serve(host="127.0.0.1", port=0, token=token)
    try:
        base = server.url.rstrip("/")
        # Without the token not even the page is served.
        browser.get(base + "/")
        wait_for(
            lambda: "unauthorized" in browser.find_element(By.TAG_NAME, "body").text,
            what="the server refusing the page without a token",
        )
        assert not browser.find_elements(By.CSS_SELECTOR, '[data-testid="conn"]')
        # With it in the address, the page sends it on with every request it makes.
        browser.get(f"{base}/?access_token={token}")
        _wait_live(browser, "the event stream with the token")
        wait_for(lambda: _testid(browser, "namespace") == hub.namespace, what="the status")
        ev = hub.events.publish("dash:token", {"ok": True})
        wait_for(lambda: ev.id in _shown_ids(browser), what="the event sent with the token")
        assert _testid(browser, "problem") == ""
    finally:
        server.close()

"""What Jupyter shows for the common results: `_repr_html_` tables for a task, a search page, a
job, a page of jobs, a memory search hit and the store's health, on every backend, with every
value escaped."""

from __future__ import annotations

import html
import re

import zerolag

HOSTILE = "<script>alert('x')</script> & co"


def _cells(markup: str) -> list[str]:
    return [html.unescape(c) for c in re.findall(r"<t[dh](?: [^>]*)?>(.*?)</t[dh]>", markup)]


def test_task_and_search_page(hub: zerolag.Hub) -> None:
    t = hub.tasks.create(HOSTILE, intent="auth", keywords=["jwt", "oauth"], confidence=0.875)
    hub.tasks.create("Second", intent="auth", keywords=["jwt"])
    markup = t._repr_html_()
    assert "<script>" not in markup
    cells = _cells(markup)
    assert cells[cells.index("title") + 1] == HOSTILE
    assert cells[cells.index("keywords") + 1] == "jwt, oauth"
    assert cells[cells.index("confidence") + 1] == "0.88"
    page = hub.tasks.search(intent="auth", limit=1)
    markup = page._repr_html_()
    assert "<script>" not in markup and "more after this page" in markup
    cells = _cells(markup)
    assert cells[:7] == ["id", "title", "intent", "keywords", "confidence", "status", "progress"]
    assert len(cells) == 14 and cells[7] == page.tasks[0].id


def test_job_and_health(hub: zerolag.Hub) -> None:
    job = hub.jobs.enqueue("resize", {"path": HOSTILE}, max_attempts=4)
    markup = job._repr_html_()
    assert "<script>" not in markup
    cells = _cells(markup)
    assert cells[cells.index("attempts") + 1] == "0 of 4"
    assert cells[cells.index("status") + 1] == "pending"
    assert HOSTILE in cells[cells.index("payload") + 1]
    cells = _cells(hub.health()._repr_html_())
    assert cells[cells.index("backend") + 1] == hub.health().backend
    assert int(cells[cells.index("jobs") + 1]) >= 1


def test_job_page(hub: zerolag.Hub) -> None:
    for i in range(3):
        hub.jobs.enqueue("k", i, priority=i)
    page = hub.jobs.list("ready", kind="k", limit=2)
    markup = page._repr_html_()
    assert "2 jobs, more after this page" in markup
    cells = _cells(markup)
    assert cells[:8] == [
        "id",
        "kind",
        "status",
        "priority",
        "attempts",
        "progress",
        "error",
        "worker",
    ]
    assert cells[8:12] == [page[0].id, "k", "pending", "2"]
    (c,) = hub.jobs.claim("k")
    hub.jobs.fail(c, HOSTILE, retry=False)
    markup = hub.jobs.list("finished")._repr_html_()
    assert "<script>" not in markup and HOSTILE in _cells(markup)


def test_memory_hit(hub: zerolag.Hub) -> None:
    # 2024-02-29 13:05:07 UTC: a leap day, to check the calendar.
    hub.memory.remember(
        "city", HOSTILE + " lives in Porto", entities=["ana"], valid_from=1709211907.25
    )
    (hit,) = hub.memory.search("porto", around="ana")
    markup = hit._repr_html_()
    assert "<script>" not in markup
    cells = _cells(markup)
    assert cells[cells.index("value") + 1] == HOSTILE + " lives in Porto"
    assert cells[cells.index("valid") + 1] == "from 2024-02-29 13:05:07 UTC"
    assert cells[cells.index("entities") + 1] == "ana"
    assert cells[cells.index("keyword") + 1].endswith("(#1)")
    assert cells[cells.index("graph") + 1] == "1.0000 (#1)"
    assert cells[cells.index("vector") + 1] == "–"

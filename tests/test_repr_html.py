"""What Jupyter shows for the common results: `_repr_html_` tables for a task, a search page, a
job and the store's health, on every backend, with every value escaped."""

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

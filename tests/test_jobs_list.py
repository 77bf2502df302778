"""hub.jobs.list on every backend: each queue in the order workers see it, filters, pages with
cursors, bad arguments, the async form, and the Jupyter table."""

from __future__ import annotations

import time
from typing import Any

import jobs_backends
import pytest
import zerolag
from zerolag import ValidationError

# Every test here also runs with partitions=4, on the cluster and on the embedded store.
backend = jobs_backends.backend
partitions = jobs_backends.partitions
store_url = jobs_backends.store_url
store_servers = jobs_backends.store_servers


def all_pages(hub: zerolag.Hub, queue: str, limit: int, **kw: Any) -> list[str]:
    ids: list[str] = []
    cursor = None
    for _ in range(100):
        page = hub.jobs.list(queue, limit=limit, cursor=cursor, **kw)  # type: ignore[arg-type]
        assert len(page) <= limit
        ids += [j.id for j in page]
        cursor = page.next_cursor
        if cursor is None:
            return ids
    raise AssertionError("no end of pages")


# With partitions, the order of a queue is promised within a partition (docs/scaling.md): the
# tests of order give their jobs one key, so they share a partition.
K = "one-partition"


def test_each_queue_in_worker_order_with_pages(hub: zerolag.Hub) -> None:
    a = [
        hub.jobs.enqueue("a", i, priority=p, key=K).id for i, p in enumerate([0, 5, 0, 5, 1, 0, 2])
    ]
    b = hub.jobs.enqueue("b", "x", key=K).id
    later = hub.jobs.enqueue("a", "later", delay=3600, key=K).id
    soon = hub.jobs.enqueue("a", "soon", delay=600, key=K).id
    # Ready, per kind: highest priority first, then first enqueued.
    want = [a[1], a[3], a[6], a[4], a[0], a[2], a[5]]
    assert [j.id for j in hub.jobs.list("ready", kind="a")] == want
    for limit in (1, 2, 3, 7, 50):
        assert all_pages(hub, "ready", limit, kind="a") == want
    assert [j.id for j in hub.jobs.list("ready", kind="b")] == [b]
    assert [j.id for j in hub.jobs.list("delayed")] == [soon, later]
    # Claim two (running), finish them three ways with the rest of the lifecycle.
    c1, c2 = hub.jobs.claim("a", count=2)
    assert {j.id for j in hub.jobs.list("running")} == {c1.id, c2.id}
    assert all(j.status == "running" for j in hub.jobs.list("running"))
    hub.jobs.complete(c1, {"ok": True})
    time.sleep(0.005)  # finish times are kept to the millisecond
    hub.jobs.fail(c2, "boom", retry=False)
    time.sleep(0.005)
    hub.jobs.cancel(a[0])
    fin = hub.jobs.list("finished")
    assert [j.id for j in fin] == [a[0], c2.id, c1.id]  # newest first
    assert [j.status for j in fin] == ["cancelled", "dead", "succeeded"]
    assert [j.id for j in hub.jobs.list("finished", status="dead")] == [c2.id]
    assert [j.error for j in hub.jobs.list("finished", status="dead")] == ["boom"]
    assert all_pages(hub, "finished", 1) == [a[0], c2.id, c1.id]
    assert all_pages(hub, "finished", 1, status="succeeded") == [c1.id]
    assert hub.jobs.list("running").jobs == [] and hub.jobs.list("running").next_cursor is None
    assert {c1.id, c2.id} == {a[1], a[3]}  # the two of priority 5
    assert [j.id for j in hub.jobs.list("ready", kind="a")] == [a[6], a[4], a[2], a[5]]


def test_kind_filter_and_a_retry_waiting_in_delayed(hub: zerolag.Hub) -> None:
    x = hub.jobs.enqueue("x", 1, backoff=("fixed", 300), key=K).id
    hub.jobs.enqueue("y", 1, delay=60, key=K)
    (c,) = hub.jobs.claim("x")
    hub.jobs.fail(c, "try again")
    waiting = hub.jobs.list("delayed", kind="x")
    assert [(j.id, j.status, j.error) for j in waiting] == [(x, "failed", "try again")]
    assert [j.kind for j in hub.jobs.list("delayed")] == ["y", "x"]  # soonest first
    assert [j.kind for j in hub.jobs.list("delayed", status="pending")] == ["y"]


def test_pages_go_through_every_partition(hub: zerolag.Hub) -> None:
    # Without keys, jobs spread over the partitions; pages still list each job once.
    ids = {j.id for j in hub.jobs.enqueue_many([{"kind": "s", "payload": i} for i in range(30)])}
    for limit in (1, 4, 7, 30, 100):
        got = all_pages(hub, "ready", limit, kind="s")
        assert len(got) == 30 and set(got) == ids
    assert len(all_pages(hub, "ready", 3, kind="nothing")) == 0


def test_many_finished_jobs_page_through_without_loss(hub: zerolag.Hub) -> None:
    hub.jobs.enqueue_many([{"kind": "m", "payload": i} for i in range(300)])
    for _ in range(3):
        claims = hub.jobs.claim("m", count=100)
        for c in claims:
            hub.jobs.complete(c)
    ids = all_pages(hub, "finished", 64)
    assert len(ids) == 300 and len(set(ids)) == 300
    odd = all_pages(hub, "finished", 64, kind="m", status="succeeded")
    assert odd == ids


@pytest.mark.parametrize(
    "kw",
    [
        {"queue": "waiting"},
        {"queue": "ready"},  # ready needs a kind
        {"queue": "ready", "kind": "bad kind!"},
        {"queue": "finished", "status": "done"},
        {"queue": "finished", "limit": 0},
        {"queue": "finished", "limit": 1001},
        {"queue": "finished", "cursor": "abc"},
        {"queue": "finished", "cursor": "-1"},
    ],
)
def test_bad_arguments_are_refused(hub: zerolag.Hub, kw: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        hub.jobs.list(**kw)


def test_the_async_form(async_hub: Any, arun: Any) -> None:
    async def main() -> list[str]:
        await async_hub.jobs.enqueue("k", 1)
        page = await async_hub.jobs.list("ready", kind="k")
        return [j.kind for j in page]

    assert arun(main()) == ["k"]


def test_repr_and_html_table(hub: zerolag.Hub) -> None:
    j = hub.jobs.enqueue("k", {"x": "<b>"}, priority=3)
    (c,) = hub.jobs.claim("k")
    hub.jobs.fail(c, "<script>alert(1)</script>", retry=False)
    page = hub.jobs.list("finished")
    assert repr(page) == "JobPage(1 jobs, next_cursor=None)"
    assert page[0].id == j.id and page[-1].id == j.id
    with pytest.raises(IndexError):
        page[1]
    html = page._repr_html_()
    assert "<table" in html and "1 jobs" in html and j.id in html and "dead" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "1 of 3" in html  # attempts
    assert isinstance(zerolag.JobPage, type)

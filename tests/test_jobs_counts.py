"""hub.jobs.counts() on every backend: per kind and state, following every move of a job
(enqueue, claim, complete, retry, dead, cancel, purge, clear), the async form, and on Redis the
rebuild of the counts hash for a namespace written before it existed."""

from __future__ import annotations

import time
from typing import Any

import jobs_backends
import pytest
import zerolag
from servers import RedisServer

# Every test here also runs with partitions=4, on the cluster and on the embedded store.
backend = jobs_backends.backend
partitions = jobs_backends.partitions
store_url = jobs_backends.store_url
store_servers = jobs_backends.store_servers


def as_map(rows: list[Any]) -> dict[tuple[str, str], int]:
    out = {(r["kind"], r["state"]): r["count"] for r in rows}
    assert len(out) == len(rows), rows
    assert all(n > 0 for n in out.values()), rows
    return out


def test_counts_follow_every_move(hub: zerolag.Hub) -> None:
    assert hub.jobs.counts() == []
    hub.jobs.enqueue_many([{"kind": "email", "payload": i} for i in range(5)])
    hub.jobs.enqueue("sms", 1, delay=3600)
    hub.jobs.enqueue("sms", 2, max_attempts=1)
    hub.jobs.enqueue("push", 3, max_attempts=2, backoff=600)
    rows = hub.jobs.counts()
    # Ordered by kind, then state.
    assert rows == [
        {"kind": "email", "state": "ready", "count": 5},
        {"kind": "push", "state": "ready", "count": 1},
        {"kind": "sms", "state": "ready", "count": 1},
        {"kind": "sms", "state": "delayed", "count": 1},
    ]
    e = hub.jobs.claim("email", count=3)
    hub.jobs.complete(e[0], "ok")
    hub.jobs.fail(e[1], "boom", retry=False)
    (s,) = hub.jobs.claim("sms")
    hub.jobs.fail(s, "boom")  # one attempt only: dead
    (p,) = hub.jobs.claim("push")
    hub.jobs.fail(p, "again")  # retried after 600 s: delayed
    ready = hub.jobs.list("ready", kind="email").jobs
    assert hub.jobs.cancel(ready[0].id)
    assert as_map(hub.jobs.counts()) == {
        ("email", "ready"): 1,
        ("email", "running"): 1,
        ("email", "succeeded"): 1,
        ("email", "dead"): 1,
        ("email", "cancelled"): 1,
        ("sms", "dead"): 1,
        ("sms", "delayed"): 1,
        ("push", "delayed"): 1,
    }
    assert hub.jobs.purge() == 4
    assert as_map(hub.jobs.counts()) == {
        ("email", "ready"): 1,
        ("email", "running"): 1,
        ("sms", "delayed"): 1,
        ("push", "delayed"): 1,
    }
    hub.clear()
    assert hub.jobs.counts() == []


def test_expired_claims_and_due_jobs_move_the_counts(hub: zerolag.Hub) -> None:
    # One key, so one partition: a claim moves the expired and due jobs of the partitions it
    # visits (docs/scaling.md).
    hub.jobs.enqueue("k", 1, max_attempts=1, key="p")
    hub.jobs.enqueue("k", 2, delay=0.05, key="p")
    hub.jobs.claim("k", visibility=0.05)
    time.sleep(0.2)
    # This claim moves the expired one to dead and the due one to ready, then takes it.
    assert len(hub.jobs.claim("k")) == 1
    assert as_map(hub.jobs.counts()) == {("k", "dead"): 1, ("k", "running"): 1}


def test_counts_match_the_listing_at_scale(hub: zerolag.Hub) -> None:
    hub.jobs.enqueue_many([{"kind": f"k{i % 7}", "payload": i} for i in range(3000)])
    hub.jobs.enqueue_many([{"kind": "late", "payload": i, "delay": 60} for i in range(500)])
    hub.jobs.claim(["k0", "k1"], count=400)
    got = as_map(hub.jobs.counts())
    assert sum(got.values()) == 3500
    assert got[("late", "delayed")] == 500
    assert got[("k0", "running")] + got[("k1", "running")] == 400
    for i in range(7):
        n = len(hub.jobs.list("ready", kind=f"k{i}", limit=1000))
        assert got.get((f"k{i}", "ready"), 0) == n


def test_async(arun: Any, async_hub: Any) -> None:
    async def go() -> list[Any]:
        await async_hub.jobs.enqueue("a", 1)
        rows: list[Any] = await async_hub.jobs.counts()
        return rows

    assert arun(go()) == [{"kind": "a", "state": "ready", "count": 1}]


def test_redis_rebuilds_counts_written_before_they_existed(
    hub: zerolag.Hub, namespace: str, store_servers: list[RedisServer]
) -> None:
    if not store_servers:
        pytest.skip("embedded: the schema step fills the table from the stored jobs")
    hub.jobs.enqueue_many([{"kind": "a", "payload": i} for i in range(3)])
    hub.jobs.enqueue("b", 1, delay=60)
    # The counts hash of each partition (one: `zl:{<ns>:jobs}:n`).
    hashes = [
        (s, k)
        for s in store_servers
        for k in s.keys(f"zl:{{{namespace}:jobs*")
        if k.endswith("}:n")
    ]
    assert hashes
    # As an older version left it: no counts hash at all, or a wrong one without its marker.
    for server, key in hashes:
        server.command("DEL", key)
    assert as_map(hub.jobs.counts()) == {("a", "ready"): 3, ("b", "delayed"): 1}
    for server, key in hashes:
        server.command("HSET", key, "ready:a", 99)
        server.command("HDEL", key, "~")
    assert as_map(hub.jobs.counts()) == {("a", "ready"): 3, ("b", "delayed"): 1}

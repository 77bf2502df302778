"""The archive's API (docs/archive.md) on every backend against a real PostgreSQL (tests/pg.py):
DSN checks, attaching to a server that is not there, ``zerolag.open(archive=)`` and the
async twin, history's filters, full-text search and cursor, insights and stats, the
fall-through of ``bus.history`` and ``events.read`` past the store's retention, erasure
that the archiver does not undo, ``clear`` behind its confirmation, and the ``zerolag
archive`` process stopping cleanly on SIGTERM. The crash, outage and retention scenarios are
in tests/test_archive.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import zerolag
from archive_db import count, query, try_count, wait_for
from zerolag.exceptions import ArchiveUnavailable, ValidationError

FLUSH = 60.0  # a bound on a hang, not a timing assertion


def _flush(hub: Any) -> None:
    assert hub.archive.flush(timeout=FLUSH), hub.archive.health()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_dsn_is_checked_and_nothing_attached_means_unavailable(hub: Any) -> None:
    for bad, says in [
        ("", "empty"),
        ("mysql://u@h/db", "scheme"),
        ("just words", "neither"),
        ("postgresql://127.0.0.1/db", "no user"),
        ("postgresql://u:hunter2secret@h:notaport/db", "not valid"),
        ("postgresql://u@h/db?sslmode=require", "TLS"),
    ]:
        with pytest.raises(ValidationError) as e:
            hub.archive.attach(bad)
        assert says in str(e.value), (bad, str(e.value))
        assert "hunter2secret" not in str(e.value)
    assert not hub.archive.attached
    h = hub.archive.health()
    assert h["status"] == "detached" and h["message"] == "archive detached"
    for call in (
        lambda: hub.archive.history(),
        lambda: hub.archive.stats(),
        lambda: hub.archive.cross_agent_insights(),
        lambda: hub.archive.flush(timeout=0),
    ):
        with pytest.raises(ArchiveUnavailable):
            call()
    assert issubclass(ArchiveUnavailable, ConnectionError)
    hub.archive.detach()  # nothing attached: nothing to do


def test_bad_numbers_and_times_name_their_argument(hub: Any) -> None:
    for argument, call in [
        ("poll", lambda: hub.archive.attach("postgresql://u@h/db", poll=0)),
        ("poll", lambda: hub.archive.attach("postgresql://u@h/db", poll=float("nan"))),
        ("timeout", lambda: hub.archive.flush(timeout=-1)),
        ("timeout", lambda: hub.archive.flush(timeout=float("inf"))),
        ("since", lambda: hub.archive.history(since="yesterday")),
        ("until", lambda: hub.archive.history(until=-5)),
        ("since", lambda: hub.archive.cross_agent_insights(since=float("nan"))),
    ]:
        with pytest.raises(ValidationError) as e:
            call()
        assert e.value.argument == argument, (argument, str(e.value))
    assert not hub.archive.attached


def test_unreachable_postgres_does_not_fail_attach_or_the_hub(hub: Any) -> None:
    dsn = f"postgresql://postgres@127.0.0.1:{_free_port()}/postgres?connect_timeout=1"
    assert hub.health().archive is None
    hub.archive.attach(dsn, poll=0.05)
    assert hub.archive.attached
    hub.bus.register("a")
    hub.bus.register("b")
    m = hub.bus.share("a", "b", {"text": "still works"})  # real-time goes on
    assert hub.bus.ack("b", m) == 1
    assert [x.id for x in hub.bus.history("a", "b")] == [m.id]  # the store's answer
    assert hub.events.publish("t.x", {"i": 1}).channel == "t.x"
    h = wait_for(lambda: (h := hub.archive.health())["status"] == "degraded" and h, 60, "degraded")
    assert h["message"].startswith("archive degraded, ") and h["message"].endswith(" behind")
    assert h["last_error"]
    assert hub.health().archive.startswith("archive degraded, ")  # the hub's health says so
    with pytest.raises(ArchiveUnavailable):
        hub.archive.history(agent="a")
    assert not hub.archive.flush(timeout=0.3)
    hub.archive.detach()
    assert not hub.archive.attached


def test_attaching_while_postgres_is_down_holds_what_the_store_had(
    hub: Any, pg_dsn: str, namespace: str
) -> None:
    # Short retention and data before the archive: its start cursors hold that data from
    # attach on, before PostgreSQL took anything, so nothing of it is trimmed unarchived.
    hub.bus.configure(max_len=20)
    hub.bus.register("a")
    hub.bus.register("b")
    before = [hub.bus.share("a", "b", {"i": i}) for i in range(60)]
    held = [m.id for m in hub.bus.history("a", "b", limit=1000)]
    assert 20 <= len(held) < 60  # the plain trim ran (Redis trims by stream node)
    down = f"postgresql://postgres@127.0.0.1:{_free_port()}/postgres?connect_timeout=1"
    hub.archive.attach(down, poll=0.05)
    wait_for(lambda: hub.archive.health()["status"] == "degraded", 60, "degraded")
    after = [hub.bus.share("a", "b", {"i": i}) for i in range(100)]
    hub.archive.detach()  # the cursors stay, and with them the hold
    hub.archive.attach(pg_dsn, poll=0.05)
    assert hub.archive.flush(timeout=60)
    got = {r[0] for r in query(pg_dsn, "SELECT id FROM zl_messages WHERE ns = %s", namespace)}
    assert set(held) | {m.id for m in after} <= got
    assert sum(dict(hub.archive.health()["lost"]).values()) == 0
    assert before[-1].id in got


def _conversation(hub: Any) -> list[Any]:
    bus = hub.bus
    for agent in ("planner", "coder", "reviewer"):
        bus.register(agent)
    texts = [
        ("planner", "coder", "plan", "refactor the lexer and its tokens"),
        ("coder", "planner", "status", "the lexer refactoring is done"),
        ("coder", "reviewer", "review", "please review the parser change"),
        ("reviewer", "coder", "review", "approved, ship the parser"),
        ("planner", "reviewer", "plan", "write the release notes"),
    ]
    sent = [bus.share(s, t, {"text": x}, kind=k) for s, t, k, x in texts]
    sent.append(bus.broadcast("planner", {"text": "standup moved to noon"}))
    bus.ack("coder", sent[0])
    bus.ack("reviewer", sent[2])
    return sent


def test_open_with_archive_history_filters_cursor_insights_stats(
    pg_dsn: str, store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    hub = zerolag.open(store_url, root=tmp_path, namespace=namespace, archive=pg_dsn)
    try:
        assert hub.archive.attached
        hub.archive.attach(pg_dsn)  # the same DSN again: nothing changes
        before = time.time() - 1
        sent = _conversation(hub)
        _flush(hub)
        h = hub.archive.health()
        assert h["status"] == "ok" and h["leader"] and h["behind"] == 0, h
        assert h["archived"]["messages"] == len(sent) and h["archived"]["acks"] == 2

        everything = hub.archive.history()
        assert [m.id for m in everything] == [m.id for m in reversed(sent)]  # newest first
        first = everything.messages[-1]
        assert (first.sender, first.recipients, first.kind) == ("planner", ["coder"], "plan")
        assert first.payload == {"text": "refactor the lexer and its tokens"}
        assert first.priority == "medium" and not first.broadcast
        assert first.acked_at is not None and first.acked_at >= first.time >= before
        assert everything.messages[0].broadcast and everything.messages[0].recipients == ["*"]

        coder = {m.id for m in hub.archive.history(agent="coder")}
        # sent, received, and the broadcast
        assert coder == {sent[i].id for i in (0, 1, 2, 3, 5)}
        reviews = hub.archive.history(kinds=["review"])
        assert {m.id for m in reviews} == {sent[2].id, sent[3].id}
        lexer = hub.archive.history(text="lexer")  # stemmed: "refactoring" ~ "refactor"
        assert {m.id for m in lexer} == {sent[0].id, sent[1].id}
        assert [m.id for m in hub.archive.history(text='"ship the parser"')] == [sent[3].id]
        assert [m.id for m in hub.archive.history(agent="reviewer", text="parser -approved")] == [
            sent[2].id
        ]
        assert len(hub.archive.history(since=time.time() + 60)) == 0
        assert len(hub.archive.history(until=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc))) == 0
        assert (
            len(hub.archive.history(since=dt.datetime.fromtimestamp(before, dt.timezone.utc))) == 6
        )

        seen: list[str] = []
        cursor = None
        while True:
            page = hub.archive.history(limit=4, cursor=cursor)
            seen += [m.id for m in page]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == [m.id for m in reversed(sent)]
        with pytest.raises(ValidationError):
            hub.archive.history(cursor="not a cursor")
        with pytest.raises(ValidationError):
            hub.archive.history(limit=0)

        ins = hub.archive.cross_agent_insights()
        pairs = {(r["sender"], r["receiver"], r["kind"]): r["count"] for r in ins["messages"]}
        assert pairs[("planner", "coder", "plan")] == 1 and pairs[("planner", "*", None)] == 1
        assert sum(pairs.values()) == 6
        assert ins["ack_latency_ms"]["count"] == 2 and ins["ack_latency_ms"]["p50"] >= 0
        assert ins["dead_letters"] == []
        assert hub.archive.cross_agent_insights(until=before)["messages"] == []

        st = hub.archive.stats()
        assert (st["messages"], st["acks"]) == (6, 2) and st["bytes"] > 0
        assert st["oldest"] <= st["newest"] and st["oldest"] >= before
    finally:
        hub.clear()
        hub.close()


def test_the_async_twin(pg_dsn: str, store_url: str | None, tmp_path: Path, namespace: str) -> None:
    async def main() -> None:
        async with zerolag.open_async(
            store_url, root=tmp_path, namespace=namespace, archive=pg_dsn
        ) as hub:
            assert hub.archive.attached
            await hub.bus.register("a")
            await hub.bus.register("b")
            m = await hub.bus.share("a", "b", {"text": "async lexer"})
            assert await hub.archive.flush(timeout=FLUSH)
            page = await hub.archive.history(agent="b", text="lexer")
            assert [x.id for x in page] == [m.id]
            assert (await hub.archive.stats())["messages"] == 1
            assert (await hub.archive.health())["status"] == "ok"
            await hub.archive.detach()
            assert (await hub.archive.health())["status"] == "detached"
            await hub.clear()

    asyncio.run(main())


def test_bus_history_and_events_read_fall_through_to_the_archive(
    pg_dsn: str, hub: Any, namespace: str
) -> None:
    bus = hub.bus
    bus.register("a")
    bus.register("b")
    hub.archive.attach(pg_dsn, poll=0.05)
    sent = [bus.share("a" if i % 2 else "b", "b" if i % 2 else "a", {"i": i}).id for i in range(60)]
    published = [hub.events.publish("t.x", {"i": i}).id for i in range(60)]
    _flush(hub)
    # Short retention: once archived, the store drops the old entries.
    bus.configure(max_len=5)
    hub.events.set_retention(max_len=5)
    for i in range(60, 130):
        sent.append(bus.share("a", "b", {"i": i}).id)
        published.append(hub.events.publish("t.x", {"i": i}).id)
        if i % 20 == 0:
            _flush(hub)
    _flush(hub)
    sent.append(bus.share("a", "b", {"i": "last"}).id)  # trims what the flush let go
    published.append(hub.events.publish("t.x", {"i": "last"}).id)
    _flush(hub)

    assert [m.id for m in bus.history("a", "b", 1000)] == sent
    assert [m.id for m in bus.history("a", "b", 10)] == sent[-10:]
    got = hub.events.read("t.*", after="0", limit=1000)
    assert [e.id for e in got] == published
    paged: list[str] = []
    after = "0"
    while True:
        batch = hub.events.read("t.*", after=after, limit=7)
        if not batch:
            break
        paged += [e.id for e in batch]
        after = batch[-1].id
    assert paged == published
    assert [e.id for e in hub.events.read("t.*", after=published[99], limit=5)] == published[
        100:105
    ]
    assert hub.events.read("nothing.*", after="0", limit=10) == []

    hub.archive.detach()  # the store alone holds fewer: the fall-through did the rest
    assert len(bus.history("a", "b", 1000)) < len(sent)
    assert len(hub.events.read("t.*", after="0", limit=1000)) < len(published)


def test_erased_subjects_stay_erased(pg_dsn: str, hub: Any, namespace: str) -> None:
    bus = hub.bus
    for agent in ("alice", "mallory"):
        bus.register(agent)
    hub.archive.attach(pg_dsn, poll=0.05)
    keep = bus.share("alice", "alice", {"text": "note to self"})
    for i in range(3):
        m = bus.share("mallory", "alice", {"i": i})
        bus.ack("alice", m)
    bus.share("alice", "mallory", {"text": "reply"})
    _flush(hub)
    assert hub.archive.erase("mallory") == {"messages": 4, "acks": 3, "dead_letters": 0, "tasks": 0}
    assert query(pg_dsn, "SELECT subject FROM zl_archive_erased WHERE ns = %s", namespace) == [
        ("mallory",)
    ]
    # Rows naming the subject that reach the archive later are dropped by the sink.
    bus.share("mallory", "alice", {"text": "after the erase"})
    _flush(hub)
    assert len(hub.archive.history(agent="mallory")) == 0
    assert [m.id for m in hub.archive.history(agent="alice") if m.sender == "alice"] == [keep.id]
    assert count(pg_dsn, "messages", namespace) == 1
    with pytest.raises(ValidationError):
        hub.archive.erase("*")
    # hub.erase reaches the archive too: the store's part and the archive's in one report.
    bus.register("bob")
    bus.share("alice", "bob", {"text": "to bob"})
    _flush(hub)
    report = hub.erase("bob")
    assert report["archive"] == 1 and report["bus"] >= 1
    assert len(hub.archive.history(agent="bob")) == 0
    assert hub.erase("bob")["archive"] == 0  # idempotent
    hub.archive.detach()
    assert "archive" not in hub.erase("bob")


def test_clear_needs_the_namespace_and_detaches(pg_dsn: str, hub: Any, namespace: str) -> None:
    hub.bus.register("a")
    hub.archive.attach(pg_dsn, poll=0.05)
    for i in range(5):
        hub.bus.share("a", "a", {"i": i})
    _flush(hub)
    with pytest.raises(ValidationError):
        hub.archive.clear(confirm="default" if namespace != "default" else "other")
    assert count(pg_dsn, "messages", namespace) == 5
    assert hub.archive.clear(confirm=namespace) == 5
    assert count(pg_dsn, "messages", namespace) == 0
    assert not hub.archive.attached
    with pytest.raises(ArchiveUnavailable):
        hub.archive.stats()


def test_cli_archives_until_sigterm_then_detaches_with_exit_0(
    pg_dsn: str, hub: Any, store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    hub.bus.register("a")
    ids = [
        m.id
        for m in hub.bus.share_many(
            [{"source": "a", "target": "a", "payload": i} for i in range(50)]
        )
    ]
    cmd = [sys.executable, "-m", "zerolag", "archive", "--dsn", pg_dsn, "--namespace", namespace]
    cmd += ["--url", store_url] if store_url else []
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        wait_for(
            lambda: proc.poll() is not None or try_count(pg_dsn, "messages", namespace) == len(ids),
            90,
            "the archiver process to archive the messages",
        )
        assert proc.poll() is None, proc.communicate()[0]
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out
    assert "archiver stopped" in out, out
    # It released the lease: this hub's archiver leads at once and has nothing left to do.
    hub.archive.attach(pg_dsn, poll=0.05)
    wait_for(lambda: hub.archive.health()["leader"], 30, "the lease")
    _flush(hub)
    assert sorted(
        r[0] for r in query(pg_dsn, "SELECT id FROM zl_messages WHERE ns = %s", namespace)
    ) == sorted(ids)

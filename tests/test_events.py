"""hub.events on every backend: the durable log, live subscriptions (sync and async),
resuming after an id, retention, cross-process delivery, bad input, a Redis restart."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import zerolag
from conftest import PARTITIONED_BACKENDS, data_keys


@pytest.fixture(params=PARTITIONED_BACKENDS, ids=PARTITIONED_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every backend, and the cluster with namespaces of 4 partitions (docs/scaling.md)."""
    return str(request.param)


def test_publish_and_read_the_log(hub: zerolag.Hub) -> None:
    a = hub.events.publish("task:created", {"id": "t1", "n": [1, 2.5, None]})
    b = hub.events.publish("file:changed", "contexts/a.yaml")
    c = hub.events.publish("task:done", 42)
    assert a.channel == "task:created" and a.data == {"id": "t1", "n": [1, 2.5, None]}
    assert a.time == pytest.approx(time.time(), abs=5)
    assert [e.id for e in hub.events.read()] == [a.id, b.id, c.id]
    assert hub.events.read("task:*") == [a, c]
    assert hub.events.read("task:*", "file:changed") == [a, b, c]
    assert hub.events.read("file:?hanged", after=a.id) == [b]
    assert hub.events.read(after=c.id) == []
    assert hub.events.read(limit=2) == [a, b]
    assert hub.events.last_id() == c.id
    assert hub.events.count() == 3
    assert "task:created" in repr(a)


def test_subscribe_from_now_gets_only_new_events(hub: zerolag.Hub) -> None:
    hub.events.publish("task:old", 1)
    with hub.events.subscribe("task:*") as sub:
        assert sub.get(timeout=0.05) is None
        hub.events.publish("other", 0)
        hub.events.publish("task:new", 2)
        ev = sub.get(timeout=5)
        assert ev is not None and (ev.channel, ev.data) == ("task:new", 2)
        assert sub.last_id == ev.id
    assert sub.get(timeout=0.01) is None  # closed


def test_live_delivery_from_another_thread(hub: zerolag.Hub, open_hub: Any) -> None:
    other = open_hub()
    sub = hub.events.subscribe("loop:*")
    sent: list[zerolag.Event] = []

    def publish() -> None:
        for i in range(20):
            time.sleep(0.005)
            sent.append(other.events.publish(f"loop:s{i % 3}", i))

    t = threading.Thread(target=publish)
    t.start()
    got = []
    for ev in sub:
        got.append(ev)
        if len(got) == 20:
            break
    t.join()
    assert got == sent


def test_resume_after_the_last_seen_id_misses_nothing(hub: zerolag.Hub) -> None:
    sub = hub.events.subscribe("file:*")
    for i in range(3):
        hub.events.publish("file:changed", i)
    seen = [sub.get(timeout=5) for _ in range(3)]
    assert [e.data for e in seen if e] == [0, 1, 2]
    last = sub.last_id
    sub.close()
    # Published while nobody listens.
    for i in range(3, 6):
        hub.events.publish("file:synced" if i % 2 else "task:x", i)
    again = hub.events.subscribe("file:*", after=last)
    got = [again.get(timeout=5) for _ in range(2)]
    assert [e.data for e in got if e] == [3, 5]
    assert again.get(timeout=0.05) is None
    # "0" replays the whole retained log.
    everything = hub.events.subscribe(after="0")
    assert [everything.get(timeout=5).data for _ in range(6)] == [0, 1, 2, 3, 4, 5]  # type: ignore[union-attr]


def test_an_id_past_the_end_reads_nothing(hub: zerolag.Hub) -> None:
    first = hub.events.publish("task:a", {"n": 1})
    far = "99999999999999-0"
    assert hub.events.read(after=far) == []
    hub.events.publish("task:b", {"n": 2})  # its id is older than `far`
    assert hub.events.read(after=far) == []
    assert [e.data for e in hub.events.read(after=first.id)] == [{"n": 2}]
    assert [e.data for e in hub.events.read(after="0")] == [{"n": 1}, {"n": 2}]


def test_retention_by_length_keeps_the_log_bounded(hub: zerolag.Hub) -> None:
    assert hub.events.retention() == {"max_len": 10000, "max_age": None}
    hub.events.set_retention(max_len=50)
    first = hub.events.publish("n", -1)
    for i in range(300):
        hub.events.publish("n", i)
    assert hub.events.count() == 50
    assert [e.data for e in hub.events.read(limit=1000)] == list(range(250, 300))
    # A subscriber resuming from a trimmed id gets what is still retained.
    sub = hub.events.subscribe(after=first.id)
    assert sub.get(timeout=5).data == 250  # type: ignore[union-attr]
    assert hub.events.retention() == {"max_len": 50, "max_age": None}


def test_retention_by_age(hub: zerolag.Hub) -> None:
    hub.events.set_retention(max_len=1000, max_age=0.2)
    for i in range(5):
        hub.events.publish("old", i)
    time.sleep(0.35)
    hub.events.publish("new", "x")
    assert [e.channel for e in hub.events.read()] == ["new"]
    assert hub.events.retention() == {"max_len": 1000, "max_age": pytest.approx(0.2)}


def test_namespaces_do_not_see_each_other(hub: zerolag.Hub, open_hub: Any) -> None:
    other = open_hub(namespace=hub.namespace + "x")
    sub = other.events.subscribe()
    hub.events.publish("task:a", 1)
    assert other.events.read() == []
    assert sub.get(timeout=0.2) is None
    other.events.publish("task:b", 2)
    assert [e.data for e in hub.events.read()] == [1]


def test_clear_removes_the_log(hub: zerolag.Hub) -> None:
    e = hub.events.publish("a", 1)
    hub.events.set_retention(max_len=7)
    hub.clear()
    assert hub.events.read() == [] and hub.events.count() == 0
    assert hub.events.retention()["max_len"] == 10000
    # A subscriber holding an id from before the clear still gets what comes next.
    sub = hub.events.subscribe(after=e.id)
    hub.events.publish("a", 2)
    assert sub.get(timeout=5).data == 2  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "channel",
    ["", "task:*", "a b", "x?", "[a]", "{tag}", "..", "/abs", "c" * 129, "line\nbreak"],
)
def test_bad_channels_are_refused(hub: zerolag.Hub, channel: str) -> None:
    with pytest.raises(zerolag.ValidationError):
        hub.events.publish(channel, 1)
    assert hub.events.count() == 0


def test_bad_input_is_refused_and_nothing_is_written(hub: zerolag.Hub) -> None:
    with pytest.raises(zerolag.ValidationError, match="pattern"):
        hub.events.subscribe("task:[ab]")
    with pytest.raises(zerolag.ValidationError):
        hub.events.read("a b")
    with pytest.raises(zerolag.ValidationError, match="event id"):
        hub.events.subscribe(after="latest")
    with pytest.raises(zerolag.ValidationError, match="event id"):
        hub.events.read(after="1-2-3")
    with pytest.raises(zerolag.ValidationError, match="limit"):
        hub.events.read(limit=0)
    with pytest.raises((zerolag.ValidationError, TypeError)):
        hub.events.publish("a", object())
    with pytest.raises(zerolag.ValidationError, match="limit is"):
        hub.events.publish("a", "x" * (1 << 20))
    with pytest.raises(zerolag.ValidationError):
        hub.events.set_retention(max_len=0)
    with pytest.raises(zerolag.ValidationError):
        hub.events.subscribe().get(timeout=-1)
    assert hub.events.count() == 0


def test_async_publish_subscribe_and_resume(
    async_hub: Any, arun: Any, partitions: int | None
) -> None:
    async def main() -> None:
        ev = async_hub.events
        async with ev.subscribe("task:*") as sub:
            assert await sub.get(timeout=0.05) is None

            async def later() -> None:
                for i in range(5):
                    await asyncio.sleep(0.01)
                    await ev.publish("task:x" if i % 2 else "noise", i)

            task = asyncio.create_task(later())
            got = []
            async for e in sub:
                got.append(e.data)
                if len(got) == 2:
                    break
            await task
            assert got == [1, 3]
            last = sub.last_id
        assert await sub.get(timeout=0.01) is None
        await ev.publish("task:y", 9)
        again = ev.subscribe("task:*", after=last)
        e = await again.get(timeout=5)
        assert e is not None and e.data == 9
        assert [x.data for x in await ev.read("noise")] == [0, 2, 4]
        assert await ev.count() == 6
        await ev.set_retention(max_len=2)
        await ev.publish("z", 1)
        # max_len bounds each partition (docs/scaling.md "## Events"): the namespace keeps
        # up to partitions x max_len, and the partition published to keeps its newest 2.
        assert await ev.count() <= 2 * (partitions or 1)
        assert (await ev.retention())["max_len"] == 2
        assert await ev.last_id() == (await ev.read())[-1].id

    arun(main())


_PUBLISHER = """
import sys, zerolag
url = sys.argv[1] or None
with zerolag.open(url, root=sys.argv[2], namespace=sys.argv[3]) as hub:
    sub = hub.events.subscribe("ping")
    print("ready", flush=True)
    for i in range(int(sys.argv[4])):
        ev = sub.get(timeout=20)
        assert ev is not None, "no ping"
        hub.events.publish("pong", ev.data)
"""


def test_cross_process_delivery(
    hub: zerolag.Hub, store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _PUBLISHER, store_url or "", str(tmp_path), namespace, "20"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        sub = hub.events.subscribe("pong")
        for i in range(20):
            hub.events.publish("ping", i)
            ev = sub.get(timeout=20)
            assert ev is not None and ev.data == i
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()


@pytest.mark.parametrize("backend", ["redis", "cluster"])
def test_event_keys_follow_the_documented_schema(
    hub: zerolag.Hub, store_servers: list[Any], namespace: str
) -> None:
    hub.events.set_retention(max_len=5, max_age=60)
    hub.events.publish("task:a", 1)
    keys = data_keys(store_servers, namespace)
    assert keys == {f"zl:{{{namespace}:events}}:log", f"zl:{{{namespace}:events}}:cfg"}
    assert "E log` | stream" in (Path(__file__).parent.parent / "docs" / "keys.md").read_text()
    hub.clear()
    assert data_keys(store_servers, namespace) == set()


def test_subscriber_and_publisher_ride_out_a_redis_restart(
    make_redis_server: Any, tmp_path: Path
) -> None:
    server = make_redis_server(appendonly=True, appendfsync="always")
    url = server.url + "?retries=6&connect_timeout=1"
    pub_hub = zerolag.open(url, namespace="restart")
    sub_hub = zerolag.open(url, namespace="restart")
    sub = sub_hub.events.subscribe("n")
    acknowledged: list[int] = []
    received: list[int] = []
    stop = threading.Event()

    def publisher() -> None:
        i = 0
        while not stop.is_set():
            try:
                pub_hub.events.publish("n", i)
            except (zerolag.ConnectionError, zerolag.TimeoutError):
                time.sleep(0.05)  # not acknowledged: publish it again
                continue
            acknowledged.append(i)
            i += 1
            time.sleep(0.002)

    def subscriber() -> None:
        while not stop.is_set() or len(received) < len(acknowledged):
            ev = sub.get(timeout=1)
            if ev is None:
                if stop.is_set():
                    return
                continue
            received.append(ev.data)

    threads = [threading.Thread(target=publisher), threading.Thread(target=subscriber)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.4)
        before = len(acknowledged)
        server.restart(down_for=0.5)
        deadline = time.monotonic() + 30
        while len(acknowledged) < before + 100 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert len(acknowledged) >= before + 100, "publishing did not resume after the restart"
    # Every acknowledged publish is delivered; a publish whose reply was lost may repeat.
    assert set(acknowledged) <= set(received)
    assert received == sorted(received)
    pub_hub.close()
    sub_hub.close()

"""hub.events in a namespace of several partitions (docs/scaling.md "## Events"): the log is
split by channel over the cluster's masters, a pattern subscriber merges the partitions in
id order (live and on replay), a resume point loses and repeats nothing, even after its
subscriber was SIGKILLed, a publisher SIGKILLed mid-stream loses nothing acknowledged, and a
failover of one master stalls only the channels of its partitions.

The tests of the promises run on every backend, and on the 3-master cluster with 4
partitions (``cluster-p4``): they are the same everywhere. The spread and the failover run on
clusters of their own making.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import zerolag
from conftest import EVERY_PARTITIONED, data_keys, unique_namespace


@pytest.fixture(params=EVERY_PARTITIONED, ids=EVERY_PARTITIONED)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def key(ev: Any) -> tuple[int, int]:
    ms, seq = ev.id.split("-")
    return int(ms), int(seq)


@pytest.mark.parametrize("backend", ["cluster"])
def test_partitioned_keys_spread_over_every_master(
    cluster_url: str, store_servers: list[Any], tmp_path: Path
) -> None:
    ns = unique_namespace("spread")
    # 48 partitions over 3 masters: every master holds some (all on one or two: (2/3)^48).
    hub = zerolag.open(cluster_url, root=tmp_path, namespace=ns, partitions=48)
    try:
        hub.events.set_retention(max_len=100, max_age=3600)
        sent = [hub.events.publish(f"ch:{i}", i) for i in range(400)]
        for i in range(0, 400, 37):
            hub.events.publish(f"ch:{i}", -i)
        keys = data_keys(store_servers, ns)
        shape = re.compile(rf"^zl:\{{{ns}:events:(\d+)\}}:(log|cfg)$")
        assert all(shape.match(k) for k in keys), sorted(keys)[:5]
        logs = {int(m.group(1)) for k in keys if (m := shape.match(k)) and m.group(2) == "log"}
        assert logs == set(range(48))
        per_master = [
            {k for k in s.keys(f"zl:{{{ns}:events:*") if k.endswith(":log")} for s in store_servers
        ]
        assert all(per_master) and sum(len(m) for m in per_master) == 48
        assert (
            "zl:{<ns>:events:<p>}:"
            in (Path(__file__).parent.parent / "docs" / "keys.md").read_text()
        )
        everything = hub.events.read(after="0", limit=1000)
        assert len(everything) == 400 + 11 and hub.events.count() == 411
        assert [key(e) for e in everything] == sorted(key(e) for e in everything)
        assert {e.id for e in sent} <= {e.id for e in everything}
        hub.clear()
        assert data_keys(store_servers, ns) == set()
    finally:
        hub.close()


def test_a_pattern_subscriber_merges_concurrent_publishers_in_id_order(
    hub: zerolag.Hub, open_hub: Any
) -> None:
    sub = hub.events.subscribe("m:*")
    one = hub.events.subscribe("m:1:3")
    publishers = [open_hub() for _ in range(3)]
    sent: list[list[Any]] = [[] for _ in publishers]

    def publish(t: int) -> None:
        h = publishers[t]
        for i in range(60):
            sent[t].append(h.events.publish(f"m:{t}:{i % 7}", [t, i]))
            if i % 10 == 9:
                h.events.publish("other", 0)

    threads = [threading.Thread(target=publish, args=(t,)) for t in range(3)]
    for th in threads:
        th.start()
    got: list[Any] = []
    while len(got) < 180:
        ev = sub.get(timeout=20)
        assert ev is not None, f"only {len(got)} of 180 events arrived"
        got.append(ev)
    for th in threads:
        th.join()
    assert sub.get(timeout=0.2) is None
    mine = [e for s in sent for e in s]
    # Each once, in id order, and each publisher's events in the order it published them.
    assert len({e.id for e in got}) == 180 and {e.id for e in got} == {e.id for e in mine}
    assert [key(e) for e in got] == sorted(key(e) for e in got)
    for t in range(3):
        assert [e.data for e in got if e.data[0] == t] == [[t, i] for i in range(60)]
    # A channel's own subscriber (one partition) sees the same events of it in the same order.
    expect = [e for e in got if e.channel == "m:1:3"]
    assert [one.get(timeout=5) for _ in expect] == expect
    # Replayed from the start, the log is the same merge: live and replay agree.
    replay = hub.events.subscribe("m:*", after="0")
    assert [replay.get(timeout=5) for _ in got] == got
    # Paging by the last id read loses and repeats nothing.
    pages, after = [], "0"
    while page := hub.events.read("m:*", after=after, limit=7):
        pages.extend(page)
        after = page[-1].id
    assert pages == got


def test_cursors_from_now_resume_every_partition(hub: zerolag.Hub) -> None:
    hub.events.publish("a:x", "before")
    events, cursor = hub.events._poll(["a:*"], None, 10, 0.0)
    assert events == []
    sent = [hub.events.publish(f"a:{c}", c) for c in "pqrstuvw"]
    got, cursor2 = hub.events._poll(["a:*"], cursor, 100, 1.0)
    assert got == sent
    assert hub.events.read("a:*", after=cursor) == sent
    sub = hub.events.subscribe("a:*", after=cursor)
    assert [sub.get(timeout=5) for _ in sent] == sent
    assert hub.events._poll(["a:*"], cursor2, 100, 0.0)[0] == []
    for bad in ("1-0~", "1-0~x.1-0", "latest", "1-2-3"):
        with pytest.raises(zerolag.ValidationError):
            hub.events.read(after=bad)


_SUBSCRIBER = """
import sys, zerolag
hub = zerolag.open(sys.argv[1] or None, root=sys.argv[2], namespace=sys.argv[3])
sub = hub.events.subscribe("r:*", after="0")
print("ready", flush=True)
for ev in sub:
    print(ev.id, ev.data, flush=True)
"""


def test_a_resume_after_a_killed_subscriber_loses_and_repeats_nothing(
    hub: zerolag.Hub, store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _SUBSCRIBER, store_url or "", str(tmp_path), namespace],
        stdout=subprocess.PIPE,
        text=True,
    )
    sent: list[Any] = []
    stop = threading.Event()

    def publish() -> None:
        # Until the subscriber is killed, and 300 events at least.
        for i in range(100_000):
            if stop.is_set() and i >= 300:
                return
            sent.append(hub.events.publish(f"r:{i % 11}", i))
            time.sleep(0.001)

    seen: list[tuple[str, int]] = []
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        th = threading.Thread(target=publish)
        th.start()
        while len(seen) < 120:
            line = proc.stdout.readline()
            assert line.endswith("\n"), "the subscriber stopped"
            i, d = line.split()
            seen.append((i, int(d)))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        # What it printed whole before the kill (a cut last line is not seen).
        for line in proc.stdout.read().splitlines(keepends=True):
            if line.endswith("\n"):
                i, d = line.split()
                seen.append((i, int(d)))
        stop.set()
        th.join(timeout=60)
    finally:
        proc.kill()
    again = hub.events.subscribe("r:*", after=seen[-1][0])
    rest: list[Any] = []
    while len(seen) + len(rest) < len(sent):
        ev = again.get(timeout=10)
        assert ev is not None, "the resumed subscriber missed events"
        rest.append((ev.id, ev.data))
    assert again.get(timeout=0.2) is None
    assert seen + rest == [(e.id, e.data) for e in sorted(sent, key=key)]


_PUBLISHER = """
import sys, zerolag
hub = zerolag.open(sys.argv[1] or None, root=sys.argv[2], namespace=sys.argv[3])
i = 0
while True:
    ev = hub.events.publish(f"k:{i % 13}", i)
    print(ev.id, ev.data, flush=True)
    i += 1
"""


def test_a_publisher_killed_mid_stream_loses_nothing_acknowledged(
    hub: zerolag.Hub, store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    sub = hub.events.subscribe("k:*")
    proc = subprocess.Popen(
        [sys.executable, "-c", _PUBLISHER, store_url or "", str(tmp_path), namespace],
        stdout=subprocess.PIPE,
        text=True,
    )
    acked: list[tuple[str, int]] = []
    try:
        assert proc.stdout is not None
        while len(acked) < 200:
            line = proc.stdout.readline()
            assert line.endswith("\n"), "the publisher stopped"
            i, d = line.split()
            acked.append((i, int(d)))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        for line in proc.stdout.read().splitlines(keepends=True):
            if line.endswith("\n"):
                i, d = line.split()
                acked.append((i, int(d)))
    finally:
        proc.kill()
    log = {e.id: e.data for e in hub.events.read("k:*", after="0", limit=10_000)}
    assert all(log.get(i) == d for i, d in acked)
    # The live subscriber got every event the log holds, each once, in id order.
    got: list[Any] = []
    while len(got) < len(log):
        ev = sub.get(timeout=10)
        assert ev is not None, f"the subscriber got {len(got)} of {len(log)}"
        got.append(ev)
    assert sub.get(timeout=0.2) is None
    assert [e.id for e in got] == sorted(log, key=lambda i: tuple(map(int, i.split("-"))))


def test_export_and_import_keep_a_partitioned_log(
    hub: zerolag.Hub, open_hub: Any, tmp_path: Path, namespace: str, partitions: int | None
) -> None:
    hub.events.set_retention(max_len=500, max_age=3600)
    sent = [hub.events.publish(f"x:{i % 9}", {"i": i}) for i in range(40)]
    path = tmp_path / "events.zl"
    hub.export(path)
    other = open_hub(namespace=namespace + "b")
    assert other.partitions == (partitions or 1)
    other.import_(path)
    log = other.events.read(after="0", limit=100)
    assert log == hub.events.read(after="0", limit=100) == sorted(sent, key=key)
    assert other.events.retention() == hub.events.retention()
    assert other.events.read("x:4", after="0") == [e for e in log if e.channel == "x:4"]
    later = other.events.publish("x:4", "after")
    assert key(later) > key(log[-1])
    again = other.events.subscribe("x:*", after=log[20].id)
    assert [again.get(timeout=5) for _ in range(20)] == [*log[21:], later]


def of_key(name: str, n: int) -> int:
    """The partition of ``name`` among ``n`` (src/engine/partition.rs: FNV-1a 64, mod n)."""
    h = 0xCBF29CE484222325
    for b in name.encode():
        h = ((h ^ b) * 0x100000001B3) % (1 << 64)
    return h % n


def test_a_failover_stalls_only_the_partitions_of_the_dead_master() -> None:
    from servers import RedisCluster

    cluster = RedisCluster(masters=3, replicas=1, node_timeout_ms=1000)
    try:
        ns, n = unique_namespace("fo"), 6
        hub = zerolag.open(cluster.url + "?retries=1", namespace=ns, partitions=n)
        node = cluster.nodes[0]
        owner = {
            p: cluster.owner(int(node.command("CLUSTER", "KEYSLOT", f"{{{ns}:events:{p}}}")))
            for p in range(n)
        }
        victim = owner[of_key("dead", n)]
        alive = next(f"live{i}" for i in range(100) if owner[of_key(f"live{i}", n)] != victim)
        sub = hub.events.subscribe(alive)
        merged = hub.events.subscribe(after="0")
        hub.events.publish("dead", "before")
        cluster.kill(victim)
        # Until the replica takes over, the dead master's channel fails while the live one
        # goes on: after each failure on "dead", a publish on `alive` is delivered at once.
        failures = 0
        for _ in range(500):
            try:
                hub.events.publish("dead", "during")
            except (zerolag.ConnectionError, zerolag.TimeoutError):
                failures += 1
                ev = hub.events.publish(alive, failures)
                got = sub.get(timeout=10)
                assert got is not None and got.id == ev.id
                if failures == 3:
                    break
                continue
            if failures:
                break  # the replica took over
        assert failures >= 1, "the dead master's partition never failed"
        cluster.wait_failover(victim)
        for _ in range(100):  # the client finds the promoted replica by itself
            try:
                after = hub.events.publish("dead", "after")
                break
            except (zerolag.ConnectionError, zerolag.TimeoutError):
                time.sleep(0.1)
        else:
            pytest.fail("no publish on the dead master's channel after the failover")
        seen: list[Any] = []
        while not seen or seen[-1].id != after.id:
            nxt = merged.get(timeout=20)
            assert nxt is not None, "the merged subscriber did not get past the failover"
            seen.append(nxt)
        assert [key(e) for e in seen] == sorted({key(e) for e in seen})
        assert {e.channel for e in seen} == {"dead", alive}
        hub.close()
    finally:
        cluster.stop()

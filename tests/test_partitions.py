"""A namespace's partition count (``zerolag.open(..., partitions=N)``, docs/scaling.md): kept in
the store, adopted by every later open, changed only while the namespace holds no jobs, bus
or events data, bounded, kept by ``clear()``; on every backend."""

from __future__ import annotations

from pathlib import Path

import pytest
import zerolag


def test_a_new_namespace_has_one_partition(hub: object) -> None:
    assert hub.partitions == 1  # type: ignore[attr-defined]


def test_the_count_is_kept_and_adopted(
    store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    with zerolag.open(store_url, root=tmp_path, namespace=namespace, partitions=4) as a:
        assert a.partitions == 4
        with zerolag.open(store_url, root=tmp_path, namespace=namespace) as b:
            assert b.partitions == 4
        # Other namespaces are not affected.
        with zerolag.open(store_url, root=tmp_path, namespace=namespace + "x") as c:
            assert c.partitions == 1
        a.clear()


def test_an_empty_namespace_may_change_its_count(
    store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    with zerolag.open(store_url, root=tmp_path, namespace=namespace, partitions=4) as a:
        a.kv.set("k", "v")  # not a partitioned capability: the namespace may still change
    with zerolag.open(store_url, root=tmp_path, namespace=namespace, partitions=2) as b:
        assert b.partitions == 2
    with zerolag.open(store_url, root=tmp_path, namespace=namespace) as c:
        assert c.partitions == 2
        c.clear()


@pytest.mark.parametrize("write", ["jobs", "bus", "events"])
def test_a_namespace_with_data_refuses_another_count(
    store_url: str | None, tmp_path: Path, namespace: str, write: str
) -> None:
    with zerolag.open(store_url, root=tmp_path, namespace=namespace, partitions=3) as a:
        if write == "jobs":
            a.jobs.enqueue("work", {"n": 1})
        elif write == "bus":
            a.bus.register("be")
            a.bus.share("fe", "be", {"n": 1})
        else:
            a.events.publish("ch", {"n": 1})
        with pytest.raises(zerolag.ValidationError, match="partitions=5"):
            zerolag.open(store_url, root=tmp_path, namespace=namespace, partitions=5)
        # The same count, or none, opens.
        with zerolag.open(store_url, root=tmp_path, namespace=namespace, partitions=3) as b:
            assert b.partitions == 3
        with zerolag.open(store_url, root=tmp_path, namespace=namespace) as b:
            assert b.partitions == 3
        # clear() empties the namespace and keeps its count.
        a.clear()
        with zerolag.open(store_url, root=tmp_path, namespace=namespace) as b:
            assert b.partitions == 3


@pytest.mark.parametrize("bad", [0, -1, 1025, 10**12])
def test_a_count_out_of_bounds_is_refused(
    store_url: str | None, tmp_path: Path, namespace: str, bad: int
) -> None:
    with pytest.raises((zerolag.ValidationError, OverflowError), match="partitions|int"):
        zerolag.open(store_url, root=tmp_path, namespace=namespace, partitions=bad)


def test_async_open_takes_the_count(
    store_url: str | None, tmp_path: Path, namespace: str, arun: object
) -> None:
    async def go() -> int:
        async with zerolag.open_async(
            store_url, root=tmp_path, namespace=namespace, partitions=6
        ) as h:
            n = int(h.partitions)
            await h.clear()
            return n

    assert arun(go()) == 6  # type: ignore[operator]


def test_archive_refuses_a_partitioned_namespace(
    store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    with zerolag.open(store_url, root=tmp_path, namespace=namespace, partitions=2) as h:
        with pytest.raises(zerolag.ValidationError, match="partitioned"):
            h.archive.attach("postgresql://nobody@127.0.0.1:9/none")
        h.clear()

"""fork(): a hub opened before a fork refuses to work in the child with a ClosedError that
says to open one after the fork; a hub opened in the child (after a fork, or in a process
started with 'spawn', which re-opens from the URL) works; the parent's hub keeps working
after the child exits. On every backend.
"""

from __future__ import annotations

import asyncio
import faulthandler
import multiprocessing
import os
import pickle
from pathlib import Path
from typing import Any

import pytest
import zerolag


def _use_inherited_then_reopen(
    hub: Any, ahub: Any, url: str | None, root: str, ns: str, out: Any
) -> None:
    """In the forked child: the inherited hubs refuse; new ones work (sync and async)."""
    faulthandler.dump_traceback_later(30, exit=True)  # a hang shows where, then fails
    report: dict[str, Any] = {}
    try:
        try:
            hub.kv.get("parent")
            report["inherited"] = "worked"
        except zerolag.ClosedError as e:
            report["inherited"] = str(e)

        async def inherited_async() -> str:
            try:
                await ahub.kv.get("parent")
                return "worked"
            except zerolag.ClosedError as e:
                return str(e)

        report["inherited_async"] = asyncio.run(inherited_async())
        hub.close()  # closing it in the child touches nothing of the parent's
        with zerolag.open(url, root=root, namespace=ns) as mine:
            report["read"] = mine.kv.get("parent")
            mine.kv.set("child", os.getpid())

        async def fresh_async() -> Any:
            async with zerolag.open_async(url, root=root, namespace=ns) as a:
                await a.kv.set("child_async", 1)
                return await a.kv.get("parent")

        report["read_async"] = asyncio.run(fresh_async())
    except BaseException as e:  # noqa: BLE001 - reported to the parent
        report["error"] = repr(e)
    out.put(report)


def _spawned(url: str | None, root: str, ns: str, out: Any) -> None:
    """In a spawned child: nothing is inherited; open from the URL."""
    try:
        with zerolag.open(url, root=root, namespace=ns) as hub:
            out.put({"read": hub.kv.get("parent")})
            hub.kv.set("child", os.getpid())
    except BaseException as e:  # noqa: BLE001 - reported to the parent
        out.put({"error": repr(e)})


def _run(ctx: Any, target: Any, *args: Any) -> dict[str, Any]:
    q = ctx.Queue()
    p = ctx.Process(target=target, args=(*args, q))
    p.start()
    try:
        report: dict[str, Any] = q.get(timeout=60)
    finally:
        p.join(60)
        if p.is_alive():
            p.kill()
            p.join()
    assert p.exitcode == 0, (p.exitcode, report)
    return report


def test_a_forked_child_refuses_the_inherited_hub_and_opens_its_own(
    store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    ctx = multiprocessing.get_context("fork")
    hub = zerolag.open(store_url, root=tmp_path, namespace=namespace)

    async def open_async() -> Any:
        a = await zerolag.open_async(store_url, root=tmp_path, namespace=namespace)
        await a.kv.get("parent")  # the async machinery is running in the parent
        return a

    ahub = asyncio.run(open_async())
    try:
        hub.kv.set("parent", 7)
        report = _run(
            ctx, _use_inherited_then_reopen, hub, ahub, store_url, str(tmp_path), namespace
        )
        assert "error" not in report, report
        for key in ("inherited", "inherited_async"):
            assert "after the fork" in report[key], report[key]
            assert "zerolag.open" in report[key], report[key]
        assert report["read"] == 7 and report["read_async"] == 7
        # The parent's hub is untouched by what the child did and closed.
        assert hub.kv.get("child") not in (None, os.getpid())
        assert hub.kv.get("child_async") == 1
        hub.kv.set("parent", 8)
        assert hub.kv.get("parent") == 8

        async def parent_async() -> Any:
            return await ahub.kv.get("parent")

        assert asyncio.run(parent_async()) == 8
    finally:
        asyncio.run(ahub.close())
        hub.clear()
        hub.close()


def test_a_spawned_child_opens_from_the_url(
    store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    ctx = multiprocessing.get_context("spawn")
    with zerolag.open(store_url, root=tmp_path, namespace=namespace) as hub:
        try:
            hub.kv.set("parent", 5)
            report = _run(ctx, _spawned, store_url, str(tmp_path), namespace)
            assert report == {"read": 5}
            assert hub.kv.get("child") not in (None, os.getpid())
            hub.kv.set("parent", 6)
            assert hub.kv.get("parent") == 6
        finally:
            hub.clear()


def test_a_hub_cannot_be_sent_to_a_spawned_process(tmp_path: Path) -> None:
    """A hub is not picklable: passing one to a spawned process fails in the parent rather
    than arriving half-alive; the child opens its own from the URL (above)."""
    with zerolag.open(root=tmp_path, namespace="fork") as hub, pytest.raises(TypeError):
        pickle.dumps(hub)

"""``zerolag mcp`` and the MCP batcher, with the official SDK's client, on every backend (the
``hub`` fixture is parametrized): in-process, as a real stdio subprocess and over streamable
HTTP; every tool called, bad input coming back as tool errors, read-only mode, documents as
resources, and a resource-updated notification after a file edit under contexts/."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
import zerolag
from conftest import AsyncRunner, free_port

pytest.importorskip("mcp")

import mcp.types as mt  # noqa: E402
from mcp import Client, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402
from mcp.client.subscriptions import ResourceUpdated  # noqa: E402
from mcp.server.mcpserver import MCPServer  # noqa: E402
from mcp.server.mcpserver.exceptions import ToolError  # noqa: E402
from mcp.shared.exceptions import MCPError  # noqa: E402
from zerolag.integrations.mcp import (  # noqa: E402
    READERS,
    WRITERS,
    MCPBatcher,
    MCPToolError,
    create_server,
)

WAIT = 60.0  # seconds a notification or a subprocess may take (a guard, not an assertion)


def _text(result: mt.CallToolResult) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, mt.TextContent))


async def call(client: Client, tool: str, **args: Any) -> dict[str, Any]:
    """A tool call that must succeed: its structured result."""
    r = await client.call_tool(tool, args)
    assert not r.is_error, f"{tool}: {_text(r)}"
    assert isinstance(r.structured_content, dict)
    return r.structured_content


async def fails(client: Client, tool: str, **args: Any) -> str:
    """A tool call that must come back as a tool error (not a crash): its text."""
    r = await client.call_tool(tool, args)
    assert r.is_error, f"{tool} succeeded: {r.structured_content}"
    text = _text(r)
    assert "Traceback" not in text
    return text


# --------------------------------------------------------------------------------------------
# In-process
# --------------------------------------------------------------------------------------------


def test_lists_every_tool_with_typed_schemas(hub: zerolag.Hub, arun: AsyncRunner) -> None:
    async def go() -> None:
        async with Client(create_server(hub)) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == set(READERS) | set(WRITERS)
        create = tools["tasks_create"].input_schema
        assert create["required"] == ["title"]
        assert create["properties"]["title"]["type"] == "string"
        assert create["properties"]["keywords"]["anyOf"][0] == {
            "type": "array",
            "items": {"type": "string"},
        }
        jobs = tools["jobs_list"].input_schema["properties"]["queue"]
        assert jobs["enum"] == ["ready", "delayed", "running", "finished"]
        for name, t in tools.items():
            assert t.annotations is not None and t.description
            assert t.annotations.read_only_hint is (name in READERS), name

    arun(go())


def test_calls_every_tool(hub: zerolag.Hub, arun: AsyncRunner) -> None:
    hub.bus.register("planner")
    hub.bus.register("coder")

    async def go() -> None:
        async with Client(create_server(hub)) as c:
            # tasks
            t = await call(
                c,
                "tasks_create",
                title="Add login",
                id="t1",
                intent="auth",
                keywords=["jwt", "login"],
                confidence=0.9,
                metadata={"by": "mcp"},
            )
            assert (t["id"], t["intent"], t["keywords"]) == ("t1", "auth", ["jwt", "login"])
            await call(c, "tasks_create", title="Session store", id="t2", related=["t1"])
            assert hub.tasks.get("t1").metadata == {"by": "mcp"}
            assert (await call(c, "tasks_get", id="t1"))["title"] == "Add login"
            found = await call(c, "tasks_search", keywords=["jwt"], limit=5)
            assert [x["id"] for x in found["tasks"]] == ["t1"] and found["next_cursor"] is None
            u = await call(c, "tasks_update", id="t1", status="done", progress=1.0, if_version=1)
            assert (u["status"], u["version"]) == ("done", 2)
            u = await call(c, "tasks_update", id="t1", clear=["intent"])
            assert u["intent"] is None and hub.tasks.get("t1").intent is None
            rel = await call(c, "tasks_related", id="t1")
            assert [x["id"] for x in rel["tasks"]] == ["t2"]
            # documents
            d = await call(c, "docs_put", path="contexts/app/brief.yaml", value={"name": "A"})
            assert d["version"] == 1 and hub.docs.get("contexts/app/brief.yaml").value == {
                "name": "A"
            }
            text = '{"steps": [1, 2]}\n'
            await call(c, "docs_put", path="workflows/deploy.json", text=text)
            assert hub.docs.get("workflows/deploy.json").text == text
            got = await call(c, "docs_get", path="workflows/deploy.json")
            assert (got["value"], got["format"], got["text"]) == ({"steps": [1, 2]}, "json", text)
            assert (await call(c, "docs_list"))["paths"] == [
                "contexts/app/brief.yaml",
                "workflows/deploy.json",
            ]
            assert (await call(c, "docs_list", prefix="workflows/"))["paths"] == [
                "workflows/deploy.json"
            ]
            # jobs
            j = await call(c, "jobs_enqueue", kind="build", payload={"n": 1}, priority=5)
            assert hub.jobs.get(j["id"]).payload == {"n": 1}
            s = await call(c, "jobs_status", id=j["id"])
            assert (s["status"], s["priority"], s["attempts"]) == ("pending", 5, 0)
            page = await call(c, "jobs_list", queue="ready", kind="build")
            assert [x["id"] for x in page["jobs"]] == [j["id"]]
            again = await call(c, "jobs_enqueue", kind="build", idempotency_key="k1")
            assert (await call(c, "jobs_enqueue", kind="build", idempotency_key="k1"))[
                "id"
            ] == again["id"]
            # bus
            m = await call(
                c, "bus_share", source="planner", target="coder", payload={"do": "x"}, kind="plan"
            )
            assert [x.id for x in hub.bus.pending("coder")] == [m["id"]]
            pending = await call(c, "bus_pending", agent="coder")
            assert [(x["id"], x["payload"]) for x in pending["messages"]] == [
                (m["id"], {"do": "x"})
            ]
            assert (await call(c, "bus_ack", agent="coder", message_ids=[m["id"]])) == {
                "acknowledged": 1
            }
            assert hub.bus.pending("coder") == []
            # events
            e = await call(c, "events_publish", channel="task:done", data={"id": "t1"})
            hub.events.publish("other:x", 1)
            read = await call(c, "events_read", patterns=["task:*"])
            assert [(x["id"], x["data"]) for x in read["events"]] == [(e["id"], {"id": "t1"})]
            assert read["last_id"] == e["id"]
            assert (await call(c, "events_read", after=e["id"]))["events"][0]["channel"] == (
                "other:x"
            )
            # patterns
            p = await call(
                c,
                "patterns_store",
                repo="app",
                type="naming",
                data={"rule": "snake"},
                confidence=0.8,
            )
            assert hub.patterns.pattern(p["id"]).data == {"rule": "snake"}
            ins = await call(c, "patterns_insights", repo="app")
            assert [x["id"] for x in ins["patterns"]] == [p["id"]]
            # memory
            r = await call(
                c,
                "memory_remember",
                key="user:lang",
                value="the user prefers Python",
                scope={"user": "u1"},
                entities=["u1"],
            )
            assert r["version"] == 1
            rec = await call(c, "memory_recall", key="user:lang", scope={"user": "u1"})
            assert rec["record"]["value"] == "the user prefers Python"
            assert (await call(c, "memory_recall", key="user:lang"))["record"] is None
            hits = await call(c, "memory_search", text="python", scope={"user": "u1"})
            assert [h["record"]["key"] for h in hits["hits"]] == ["user:lang"]
            assert hits["hits"][0]["signals"]["keyword"][1] == 1

    arun(go())


def test_bad_input_is_a_tool_error_and_changes_nothing(hub: zerolag.Hub, arun: AsyncRunner) -> None:
    async def go() -> None:
        async with Client(create_server(hub)) as c:
            # The hub's own rules, with its error classes.
            assert "ValidationError" in await fails(c, "tasks_create", title="x", id="a b*")
            assert "ValidationError" in await fails(c, "tasks_create", title="x", confidence=2.0)
            assert "NotFoundError" in await fails(c, "tasks_get", id="nope")
            assert "ValidationError" in await fails(
                c, "docs_put", path="../etc/passwd.yaml", value={}
            )
            assert "ValidationError" in await fails(
                c, "docs_put", path="contexts/x.yaml", text="a: [unclosed"
            )
            assert "ValidationError" in await fails(c, "docs_put", path="contexts/x.yaml")
            assert "ValidationError" in await fails(c, "jobs_list", queue="finished", limit=0)
            assert "ValidationError" in await fails(
                c, "events_publish", channel="bad channel", data=1
            )
            assert "NotFoundError" in await fails(
                c, "bus_share", source="a", target="nobody", payload=1
            )
            assert "ValidationError" in await fails(c, "memory_recall", key="")
            await call(c, "tasks_create", title="x", id="dup")
            assert "ConflictError" in await fails(c, "tasks_create", title="y", id="dup")
            assert "ConflictError" in await fails(
                c, "tasks_update", id="dup", title="z", if_version=7
            )
            # The schema's: wrong types and missing arguments.
            assert "title" in await fails(c, "tasks_create", title=["not", "a", "string"])
            assert "queue" in await fails(c, "jobs_list")
            assert "queue" in await fails(c, "jobs_list", queue="sideways")
            # An unknown tool is an error too; the server goes on serving.
            assert "Unknown tool" in await fails(c, "no_such_tool")
            assert (await call(c, "tasks_get", id="dup"))["title"] == "x"
        assert hub.tasks.count() == 1 and hub.docs.list() == [] and hub.events.count() == 0

    arun(go())


def test_read_only_exposes_only_the_readers(hub: zerolag.Hub, arun: AsyncRunner) -> None:
    hub.tasks.create("kept", id="t1")

    async def go() -> None:
        async with Client(create_server(hub, read_only=True)) as c:
            names = {t.name for t in (await c.list_tools()).tools}
            assert names == set(READERS) and not names & set(WRITERS)
            assert (await call(c, "tasks_get", id="t1"))["title"] == "kept"
            assert "Unknown tool" in await fails(c, "tasks_create", title="sneaky")
        assert hub.tasks.count() == 1

    arun(go())


def test_documents_are_resources(hub: zerolag.Hub, arun: AsyncRunner) -> None:
    hub.docs.put_text("contexts/app/brief.yaml", "# brief\nname: A\n")
    hub.docs.put("workflows/deploy.json", {"steps": [1]})

    async def go() -> None:
        async with Client(create_server(hub)) as c:
            listed = {r.uri: r for r in (await c.list_resources()).resources}
            assert set(listed) == {
                "zerolag://docs/contexts/app/brief.yaml",
                "zerolag://docs/workflows/deploy.json",
            }
            assert listed["zerolag://docs/workflows/deploy.json"].mime_type == "application/json"
            got = await c.read_resource("zerolag://docs/contexts/app/brief.yaml")
            (content,) = got.contents
            assert isinstance(content, mt.TextResourceContents)
            assert (content.text, content.mime_type) == ("# brief\nname: A\n", "application/yaml")
            templates = (await c.list_resource_templates()).resource_templates
            assert [t.uri_template for t in templates] == ["zerolag://docs/{+path}"]
            with pytest.raises(MCPError, match="NotFoundError"):
                await c.read_resource("zerolag://docs/contexts/none.yaml")
            # A document created after start is listed and readable too.
            hub.docs.put("contexts/late.yaml", {"x": 1})
            assert "zerolag://docs/contexts/late.yaml" in {
                r.uri for r in (await c.list_resources()).resources
            }

    arun(go())


async def _until(cond: Callable[[], bool], what: str) -> None:
    try:
        with anyio.fail_after(WAIT):
            while not cond():
                await anyio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"no {what} within {WAIT} s") from None


def _edit_and_expect_update(client: Client, root: Path, uri: str, rel: str) -> Callable[[], Any]:
    """Listens for updates of ``uri``, then edits the file ``rel`` under ``root``."""

    async def go() -> None:
        async with client.listen(resource_subscriptions=[uri]) as sub:
            (root / rel).write_text("name: edited on disk\n")
            with anyio.fail_after(WAIT):
                async for event in sub:
                    assert event == ResourceUpdated(uri=uri)
                    return

    return go


def test_file_edit_notifies_listening_clients(
    hub: zerolag.Hub, tmp_path: Path, arun: AsyncRunner
) -> None:
    rel = "contexts/app/brief.yaml"
    (tmp_path / "contexts" / "app").mkdir(parents=True)
    (tmp_path / rel).write_text("name: first\n")
    hub.sync.start(debounce=0.02)
    uri = "zerolag://docs/" + rel

    async def go() -> None:
        async with Client(create_server(hub)) as c:
            await _edit_and_expect_update(c, tmp_path, uri, rel)()
            got = await c.read_resource(uri)
            assert got.contents[0].text == "name: edited on disk\n"  # type: ignore[union-attr]

    try:
        arun(go())
    finally:
        hub.sync.stop()


def test_file_edit_notifies_subscribers_of_earlier_protocol_versions(
    hub: zerolag.Hub, tmp_path: Path, arun: AsyncRunner
) -> None:
    """resources/subscribe (before 2026-07-28): notifications/resources/updated only for the
    URIs subscribed to, until unsubscribed or disconnected."""
    (tmp_path / "contexts").mkdir()
    for name in "abc":
        (tmp_path / "contexts" / f"{name}.yaml").write_text("v: 1\n")
    hub.sync.start(debounce=0.02)
    uri = {name: f"zerolag://docs/contexts/{name}.yaml" for name in "abc"}
    updated: list[str] = []
    server = create_server(hub)

    async def on_message(message: Any) -> None:
        if isinstance(message, mt.ResourceUpdatedNotification):
            updated.append(message.params.uri)

    async def go() -> None:
        async with Client(server, mode="legacy", message_handler=on_message) as c:
            assert c.server_capabilities.resources is not None
            assert c.server_capabilities.resources.subscribe
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                await c.session.subscribe_resource(uri["a"])
                await c.session.subscribe_resource(uri["b"])
                await c.session.unsubscribe_resource(uri["b"])
            assert (server.feed.subscribers(uri["a"]), server.feed.subscribers(uri["b"])) == (1, 0)
            for name in "cba":
                (tmp_path / "contexts" / f"{name}.yaml").write_text("v: 2\n")
            await _until(lambda: bool(updated), "a notification")
            hub.docs.put("contexts/a.yaml", {"v": 3})  # an API write notifies too
            await _until(lambda: len(updated) >= 2, "the second notification")
            assert hub.docs.get("contexts/c.yaml").value == {"v": 2}, "c changed, unannounced"
        assert set(updated) == {uri["a"]}
        assert server.feed.subscribers(uri["a"]) == 0, "forgotten once the client left"

    try:
        arun(go())
    finally:
        hub.sync.stop()


# --------------------------------------------------------------------------------------------
# Real processes: stdio and streamable HTTP
# --------------------------------------------------------------------------------------------


def _cli(store_url: str | None, root: Path, namespace: str, *extra: str) -> list[str]:
    url = ["--url", store_url] if store_url else []
    return ["-m", "zerolag", "mcp", *url, "--root", str(root), "--namespace", namespace, *extra]


@asynccontextmanager
async def stdio_server(args: list[str], errlog: Any) -> AsyncIterator[Client]:
    """``python -m zerolag mcp ...`` as a subprocess, its stderr to ``errlog``."""
    params = StdioServerParameters(command=sys.executable, args=args)
    async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=WAIT) as client:
        yield client


def test_stdio_subprocess(
    hub: zerolag.Hub,
    store_url: str | None,
    namespace: str,
    tmp_path: Path,
    arun: AsyncRunner,
) -> None:
    rel = "contexts/brief.yaml"
    (tmp_path / "contexts").mkdir()
    (tmp_path / rel).write_text("name: first\n")
    uri = "zerolag://docs/" + rel

    async def go() -> None:
        with open(tmp_path / "server.log", "w") as errlog:
            async with stdio_server(_cli(store_url, tmp_path, namespace), errlog) as c:
                assert {t.name for t in (await c.list_tools()).tools} == set(READERS) | set(WRITERS)
                t = await call(c, "tasks_create", title="over stdio", id="s1", keywords=["io"])
                assert t["version"] == 1 and hub.tasks.get("s1").title == "over stdio"
                assert "ValidationError" in await fails(c, "tasks_create", title="x", id="a b")
                # The server runs the file sync of --root: the file is a resource, and an edit
                # on disk reaches the listening client.
                await _until_listed(c, uri)
                await _edit_and_expect_update(c, tmp_path, uri, rel)()

    arun(go())
    assert hub.docs.get(rel).text == "name: edited on disk\n"


async def _until_listed(c: Client, uri: str) -> None:
    with anyio.fail_after(WAIT):
        while uri not in {r.uri for r in (await c.list_resources()).resources}:
            await anyio.sleep(0.05)


def test_stdio_read_only(
    hub: zerolag.Hub, store_url: str | None, namespace: str, tmp_path: Path, arun: AsyncRunner
) -> None:
    async def go() -> None:
        args = _cli(store_url, tmp_path, namespace, "--read-only", "--no-sync")
        async with stdio_server(args, sys.stderr) as c:
            assert {t.name for t in (await c.list_tools()).tools} == set(READERS)
            assert (await c.call_tool("docs_put", {"path": "contexts/x.yaml", "value": 1})).is_error

    arun(go())
    assert hub.docs.list() == []


def _wait_for_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError("the HTTP server did not start")


def test_streamable_http(
    hub: zerolag.Hub, store_url: str | None, namespace: str, tmp_path: Path, arun: AsyncRunner
) -> None:
    port = free_port()
    args = _cli(store_url, tmp_path, namespace, "--http", f"127.0.0.1:{port}")
    proc = subprocess.Popen([sys.executable, *args], stderr=subprocess.PIPE)
    try:
        _wait_for_port(port, proc)

        async def go() -> None:
            async with Client(f"http://127.0.0.1:{port}/mcp") as c:
                t = await call(c, "tasks_create", title="over http", id="h1")
                assert t["id"] == "h1"
                assert "NotFoundError" in await fails(c, "tasks_get", id="nope")

        arun(go())
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=WAIT)
    assert hub.tasks.get("h1").title == "over http"
    assert b"Traceback" not in err, err.decode(errors="replace")


def test_streamable_http_with_a_token_refuses_requests_without_it(
    hub: zerolag.Hub, store_url: str | None, namespace: str, tmp_path: Path, arun: AsyncRunner
) -> None:
    import json
    import urllib.error
    import urllib.request

    port = free_port()
    token = "s3cret-token-of-32-characters-xx"
    args = _cli(store_url, tmp_path, namespace, "--http", f"127.0.0.1:{port}", "--token", token)
    proc = subprocess.Popen([sys.executable, *args], stderr=subprocess.PIPE)
    try:
        _wait_for_port(port, proc)
        url = f"http://127.0.0.1:{port}/mcp"
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode()
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": token}):
            req = urllib.request.Request(url, data=body, headers=headers, method="POST")
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(req, timeout=WAIT)
            assert e.value.code == 401, headers

        async def go() -> None:
            from mcp.client.streamable_http import streamable_http_client
            from mcp.shared._httpx_utils import create_mcp_http_client

            http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
            async with http, Client(streamable_http_client(url, http_client=http)) as c:
                t = await call(c, "tasks_create", title="with a token", id="tok1")
                assert t["id"] == "tok1"

        arun(go())
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=WAIT)
    assert hub.tasks.get("tok1").title == "with a token"
    assert b"Traceback" not in err, err.decode(errors="replace")


def test_cli_refuses_to_serve_beyond_loopback_without_a_token(tmp_path: Path) -> None:
    for extra in (["--http", "0.0.0.0:8765"], ["--http", "0.0.0.0:8765", "--token", "short"]):
        proc = subprocess.run(
            [sys.executable, "-m", "zerolag", "mcp", *extra],
            capture_output=True,
            text=True,
            timeout=WAIT,
            cwd=tmp_path,
        )
        assert proc.returncode != 0 and "--token" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr


def test_cli_rejects_a_bad_http_address(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "zerolag", "mcp", "--http", "nonsense"],
        capture_output=True,
        text=True,
        timeout=WAIT,
        cwd=tmp_path,
    )
    assert proc.returncode != 0 and "HOST:PORT" in proc.stderr
    assert "Traceback" not in proc.stderr


# --------------------------------------------------------------------------------------------
# MCPBatcher
# --------------------------------------------------------------------------------------------


def test_batcher_returns_each_call_its_own_result_or_error(
    hub: zerolag.Hub, arun: AsyncRunner
) -> None:
    async def go() -> None:
        async with Client(create_server(hub)) as client:
            async with MCPBatcher(client) as b:
                good = [
                    b.call("tasks_create", {"title": f"t{i}", "id": f"b{i}"}) for i in range(22)
                ]
                bad = [b.call("tasks_create", {"title": "x", "id": "bad id"}) for _ in range(3)]
                out = await asyncio.gather(*good, *bad, return_exceptions=True)
            for i, r in enumerate(out[:22]):
                assert isinstance(r, mt.CallToolResult), r
                assert r.structured_content is not None and r.structured_content["id"] == f"b{i}"
            for e in out[22:]:
                assert isinstance(e, MCPToolError) and e.tool == "tasks_create"
                assert "ValidationError" in str(e) and e.result.is_error
            # 25 calls queued at once: batches of 10, 10 and 5.
            assert (b.stats.calls, b.stats.batches, b.stats.largest) == (25, 3, 10)
            assert dict(b.stats.sizes) == {10: 2, 5: 1}
            with pytest.raises(zerolag.ClosedError):
                await b.call("tasks_get", {"id": "b0"})
        assert hub.tasks.count() == 22

    arun(go())


def gated_server() -> tuple[MCPServer[Any], dict[str, Any]]:
    """A tiny MCP server whose ``wait`` tool blocks until the test opens the gate."""
    state: dict[str, Any] = {"gate": anyio.Event(), "inside": 0, "most": 0, "seen": []}
    server: MCPServer[Any] = MCPServer("gated")

    @server.tool()
    async def wait(n: int) -> int:
        state["inside"] += 1
        state["most"] = max(state["most"], state["inside"])
        state["seen"].append(n)
        await state["gate"].wait()
        state["inside"] -= 1
        if n < 0:
            raise ToolError("negative")
        return n

    return server, state


def test_batcher_runs_a_batch_concurrently_with_back_pressure(arun: AsyncRunner) -> None:
    server, state = gated_server()

    async def go() -> None:
        async with Client(server) as client:
            b = MCPBatcher(client, max_batch=3, max_delay=0.0, max_queue=3)
            tasks = [asyncio.create_task(b.call("wait", {"n": i})) for i in range(8)]
            # The first batch is in flight on the one session, all three at once.
            await _until(lambda: state["inside"] == 3, "the first batch")
            # Three more wait for a batch; the other two wait for room in the queue.
            await _until(lambda: b.queued == 3, "a full queue")
            await asyncio.sleep(0.05)
            assert state["seen"] == [0, 1, 2] and b.queued == 3
            assert not any(t.done() for t in tasks)
            state["gate"].set()
            results = await asyncio.gather(*tasks)
            assert [r.structured_content for r in results] == [{"result": i} for i in range(8)]
            assert state["most"] == 3 and b.stats.largest == 3 and b.stats.calls == 8
            await b.close()

    arun(go())


def test_batcher_close_flushes_without_waiting_for_the_timer(arun: AsyncRunner) -> None:
    server, state = gated_server()
    state["gate"].set()

    async def go() -> None:
        async with Client(server) as client:
            b = MCPBatcher(client, max_batch=100, max_delay=60.0)
            tasks = [asyncio.create_task(b.call("wait", {"n": i})) for i in range(5)]
            tasks.append(asyncio.create_task(b.call("wait", {"n": -1})))
            await _until(lambda: b.queued == 6, "queued calls")
            assert not any(t.done() for t in tasks)
            with anyio.fail_after(WAIT / 2):  # well before the 60 s timer
                await b.close()
            assert all(t.done() for t in tasks)
            assert [t.result().structured_content for t in tasks[:5]] == [
                {"result": i} for i in range(5)
            ]
            with pytest.raises(MCPToolError, match="negative"):
                tasks[5].result()
            assert b.stats.batches == 1

    arun(go())


def test_batcher_timer_flushes_a_lone_call(arun: AsyncRunner) -> None:
    server, state = gated_server()
    state["gate"].set()

    async def go() -> None:
        async with Client(server) as client:
            b = MCPBatcher(client, max_delay=0.01)
            r = await b.call("wait", {"n": 7})
            assert r.structured_content == {"result": 7} and b.stats.batches == 1
            # A cancelled call is skipped, the others still run.
            slow = MCPBatcher(client, max_delay=0.2)
            gone = asyncio.create_task(slow.call("wait", {"n": 1}))
            kept = asyncio.create_task(slow.call("wait", {"n": 2}))
            await _until(lambda: slow.queued == 2, "queued calls")
            gone.cancel()
            assert (await kept).structured_content == {"result": 2}
            assert gone.cancelled() and state["seen"] == [7, 2]
            await slow.close()
            await b.close()

    arun(go())


def test_batcher_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        MCPBatcher(object(), max_batch=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        MCPBatcher(object(), max_batch=10, max_queue=5)  # type: ignore[arg-type]


def test_zerolag_does_not_need_the_sdk(tmp_path: Path) -> None:
    """Without the mcp SDK, `import zerolag` works and `zerolag mcp` says which extra it needs."""
    code = (
        "import sys\n"
        "sys.modules['mcp'] = None  # as if not installed\n"
        "import zerolag, zerolag.cli\n"
        "try:\n"
        "    import zerolag.integrations.mcp\n"
        "except ImportError as e:\n"
        "    print('import:', e)\n"
        "sys.exit(zerolag.cli.main(['mcp', '--root', sys.argv[1]]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=WAIT
    )
    assert "import:" in proc.stdout and "zerolag[mcp]" in proc.stdout
    assert proc.returncode != 0 and "zerolag[mcp]" in proc.stderr
    assert "Traceback" not in proc.stderr

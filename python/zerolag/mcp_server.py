"""``zerolag mcp``: an MCP server on a hub (``pip install zerolag[mcp]``), built with the
official ``mcp`` SDK (2.x), over stdio or streamable HTTP.

Tools (:mod:`zerolag.mcp_tools`): tasks (create, get, search, update, related), documents
(get, put, list), jobs (enqueue, status, list), bus (share, pending, ack), events (publish,
read), patterns (store, insights), memory (remember, recall, search); ``read_only`` keeps the
reading ones. Resources (:mod:`zerolag.mcp_resources`): the documents under contexts/ and
workflows/ as ``zerolag://docs/<path>``, with ``notifications/resources/updated`` to clients
that subscribed when one changes.

In Python::

    from zerolag.integrations.mcp import create_server
    server = create_server(zerolag.open())      # an mcp MCPServer
    server.run()                                # stdio; or mcp.Client(server) in tests
"""

from __future__ import annotations

import hmac
import logging
import os
import sys
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

import anyio

try:
    import anyio
    from mcp.server.lowlevel.helper_types import ReadResourceContents
    from mcp.server.mcpserver import Context, MCPServer
    from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
    from mcp.server.subscriptions import InMemorySubscriptionBus
    from mcp.types import InputRequiredResult, SubscribeRequestParams, UnsubscribeRequestParams
    from mcp.types import Resource as MCPResource
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("zerolag mcp needs the mcp SDK: pip install 'zerolag[mcp]'") from e

from ._core import Hub, __version__
from .exceptions import ConflictError, NotFoundError, ZerolagError
from .mcp_resources import DOC_PREFIX, DocFeed, doc_path, doc_uri, mime_type
from .mcp_tools import READERS, WRITERS, register_tools

__all__ = ["READERS", "WRITERS", "ZerolagMCPServer", "create_server", "serve"]

INSTRUCTIONS = (
    "zerolag: the shared state of a team of agents. Tasks are indexed by intent, keywords and "
    "patterns (tasks_search before tasks_create); documents under contexts/ and workflows/ "
    "are YAML or JSON (also readable as zerolag://docs/<path> resources); jobs go to backend "
    "workers; the bus carries messages between agents; events are a shared log; patterns and "
    "memory keep what was learned. Errors name their type (ValidationError, NotFoundError, "
    "ConflictError, ...)."
)


class ZerolagMCPServer(MCPServer[Any]):
    """An ``MCPServer`` on one hub: the tools, and the hub's documents as resources listed
    and read from the store (so a document created after start is listed too)."""

    def __init__(
        self, hub: Hub, *, read_only: bool = False, name: str = "zerolag", poll: float = 0.25
    ) -> None:
        bus = InMemorySubscriptionBus()
        self.hub = hub
        self.read_only = read_only
        self.feed = DocFeed(hub, bus, poll=poll)

        @asynccontextmanager
        async def lifespan(_: MCPServer[Any]) -> AsyncIterator[Any]:
            async with self.feed.running():
                yield {}

        super().__init__(
            name,
            instructions=INSTRUCTIONS,
            version=__version__,
            log_level="WARNING",
            subscriptions=bus,
            lifespan=lifespan,
        )
        self.tools = register_tools(self, hub, read_only=read_only)
        self.resource(
            DOC_PREFIX + "{+path}",
            name="document",
            description="A YAML or JSON document under contexts/ or workflows/, by path",
        )(self._read_template)
        # resources/subscribe for clients on protocol versions before 2026-07-28 (newer ones
        # use subscriptions/listen, which MCPServer serves from the bus).
        low = self._lowlevel_server
        low.add_request_handler("resources/subscribe", SubscribeRequestParams, self.feed.subscribe)
        low.add_request_handler(
            "resources/unsubscribe", UnsubscribeRequestParams, self.feed.unsubscribe
        )

    async def list_resources(self) -> list[MCPResource]:
        listed = await super().list_resources()
        paths = await anyio.to_thread.run_sync(self.hub.docs.list)  # up to 100,000 paths
        return listed + [MCPResource(uri=doc_uri(p), name=p, mime_type=mime_type(p)) for p in paths]

    async def read_resource(
        self, uri: Any, context: Context[Any, Any] | None = None
    ) -> Iterable[ReadResourceContents] | InputRequiredResult:
        path = doc_path(str(uri))
        if path is None:
            return await super().read_resource(uri, context)
        text = await self._read(path)
        return [ReadResourceContents(content=text, mime_type=mime_type(path))]

    async def _read(self, path: str) -> str:
        try:
            doc = self.hub.docs.get(path)  # one store read, GIL released (as the tools do)
        except NotFoundError as e:
            raise ResourceNotFoundError(f"NotFoundError: {e}") from e
        except (ZerolagError, ValueError, OSError) as e:
            raise ResourceError(f"{type(e).__name__}: {e}") from e
        return doc.text

    async def _read_template(self, path: str) -> str:
        # Listed by resources/templates/list; reads go through read_resource above.
        return await self._read(path)


def create_server(hub: Hub, *, read_only: bool = False, name: str = "zerolag") -> ZerolagMCPServer:
    """The MCP server on ``hub`` (not started: ``server.run()`` serves stdio, and
    ``mcp.Client(server)`` talks to it in-process)."""
    return ZerolagMCPServer(hub, read_only=read_only, name=name)


def _parse_http(spec: str) -> tuple[str, int]:
    host, sep, port = spec.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise SystemExit(f"zerolag mcp: --http wants HOST:PORT, got {spec!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _check_bind(host: str, token: str | None) -> None:
    """Any bind beyond this machine needs a token: every tool can read or write the store."""
    if token is None and host not in _LOOPBACK and not host.startswith("127."):
        raise SystemExit(
            f"zerolag mcp: serving on {host} (not this machine only) needs --token (or "
            "$ZEROLAG_MCP_TOKEN): every request must then carry 'Authorization: Bearer <token>'"
        )
    if token is not None and len(token) < 16:
        raise SystemExit("zerolag mcp: --token must be at least 16 characters")


def bearer_guard(app: Any, token: str) -> Any:
    """``app`` (ASGI) answering 401 to any HTTP request without ``Authorization: Bearer
    <token>`` (compared in constant time)."""
    want = f"Bearer {token}".encode()

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            got = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(got, want):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"text/plain"),
                            (b"www-authenticate", b"Bearer"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": b"unauthorized\n"})
                return
        await app(scope, receive, send)

    return guarded


async def _serve_http(server: Any, host: str, port: int, token: str | None) -> None:
    import uvicorn

    app = server.streamable_http_app(host=host)
    if token is not None:
        app = bearer_guard(app, token)
    await uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning")).serve()


def _start_sync(hub: Hub, root: Path, err: TextIO) -> bool:
    """Starts the file sync of ``root`` so files edited on disk reach the store (and the
    clients); False if another process (``zerolag sync``, another server) already runs it."""
    try:
        hub.sync.start()
    except ConflictError as e:
        print(f"zerolag mcp: file sync of {root} runs elsewhere ({e})", file=err, flush=True)
        return False
    return True


def serve(
    hub: Hub,
    *,
    root: str | os.PathLike[str] = ".",
    http: str | None = None,
    read_only: bool = False,
    sync: bool | None = None,
    token: str | None = None,
    err: TextIO = sys.stderr,
) -> None:
    """Runs the server until the client goes away (stdio) or Ctrl-C (``http="HOST:PORT"``:
    streamable HTTP at ``http://HOST:PORT/mcp``; a host other than this machine's loopback
    needs ``token``, which every request must then carry as a bearer token). ``sync``: run
    the file sync of ``root`` meanwhile (None: when ``root`` has a contexts/ or workflows/
    directory)."""
    if http is not None:
        _check_bind(_parse_http(http)[0], token)
    root = Path(root)
    if sync is None:
        sync = any((root / d).is_dir() for d in ("contexts", "workflows"))
    logging.basicConfig(level=logging.WARNING, stream=err)
    server = create_server(hub, read_only=read_only)
    synced = sync and _start_sync(hub, root, err)
    try:
        if http is None:
            server.run("stdio")
        else:
            host, port = _parse_http(http)
            print(
                f"zerolag mcp: http://{host}:{port}/mcp ({hub.backend}, namespace "
                f"{hub.namespace}, {len(server.tools)} tools)",
                file=err,
                flush=True,
            )
            anyio.run(_serve_http, server, host, port, token)
    finally:
        if synced:
            hub.sync.stop()

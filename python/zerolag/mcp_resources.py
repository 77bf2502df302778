"""The documents of ``hub.docs`` (contexts/, workflows/) as MCP resources for ``zerolag mcp``
(:mod:`zerolag.mcp_server`): their URIs, and the follower that tells subscribed clients when
one changes.

A document's URI is ``zerolag://docs/<path>`` (the path percent-encoded where it must be).
Changes come from the hub's change feed (capability ``docs``), so a write through any process
or API reaches the clients, and so does a file edited on disk once the file sync
(``hub.sync``) has brought it into the store. Each changed document is announced both ways a
client may have asked: a ``subscriptions/listen`` stream (protocol 2026-07-28 and later, through
the server's subscription bus) and ``resources/subscribe`` (earlier protocol versions); a
created or deleted document also announces that the resource list changed (listen streams).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote, unquote

import anyio
import anyio.from_thread
import anyio.lowlevel
from mcp.server.context import ServerRequestContext
from mcp.server.session import ServerSession
from mcp.server.subscriptions import (
    InMemorySubscriptionBus,
    ResourcesListChanged,
    ResourceUpdated,
)
from mcp.types import EmptyResult, SubscribeRequestParams, UnsubscribeRequestParams

from ._core import Change, Hub
from .exceptions import ClosedError, RescanRequired, ZerolagError

__all__ = ["DOC_PREFIX", "DocFeed", "doc_path", "doc_uri", "mime_type"]

log = logging.getLogger("zerolag.mcp")

DOC_PREFIX = "zerolag://docs/"


def doc_uri(path: str) -> str:
    """The resource URI of the document at ``path``."""
    return DOC_PREFIX + quote(path, safe="/")


def doc_path(uri: str) -> str | None:
    """The document path a URI names, or None if it is not a document URI."""
    if not uri.startswith(DOC_PREFIX):
        return None
    return unquote(uri[len(DOC_PREFIX) :])


def mime_type(path: str) -> str:
    return "application/json" if path.endswith(".json") else "application/yaml"


class DocFeed:
    """Follows the change feed while the server serves (its lifespan enters :meth:`running`:
    once per connection over stdio and in-process, once for all sessions over HTTP) and
    announces changed documents.

    The feed is read on one thread with a short blocking read; what it finds is handed to the
    event loop the server runs on."""

    def __init__(self, hub: Hub, bus: InMemorySubscriptionBus, *, poll: float = 0.25) -> None:
        self._hub = hub
        self._bus = bus
        self._poll = poll
        self._refs = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # resources/subscribe (protocol versions before 2026-07-28): URI -> connection key ->
        # a session of that connection; the connections, kept while they are open.
        self._legacy: dict[str, dict[int, ServerSession]] = {}
        self._connections: dict[int, object] = {}

    # ---- resources/subscribe and resources/unsubscribe -----------------------------------
    #
    # The SDK hands a handler a per-request ServerSession; its connection is what identifies
    # the subscriber (the SDK keeps it as ``ServerSession._connection``; without it, each
    # request's session stands for itself). Notifications go out on the connection's own
    # channel, so any of its request sessions can send them after the request ended.

    async def subscribe(
        self, ctx: ServerRequestContext[Any, Any], params: SubscribeRequestParams
    ) -> EmptyResult:
        conn = getattr(ctx.session, "_connection", ctx.session)
        key = id(conn)
        if key not in self._connections:
            self._connections[key] = conn
            stack = getattr(conn, "exit_stack", None)
            if stack is not None:  # forget its subscriptions when the connection closes
                stack.callback(self._forget, key)
        self._legacy.setdefault(str(params.uri), {})[key] = ctx.session
        return EmptyResult()

    async def unsubscribe(
        self, ctx: ServerRequestContext[Any, Any], params: UnsubscribeRequestParams
    ) -> EmptyResult:
        key = id(getattr(ctx.session, "_connection", ctx.session))
        subscribers = self._legacy.get(str(params.uri))
        if subscribers is not None:
            subscribers.pop(key, None)
            if not subscribers:
                del self._legacy[str(params.uri)]
        return EmptyResult()

    def subscribers(self, uri: str) -> int:
        """Connections subscribed to ``uri`` through resources/subscribe."""
        return len(self._legacy.get(uri, ()))

    def _forget(self, key: int) -> None:
        self._connections.pop(key, None)
        for uri in list(self._legacy):
            self._legacy[uri].pop(key, None)
            if not self._legacy[uri]:
                del self._legacy[uri]

    # ---- following -----------------------------------------------------------------------

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Follows the feed until the last holder leaves."""
        self._refs += 1
        if self._refs == 1:
            self._start()
        try:
            yield
        finally:
            self._refs -= 1
            if self._refs == 0:
                await self._halt()

    def _start(self) -> None:
        # The cursor is taken here, before any client can subscribe: nothing written after
        # the first connection opened is missed.
        cursor = self._hub.changes.cursor()
        token = anyio.lowlevel.current_token()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._follow,
            args=(cursor, token, self._stop),
            name="zerolag-mcp-docs",
            daemon=True,
        )
        self._thread.start()

    async def _halt(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            await anyio.to_thread.run_sync(thread.join)

    def _follow(self, cursor: str, token: Any, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                page = self._hub.changes.read(cursor, limit=500, block=self._poll)
            except RescanRequired as e:
                # Changes were missed (trimmed, or the namespace cleared): every document may
                # have changed.
                cursor = e.cursor
                try:
                    paths = self._hub.docs.list()
                except (ZerolagError, OSError) as err:
                    log.warning("zerolag mcp: listing documents after a gap failed: %s", err)
                    paths = []
                self._hand_over(token, paths, listed=True, stop=stop)
                continue
            except ClosedError:  # the hub was closed under the server
                return
            except (ZerolagError, OSError) as e:
                log.warning("zerolag mcp: reading the change feed failed (retrying): %s", e)
                stop.wait(1.0)
                continue
            cursor = page.cursor
            docs = [c for c in page.changes if c.capability == "docs"]
            if docs:
                self._hand_over(token, _paths(docs), listed=_listing_changed(docs), stop=stop)

    def _hand_over(
        self, token: Any, paths: list[str], *, listed: bool, stop: threading.Event
    ) -> None:
        try:
            anyio.from_thread.run(self._announce, paths, listed, token=token)
        except RuntimeError:
            # The event loop is gone: the server is shutting down.
            stop.set()

    async def _announce(self, paths: list[str], listed: bool) -> None:
        for path in paths:
            uri = doc_uri(path)
            await self._bus.publish(ResourceUpdated(uri=uri))
            for key, session in list(self._legacy.get(uri, {}).items()):
                try:
                    await session.send_resource_updated(uri)
                except Exception as e:  # a connection gone without closing cleanly
                    log.debug("zerolag mcp: dropping a subscriber of %s: %r", uri, e)
                    self._forget(key)
        if listed:
            await self._bus.publish(ResourcesListChanged())


def _paths(changes: Iterable[Change]) -> list[str]:
    """Changed document paths, each once, in feed order."""
    return list(dict.fromkeys(c.id for c in changes))


def _listing_changed(changes: Iterable[Change]) -> bool:
    return any(c.kind != "updated" for c in changes)

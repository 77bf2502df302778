"""The HTTP service as an ASGI app, to mount in your own server (FastAPI, Starlette, any ASGI 3
server): the endpoints of ``zerolag serve`` on a hub you opened.

    from fastapi import FastAPI
    import zerolag, zerolag.http

    hub = zerolag.open("redis://localhost:6379")
    api = FastAPI()
    api.mount("/zerolag", zerolag.http.app(hub))

The JSON endpoints are computed in Rust, and ``/realtime`` streams from the same Rust fan-out
as the standalone server (one follower of the event log per set of channel patterns, shared by
the app's clients; a client whose buffer fills is dropped): Python only writes the ready-made
frames. It needs an asyncio event loop (uvicorn, hypercorn on asyncio). See docs/http.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from . import _core

__all__ = ["app", "App"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Largest request body accepted (these are GET endpoints).
MAX_BODY = 4096

_JSON = [(b"content-type", b"application/json")]
#: Seconds between looks at whether a stream was dropped as too slow.
_DROP_CHECK = 0.5


class App:
    """An ASGI 3 app serving one hub (made by :func:`app`)."""

    def __init__(
        self,
        hub: _core.Hub | _core.AsyncHub,
        *,
        token: str | None = None,
        ping: float = 15.0,
        buffer: int = 1024,
        max_clients: int = 1000,
    ) -> None:
        self._core = _core.HttpApp(hub, ping=ping, buffer=buffer, max_clients=max_clients)
        self._token = token.encode() if token else None

    def stats(self) -> dict[str, int]:
        """Realtime clients now, event log followers now, clients dropped as too slow."""
        return self._core.stats()

    def close(self) -> None:
        """Ends every realtime stream (also done at the server's lifespan shutdown)."""
        self._core.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v for k, v in scope.get("headers", [])}
        if scope["method"] == "OPTIONS" or scope["method"] not in ("GET", "HEAD"):
            await _reply(send, 405, {"error": "method_not_allowed", "message": "GET only"})
            return
        length = headers.get("content-length", b"0")
        if not length.isdigit() or int(length) > MAX_BODY:
            msg = f"request bodies are limited to {MAX_BODY} bytes"
            await _reply(send, 413, {"error": "too_large", "message": msg})
            return
        qs = scope.get("query_string", b"").decode("latin-1")
        if self._token is not None and not self._authorized(headers, qs):
            await _reply(
                send,
                401,
                {"error": "unauthorized", "message": "this service needs a bearer token"},
                [(b"www-authenticate", b"Bearer")],
            )
            return
        path = _route_path(scope)
        if path in ("", "/"):
            await _send(
                send,
                200,
                [(b"content-type", b"text/html; charset=utf-8")],
                self._core.page.encode(),
            )
        elif path == "/realtime":
            await self._realtime(headers, qs, receive, send)
        else:
            res = await self._core.get(path, qs)
            if res is None:
                await _reply(send, 404, {"error": "not_found", "message": "no such endpoint"})
            else:
                await _send(send, res[0], _JSON, res[1])

    def _authorized(self, headers: dict[str, bytes], qs: str) -> bool:
        assert self._token is not None
        given = b""
        auth = headers.get("authorization", b"")
        scheme, _, rest = auth.partition(b" ")
        if scheme.lower() == b"bearer":
            given = rest.strip()
        elif not auth:
            # A browser's EventSource cannot set headers: the token may come as access_token.
            given = next((v for k, v in parse_qsl(qs) if k == "access_token"), "").encode()
        return hmac.compare_digest(given, self._token)

    async def _realtime(
        self, headers: dict[str, bytes], qs: str, receive: Receive, send: Send
    ) -> None:
        pairs = parse_qsl(qs, keep_blank_values=True)
        channels = [v for k, v in pairs if k == "channel"]
        after = headers.get("last-event-id", b"").decode("latin-1") or None
        if after is None:
            after = next((v for k, v in reversed(pairs) if k == "after"), None) or None
        status, body, stream = await self._core.realtime(channels, after)
        if stream is None:
            await _send(send, status, _JSON, body)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream"),
                    (b"cache-control", b"no-cache"),
                    (b"x-accel-buffering", b"no"),
                ],
            }
        )

        async def pump() -> None:
            async for chunk in stream:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})

        async def disconnected() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        async def dropped() -> None:
            # A client too slow for its buffer is dropped by the fan-out; here the pump may be
            # stuck in `send` (the server waits for the client to read), so look from aside.
            while not stream.dropped:
                await asyncio.sleep(_DROP_CHECK)

        tasks = [asyncio.ensure_future(f()) for f in (pump, disconnected, dropped)]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(BaseException):
                    await t
        # The stream ended (dropped as too slow, the client left, or the service stopped):
        # end the response; a browser reconnects with Last-Event-ID. A client that does not
        # read gets no more than a second of waiting.
        with contextlib.suppress(Exception):
            end = send({"type": "http.response.body", "body": b"", "more_body": False})
            await asyncio.wait_for(end, _DROP_CHECK * 2)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def app(
    hub: _core.Hub | _core.AsyncHub,
    *,
    token: str | None = None,
    ping: float = 15.0,
    buffer: int = 1024,
    max_clients: int = 1000,
) -> App:
    """The ASGI app of the HTTP service on ``hub``: ``/status``, ``/events``, ``/stream``,
    ``/analytics``, ``/realtime`` (server-sent events) and the dashboard at ``/``.

    ``token``: if given, every request must carry ``Authorization: Bearer <token>`` (compared
    in constant time; 401 otherwise). Usually the host app does its own auth and CORS
    (e.g. Starlette's ``CORSMiddleware``) and leaves this None. ``ping``: seconds between
    keep-alive comments; ``buffer``: frames a realtime client may have waiting before it is
    dropped as too slow; ``max_clients``: realtime clients at once (503 beyond).
    """
    return App(hub, token=token, ping=ping, buffer=buffer, max_clients=max_clients)


def _route_path(scope: Scope) -> str:
    """The path inside the app: mounted under a prefix, the server's ``path`` holds the
    ``root_path`` too (as Starlette's ``Mount`` sets them)."""
    path: str = scope.get("path", "/")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path or "/"


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _reply(
    send: Send,
    status: int,
    v: dict[str, Any],
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    await _send(send, status, _JSON + (extra or []), json.dumps(v).encode())

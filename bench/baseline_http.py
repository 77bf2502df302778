"""What a Python developer would run instead of ``zerolag serve`` for live events over SSE:
sse-starlette on uvicorn, fed by Redis pub/sub through redis-py (hiredis).

Written the way a competent developer would:

* ONE shared pub/sub connection per server process (not one per browser), read by one task
  started with the app, which subscribes to a channel when its first client arrives.
* Each message is decoded and turned into the event's JSON once, then fanned out to
  per-client bounded ``asyncio.Queue``\\ s; a client whose queue is full is dropped (its
  stream ends) instead of letting memory grow.
* ``EventSourceResponse`` with a keep-alive ping; uvicorn with uvloop and httptools (the
  ``uvicorn[standard]`` install), access log off.

It does less than ``zerolag serve``: pub/sub is fire-and-forget, so a client that reconnects
with ``Last-Event-ID`` gets nothing it missed, and there are no channel patterns.

    python bench/baseline_http.py REDIS_URL PORT    # serves until stdin closes
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

QUEUE = 1000  # events a client may lag behind before it is dropped
PING_S = 15


class FanOut:
    """One pub/sub reader, many bounded per-client queues."""

    def __init__(self, url: str) -> None:
        import redis.asyncio as aioredis

        self.redis = aioredis.from_url(url)
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.clients: dict[str, set[asyncio.Queue[Any]]] = {}
        self.seq = 0
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self._read())

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.pubsub.aclose()
        await self.redis.aclose()

    async def join(self, channel: str) -> asyncio.Queue[Any]:
        q: asyncio.Queue[Any] = asyncio.Queue(maxsize=QUEUE)
        if channel not in self.clients:
            self.clients[channel] = set()
            await self.pubsub.subscribe(channel)
        self.clients[channel].add(q)
        return q

    def leave(self, channel: str, q: asyncio.Queue[Any]) -> None:
        self.clients.get(channel, set()).discard(q)

    async def _read(self) -> None:
        while True:
            if not self.pubsub.subscribed:
                await asyncio.sleep(0.01)
                continue
            msg = await self.pubsub.get_message(timeout=1.0)
            if msg is None or msg["type"] != "message":
                continue
            channel = msg["channel"].decode()
            self.seq += 1
            event = {
                "id": str(self.seq),
                "event": channel,
                "data": json.dumps(
                    {
                        "id": str(self.seq),
                        "channel": channel,
                        "data": json.loads(msg["data"]),
                        "ts": time.time(),
                    }
                ),
            }
            for q in list(self.clients.get(channel, ())):
                try:
                    q.put_nowait(event)
                except asyncio.QueueFull:  # a slow client: drop it, do not buffer without end
                    self.leave(channel, q)
                    with contextlib.suppress(asyncio.QueueEmpty):
                        q.get_nowait()
                    q.put_nowait(None)


def make_app(url: str) -> Any:
    from sse_starlette.sse import EventSourceResponse
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    fan = FanOut(url)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        await fan.start()
        yield
        await fan.stop()

    async def realtime(request: Request) -> Any:
        channel = request.query_params.get("channel", "")
        if not channel:
            return JSONResponse({"error": "channel is required"}, status_code=400)
        q = await fan.join(channel)

        async def events() -> AsyncIterator[dict[str, Any]]:
            try:
                while True:
                    event = await q.get()
                    if event is None:
                        return
                    yield event
            finally:
                fan.leave(channel, q)

        return EventSourceResponse(events(), ping=PING_S)

    async def status(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True, "clients": sum(len(s) for s in fan.clients.values())})

    return Starlette(
        routes=[Route("/realtime", realtime), Route("/status", status)], lifespan=lifespan
    )


def publish(r: Any, channel: str, data: Any) -> None:
    """The publisher's side: one ``PUBLISH`` of the JSON (``r`` a ``redis.Redis``)."""
    r.publish(channel, json.dumps(data))


def main(url: str, port: int) -> None:
    import threading

    import http_clients
    import uvicorn

    http_clients.raise_fd_limit()
    config = uvicorn.Config(
        make_app(url),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        backlog=4096,
    )
    server = uvicorn.Server(config)

    def stop_on_eof() -> None:
        sys.stdin.read()
        server.should_exit = True

    threading.Thread(target=stop_on_eof, daemon=True).start()
    server.run()


if __name__ == "__main__":
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    main(sys.argv[1], int(sys.argv[2]))

"""Baselines for the `bus` suite: what a Python developer would write with redis-py.

* :class:`ContextSync`: the ContextSync design (a stream per agent, readers polling with
  XRANGE from their last id, an acknowledgement key per message) in redis-py: one stream
  per agent, ``XADD ... MAXLEN ~ 10000`` per share, pending read with ``XRANGE`` (from the
  last id this reader saw, so acked messages are not read again), an ack is
  ``SETEX brain:context:ack:<id> 86400 <agent>``; ``is_acknowledged`` is a ``GET``.
* :class:`GroupBus`: a consumer-group version a competent developer would write: ``XADD``
  with ``MAXLEN ~``, ``XREADGROUP`` (``BLOCK`` on the reader's own connection), and one
  pipeline of ``XACK`` + ``XDEL`` per batch of acks.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import redis


class ContextSync:
    """The ContextSync stream bus in redis-py."""

    def __init__(self, r: redis.Redis, prefix: str = "brain:context") -> None:
        self.r = r
        self.prefix = prefix
        self.max_len = 10_000
        self.cursor: dict[str, str] = {}

    def share(self, source: str, target: str, payload: Any, priority: str = "medium") -> str:
        mid = uuid.uuid4().hex
        self.r.xadd(
            f"{self.prefix}:stream:{target}",
            {
                "id": mid,
                "fromAgent": source,
                "toAgent": target,
                "timestamp": str(time.time()),
                "payload": json.dumps(payload),
                "priority": priority,
            },
            maxlen=self.max_len,
            approximate=True,
        )
        return mid

    def get_pending(self, agent: str, count: int = 10) -> list[dict[str, Any]]:
        start = self.cursor.get(agent, "-")
        rows = self.r.xrange(f"{self.prefix}:stream:{agent}", min=start, max="+", count=count)
        if rows:
            self.cursor[agent] = "(" + rows[-1][0].decode()
        out = []
        for _sid, f in rows:
            out.append(
                {
                    "id": f[b"id"].decode(),
                    "fromAgent": f[b"fromAgent"].decode(),
                    "payload": json.loads(f[b"payload"]),
                    "priority": f[b"priority"].decode(),
                }
            )
        return out

    def acknowledge(self, message_id: str, agent: str) -> bool:
        self.r.setex(f"{self.prefix}:ack:{message_id}", 86_400, agent)
        return True

    def is_acknowledged(self, message_id: str) -> bool:
        return self.r.get(f"{self.prefix}:ack:{message_id}") is not None


class GroupBus:
    """Consumer groups with redis-py, pipelined where natural."""

    def __init__(self, r: redis.Redis, reader: redis.Redis, prefix: str = "cg") -> None:
        self.r = r
        self.reader = reader  # its own connection: XREADGROUP BLOCK holds it
        self.prefix = prefix

    def key(self, agent: str) -> str:
        return f"{self.prefix}:in:{agent}"

    def ensure_group(self, agent: str, group: str) -> None:
        try:
            self.r.xgroup_create(self.key(agent), group, id="0", mkstream=True)
        except redis.ResponseError as e:
            if "BUSYGROUP" not in str(e):
                raise

    def share(self, source: str, target: str, payload: Any, priority: str = "medium") -> str:
        sid = self.r.xadd(
            self.key(target),
            {"s": source, "p": priority, "d": json.dumps(payload)},
            maxlen=100_000,
            approximate=True,
        )
        return sid.decode()

    def share_many(self, source: str, target: str, payloads: list[Any]) -> list[str]:
        """One pipeline of XADDs (no transaction: each XADD is atomic on its own)."""
        p = self.r.pipeline(transaction=False)
        for x in payloads:
            p.xadd(
                self.key(target),
                {"s": source, "p": "medium", "d": json.dumps(x)},
                maxlen=100_000,
                approximate=True,
            )
        return [sid.decode() for sid in p.execute()]

    def consume(
        self, agent: str, group: str, consumer: str, count: int = 10, block_ms: int | None = None
    ) -> list[tuple[str, Any]]:
        got = self.reader.xreadgroup(
            group, consumer, {self.key(agent): ">"}, count=count, block=block_ms
        )
        if not got:
            return []
        return [(sid.decode(), json.loads(f[b"d"])) for sid, f in got[0][1]]

    def ack(self, agent: str, group: str, ids: list[str]) -> None:
        p = self.r.pipeline(transaction=False)
        p.xack(self.key(agent), group, *ids)
        p.xdel(self.key(agent), *ids)
        p.execute()

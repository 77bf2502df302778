"""The chat history a competent developer writes on redis-py (hiredis), the baseline of
``hub.chat`` in bench/analytics_chat.py: one stream per conversation, ``XADD ... MAXLEN ~
1000`` to append, ``XREVRANGE ... COUNT n`` for the newest messages (decoded into dicts, oldest
first), a pipeline when a turn appends and reads in one go, and a reader on its own connection
blocking in ``XREAD BLOCK`` to follow a conversation live."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import redis

MAX_LEN = 1000


class RedisChat:
    """Conversations as Redis streams, keys ``<prefix>chat:<conversation>``."""

    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.prefix = prefix
        self.r = redis.Redis.from_url(url, decode_responses=True)

    def _key(self, conversation: str) -> str:
        return f"{self.prefix}chat:{conversation}"

    @staticmethod
    def _fields(role: str, content: str, meta: Any) -> dict[str, str]:
        f = {"role": role, "content": content}
        if meta is not None:
            f["meta"] = json.dumps(meta)
        return f

    @staticmethod
    def _decode(rows: list[Any]) -> list[dict[str, Any]]:
        return [
            {
                "id": id_,
                "role": f["role"],
                "content": f["content"],
                "meta": json.loads(f["meta"]) if "meta" in f else None,
            }
            for id_, f in rows
        ]

    def append(self, conversation: str, role: str, content: str, meta: Any = None) -> str:
        """One XADD, trimmed approximately (whole radix-tree nodes: cheaper than exact)."""
        out: str = self.r.xadd(
            self._key(conversation),
            self._fields(role, content, meta),  # type: ignore[arg-type]
            maxlen=MAX_LEN,
            approximate=True,
        )
        return out

    def recent(self, conversation: str, n: int = 50) -> list[dict[str, Any]]:
        """The newest ``n`` messages, oldest first."""
        rows = self.r.xrevrange(self._key(conversation), count=n)
        rows.reverse()
        return self._decode(rows)

    def append_and_recent(
        self, conversation: str, role: str, content: str, n: int = 50
    ) -> tuple[str, list[dict[str, Any]]]:
        """A turn in one round trip: XADD and XREVRANGE pipelined (no MULTI: nothing to
        make atomic)."""
        key = self._key(conversation)
        p = self.r.pipeline(transaction=False)
        p.xadd(key, self._fields(role, content, None), maxlen=MAX_LEN, approximate=True)  # type: ignore[arg-type]
        p.xrevrange(key, count=n)
        id_, rows = p.execute()
        rows.reverse()
        return id_, self._decode(rows)

    def follow(self, conversation: str) -> Iterator[dict[str, Any]]:
        """Messages appended from now on, on a connection of its own (XREAD BLOCK holds it)."""
        r = redis.Redis.from_url(self.url, decode_responses=True)
        key, last = self._key(conversation), "$"
        while True:
            got = r.xread({key: last}, block=1000, count=100)
            for _key, rows in got:
                for m in self._decode(rows):
                    last = m["id"]
                    yield m

    def close(self) -> None:
        self.r.close()

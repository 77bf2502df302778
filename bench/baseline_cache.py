"""What a Python user would otherwise write for a tagged cache on Redis with redis-py: values
under ``<prefix>v:<key>`` with ``GET`` / ``SET EX``, and a tag as a set of the keys carrying
it (``SADD`` at write); invalidating a tag reads the set and unlinks every key in it
(``SMEMBERS`` + ``UNLINK`` in pages, then the set), the usual tag-set design."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import redis


class RedisTagCache:
    def __init__(self, r: redis.Redis, prefix: str) -> None:
        self.r = r
        self.prefix = prefix

    def get(self, key: str) -> Any:
        return self.r.get(f"{self.prefix}v:{key}")

    def set(
        self, key: str, value: bytes | str, ttl: int | None = None, tags: Iterable[str] = ()
    ) -> None:
        tags = list(tags)
        if not tags:
            self.r.set(f"{self.prefix}v:{key}", value, ex=ttl)
            return
        p = self.r.pipeline(transaction=False)
        p.set(f"{self.prefix}v:{key}", value, ex=ttl)
        for t in tags:
            p.sadd(f"{self.prefix}t:{t}", key)
        p.execute()

    def set_many(self, items: dict[str, bytes | str], tags: Iterable[str] = ()) -> None:
        tags = list(tags)
        p = self.r.pipeline(transaction=False)
        for k, v in items.items():
            p.set(f"{self.prefix}v:{k}", v)
        for t in tags:
            p.sadd(f"{self.prefix}t:{t}", *items)
        p.execute()

    def invalidate_tag(self, tag: str) -> int:
        keys = self.r.smembers(f"{self.prefix}t:{tag}")
        names = [f"{self.prefix}v:{k.decode()}" for k in keys]
        for i in range(0, len(names), 1000):
            self.r.unlink(*names[i : i + 1000])
        self.r.delete(f"{self.prefix}t:{tag}")
        return len(names)

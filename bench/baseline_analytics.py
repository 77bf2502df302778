"""What a Python user would otherwise write for event analytics and trending boards on Redis
with redis-py: per event, ``HINCRBY`` of an all-time total, of the day's count, of the hour's
count and of each property value's count, and ``PFADD`` of the user to the day's
HyperLogLog, all pipelined (one round trip per batch, or per event for single calls), with
one ``EXPIREAT`` per bucket key touched; unique users over a range are one ``PFCOUNT`` of the
days' keys; a trending board is a sorted set (``ZINCRBY``, ``ZREVRANGE ... WITHSCORES``)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

import redis

DAY = 86400


def _date(at: float) -> str:
    return time.strftime("%Y%m%d", time.gmtime(at))


class RedisAnalytics:
    def __init__(self, r: redis.Redis, prefix: str, retention_days: int = 90) -> None:
        self.r = r
        self.p = prefix
        self.retention = retention_days

    def _queue(self, pipe: Any, ev: Mapping[str, Any], expiring: dict[str, int]) -> None:
        p = self.p
        at = ev.get("at") or time.time()
        name = ev["event"]
        d = _date(at)
        hour = time.strftime("%H", time.gmtime(at))
        exp = (int(at) // DAY + 1 + self.retention) * DAY
        pipe.hincrby(f"{p}t", name, 1)
        pipe.hincrby(f"{p}d:{d}", name, 1)
        pipe.hincrby(f"{p}h:{d}:{name}", hour, 1)
        keys = [f"{p}d:{d}", f"{p}h:{d}:{name}"]
        for k, v in (ev.get("props") or {}).items():
            pipe.hincrby(f"{p}p:{d}:{name}", f"{k}={v}", 1)
            keys.append(f"{p}p:{d}:{name}")
        if ev.get("user") is not None:
            pipe.pfadd(f"{p}u:{d}:{name}", ev["user"])
            keys.append(f"{p}u:{d}:{name}")
        for k in keys:
            expiring[k] = exp

    def track(self, ev: Mapping[str, Any]) -> None:
        self.track_many([ev])

    def track_many(self, events: Iterable[Mapping[str, Any]]) -> None:
        pipe = self.r.pipeline(transaction=False)
        expiring: dict[str, int] = {}
        for ev in events:
            self._queue(pipe, ev, expiring)
        for k, at in expiring.items():
            pipe.expireat(k, at)
        pipe.execute()

    def uniques(self, event: str, since: float, until: float) -> int:
        days = range(int(since) // DAY, int(until) // DAY + 1)
        return int(self.r.pfcount(*[f"{self.p}u:{_date(d * DAY)}:{event}" for d in days]))

    def bump(self, board: str, item: str, by: float = 1.0) -> float:
        return float(self.r.zincrby(f"{self.p}b:{board}", by, item))

    def top(self, board: str, n: int = 10) -> list[tuple[bytes, float]]:
        return self.r.zrevrange(f"{self.p}b:{board}", 0, n - 1, withscores=True)

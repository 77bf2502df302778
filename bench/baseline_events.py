"""What a Python developer would write instead of ``hub.events``: a durable, bounded log with
live readers.

* Redis: redis-py (hiredis). Publish is one ``XADD ... MAXLEN ~ 10000``; a reader loops on
  ``XREAD BLOCK`` from the last id it saw, which both resumes and waits without polling.
* Embedded: the stdlib ``sqlite3`` in WAL mode; a reader polls ``SELECT ... WHERE seq > ?``
  every millisecond when it finds nothing (there is no cross-process wake-up in sqlite3).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

MAX_LEN = 10_000


class RedisLog:
    def __init__(self, url: str, namespace: str) -> None:
        import redis

        self.r = redis.Redis.from_url(url)
        self.key = f"bench:{{{namespace}}}:log"

    def publish(self, channel: str, data: Any) -> str:
        fields = {"c": channel, "d": json.dumps(data)}
        return self.r.xadd(self.key, fields, maxlen=MAX_LEN, approximate=True).decode()

    def subscribe(self, after: str = "$") -> Iterator[tuple[str, Any]]:
        last = after
        while True:
            for _key, entries in self.r.xread({self.key: last}, block=5000, count=256) or []:
                for eid, fields in entries:
                    last = eid
                    yield fields[b"c"].decode(), json.loads(fields[b"d"])

    def close(self) -> None:
        self.r.delete(self.key)
        self.r.close()


class SqliteLog:
    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(root / "baseline-events.db", timeout=10, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS events "
            "(seq INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL, data TEXT NOT NULL)"
        )

    def publish(self, channel: str, data: Any) -> int:
        with self.db:
            cur = self.db.execute(
                "INSERT INTO events (channel, data) VALUES (?, ?)", (channel, json.dumps(data))
            )
            seq = int(cur.lastrowid or 0)
            if seq > MAX_LEN and seq % 100 == 0:
                self.db.execute("DELETE FROM events WHERE seq <= ?", (seq - MAX_LEN,))
        return seq

    def last_seq(self) -> int:
        row = self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
        return int(row[0])

    def subscribe(
        self, after: int | None = None, sleep: Callable[[float], None] = time.sleep
    ) -> Iterator[tuple[str, Any]]:
        last = self.last_seq() if after is None else after
        while True:
            rows = self.db.execute(
                "SELECT seq, channel, data FROM events WHERE seq > ? ORDER BY seq LIMIT 256",
                (last,),
            ).fetchall()
            if not rows:
                sleep(0.001)
                continue
            for seq, channel, data in rows:
                last = seq
                yield channel, json.loads(data)

    def close(self) -> None:
        self.db.close()

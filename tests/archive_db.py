"""The archive tests' own view of the PostgreSQL tables (psycopg, not the library), and small
helpers to make load and wait for it. The tables are the ones docs/archive.md documents:
``zl_<source>`` with the namespace in ``ns`` and each source's natural id as its key."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg

# Source name -> (table, natural id columns), as in src/archive/model.rs and docs/archive.md.
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "messages": ("zl_messages", ("id",)),
    "acks": ("zl_acks", ("message_id",)),
    "dead_letters": ("zl_dead_letters", ("entry",)),
    "events": ("zl_events", ("id",)),
    "jobs": ("zl_jobs", ("id", "finished_ms")),
    "tasks": ("zl_tasks", ("id", "version")),
    "patterns": ("zl_patterns", ("id", "observations", "last_ms")),
}


def query(dsn: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Runs one statement on a connection of its own; its rows."""
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as c:
        return list(c.execute(sql, params).fetchall())  # type: ignore[arg-type]


def count(dsn: str, source: str, ns: str) -> int:
    """Rows of ``source`` archived for namespace ``ns``."""
    table, _ = TABLES[source]
    return int(query(dsn, f"SELECT count(*) FROM {table} WHERE ns = %s", ns)[0][0])


def keys(dsn: str, source: str, ns: str) -> list[tuple[Any, ...]]:
    """The natural ids of ``source``'s archived rows of ``ns`` (a list: duplicates show)."""
    table, cols = TABLES[source]
    return query(dsn, f"SELECT {', '.join(cols)} FROM {table} WHERE ns = %s", ns)


def ids(dsn: str, source: str, ns: str) -> list[str]:
    """The first natural id column of every archived row (a list: duplicates show)."""
    return [str(k[0]) for k in keys(dsn, source, ns)]


def try_count(dsn: str, source: str, ns: str) -> int:
    """``count``, or -1 while PostgreSQL or the table is not there."""
    try:
        return count(dsn, source, ns)
    except psycopg.Error:
        return -1


def wait_for(cond: Callable[[], Any], timeout: float, what: str, step: float = 0.05) -> Any:
    """Polls ``cond`` until it returns something true; its value. Fails after ``timeout``
    seconds (a bound on a hang, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)


def lost_metric(text: str, source: str) -> float:
    """The ``archive_lost_total`` sample of ``source`` in Prometheus text (0 if absent)."""
    m = re.search(r'archive_lost_total\{[^}]*source="' + source + r'"[^}]*\}\s+([0-9.e+]+)', text)
    return float(m.group(1)) if m else 0.0


class Load:
    """Shares bus messages (and acks every other one, and publishes an event every tenth) on
    its own hub handle in a thread until stopped; records every id that was shared, acked and
    published, and every error. ``pause_every`` seconds between rounds of ``batch`` shares."""

    def __init__(self, hub: Any, *, batch: int = 20, pause: float = 0.01) -> None:
        self.hub = hub
        self.batch = batch
        self.pause = pause
        self.shared: list[str] = []
        self.acked: list[str] = []
        self.events: list[str] = []
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        hub.bus.register("load-a")
        hub.bus.register("load-b")

    def start(self) -> Load:
        self._thread.start()
        return self

    def _run(self) -> None:
        i = 0
        try:
            while not self._stop.is_set():
                items = [
                    {"source": "load-a", "target": "load-b", "payload": {"i": i + k, "w": "load"}}
                    for k in range(self.batch)
                ]
                msgs = self.hub.bus.share_many(items)
                self.shared += [m.id for m in msgs]
                half = [m.id for m in msgs[::2]]
                self.hub.bus.ack_many("load-b", half)
                self.acked += half
                self.events.append(self.hub.events.publish("load", {"i": i}).id)
                i += self.batch
                time.sleep(self.pause)
        except BaseException as e:  # surfaced by stop()
            self.errors.append(e)

    def wait_shared(self, n: int, timeout: float = 60.0) -> None:
        """Waits until at least ``n`` more messages than now were shared."""
        goal = len(self.shared) + n
        wait_for(lambda: len(self.shared) >= goal or self.errors, timeout, f"{n} shares")
        assert not self.errors, self.errors

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        assert not self._thread.is_alive(), "the load thread hangs"
        assert not self.errors, f"the load failed: {self.errors!r}"

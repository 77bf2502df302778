"""What a Python developer would write to archive a Redis bus into PostgreSQL without
zerolag: read the history stream after a cursor with redis-py (``XRANGE``, 5,000 entries at a
time), turn each entry into a row, write the rows with psycopg 3 and advance the cursor in
Redis only after PostgreSQL committed; the same rows, table and indexes as zerolag's archive
(``zl_messages``, created by zerolag's own migration), idempotent the same way (a batch
written twice leaves one copy: ``ON CONFLICT DO NOTHING`` on the natural id).

Two writers, both the way psycopg's documentation recommends for bulk writes:

* ``executemany``: one ``INSERT ... ON CONFLICT DO NOTHING`` per row, sent by
  ``cursor.executemany`` (psycopg 3 pipelines it: one round trip per batch, not per row);
* ``copy``: ``COPY`` (binary) into a temporary staging table, then one
  ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` from it (COPY itself cannot skip rows
  that are there already, and exactly-once needs that).

And the floor: PostgreSQL's own ``COPY ... FROM '<file>'`` of the same rows, read by the
server from a file in its own folder, no client in the way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import redis
from psycopg.types.json import Jsonb

COLUMNS = ("ns", "id", "at_ms", "sender", "recipients", "kind", "priority", "broadcast", "payload")
BATCH = 5_000


def hist_key(ns: str) -> str:
    """The bus history stream of namespace ``ns`` (docs/keys.md)."""
    return f"zl:{{{ns}:bus}}:hist"


def cursor_key(ns: str) -> str:
    """Where the baseline keeps its own cursor (beside the stream, same slot)."""
    return f"zl:{{{ns}:bus}}:bench-archived"


def row(ns: str, fields: dict[bytes, bytes]) -> tuple[Any, ...]:
    """One ``zl_messages`` row from a history stream entry."""
    d = json.loads(fields[b"d"])
    targets = fields.get(b"t", b"").decode()
    recipients = targets.split(",") if targets else []
    return (
        ns,
        d["id"],
        int(d["id"].split("-", 1)[0]),  # ids are <ms>-<seq>: the time shared
        d["source"],
        recipients,
        d.get("kind"),
        d["priority"],
        bool(d.get("broadcast")),
        Jsonb(d["payload"]),
    )


def reset(redis_url: str, ns: str) -> None:
    """Forgets the baseline's cursor: the next archiver starts from the oldest entry."""
    r = redis.Redis.from_url(redis_url)
    r.delete(cursor_key(ns))
    r.close()


def read_batches(r: redis.Redis, ns: str, batch: int = BATCH) -> Iterator[tuple[str, list[Any]]]:
    """Batches of rows after the stored cursor, with the entry id to commit after each."""
    key = hist_key(ns)
    while True:
        after = r.get(cursor_key(ns))
        start = "(" + after.decode() if after else "-"
        entries = r.xrange(key, min=start, max="+", count=batch)
        if not entries:
            return
        last = entries[-1][0].decode()
        yield last, [row(ns, f) for _id, f in entries]


INSERT = (
    f"INSERT INTO zl_messages ({', '.join(COLUMNS)}) "
    f"VALUES ({', '.join(['%s'] * len(COLUMNS))}) ON CONFLICT DO NOTHING"
)


def archive_executemany(redis_url: str, dsn: str, ns: str) -> int:
    """Archives the namespace's bus history with ``executemany``; returns rows read."""
    r = redis.Redis.from_url(redis_url)
    n = 0
    with psycopg.connect(dsn) as conn:
        for last, rows in read_batches(r, ns):
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(INSERT, rows)
            r.set(cursor_key(ns), last)  # only after the commit
            n += len(rows)
    r.close()
    return n


def archive_copy(redis_url: str, dsn: str, ns: str) -> int:
    """Archives the namespace's bus history with binary ``COPY`` through a staging table;
    returns rows read."""
    r = redis.Redis.from_url(redis_url)
    n = 0
    cols = ", ".join(COLUMNS)
    with psycopg.connect(dsn) as conn:
        # the staging table without the generated columns (COPY fills only these)
        conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS stage_messages (ns text, id text, at_ms bigint, "
            "sender text, recipients text[], kind text, priority text, broadcast boolean, "
            "payload jsonb) ON COMMIT DELETE ROWS"
        )
        conn.commit()
        types = ["text", "text", "int8", "text", "text[]", "text", "text", "bool", "jsonb"]
        for last, rows in read_batches(r, ns):
            with conn.transaction(), conn.cursor() as cur:
                with cur.copy(f"COPY stage_messages ({cols}) FROM STDIN (FORMAT BINARY)") as cp:
                    cp.set_types(types)
                    for x in rows:
                        cp.write_row(x)
                cur.execute(
                    f"INSERT INTO zl_messages ({cols}) SELECT {cols} FROM stage_messages "
                    "ON CONFLICT DO NOTHING"
                )
            r.set(cursor_key(ns), last)
            n += len(rows)
    r.close()
    return n


def export_rows(dsn: str, ns: str, path: str) -> int:
    """Writes the namespace's archived messages to ``path`` in COPY's text format (the floor's
    input: the very rows the archivers wrote); returns how many."""
    cols = ", ".join(COLUMNS)
    n = 0
    with psycopg.connect(dsn) as conn, conn.cursor() as cur, open(path, "wb") as f:
        q = f"COPY (SELECT {cols} FROM zl_messages WHERE ns = %s ORDER BY at_ms, id) TO STDOUT"
        with cur.copy(q, (ns,)) as cp:
            for data in cp:
                f.write(data)
        n = int(cur.execute("SELECT count(*) FROM zl_messages WHERE ns = %s", (ns,)).fetchone()[0])  # type: ignore[index]
    return n


def copy_from_file(dsn: str, path: str) -> None:
    """PostgreSQL's own ``COPY zl_messages FROM '<path>'`` (the server reads the file), in one
    transaction."""
    with psycopg.connect(dsn) as conn:
        conn.execute(f"COPY zl_messages ({', '.join(COLUMNS)}) FROM '{path}'")  # type: ignore[arg-type]
        conn.commit()

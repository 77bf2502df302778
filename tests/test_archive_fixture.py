"""The PostgreSQL fixture the archive tests stand on (tests/pg.py): a real server, run by an
unprivileged account, fresh databases per test, an outage that refuses connections and a
restart that keeps the data."""

from __future__ import annotations

import os
from typing import Any

import psycopg
import pytest


def test_session_server_runs_unprivileged_and_hands_out_fresh_databases(
    pg_server: Any, pg_dsn: str
) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as c:
        (user, db) = c.execute("SELECT current_user, current_database()").fetchone()  # type: ignore[misc]
        assert user == "postgres" and pg_dsn.endswith("/" + db)
        tables = c.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
        assert tables == (0,), "a fresh database holds no tables"
    assert pg_server.proc is not None
    uid = os.stat(f"/proc/{pg_server.proc.pid}").st_uid
    assert uid != 0, "PostgreSQL refuses to run as root; the fixture runs it unprivileged"


def test_outage_refuses_connections_and_restart_keeps_the_data(make_pg_server: Any) -> None:
    server = make_pg_server()
    db = server.create_db()
    with psycopg.connect(server.dsn(db), autocommit=True) as c:
        c.execute("CREATE TABLE t (x int PRIMARY KEY)")
        c.execute("INSERT INTO t VALUES (1), (2)")
    for fast in (True, False):  # a clean shutdown, then a crash with recovery
        server.stop(fast=fast)
        assert not server.running
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(server.dsn(db), connect_timeout=2)
        server.start()
        with psycopg.connect(server.dsn(db)) as c:
            assert c.execute("SELECT count(*) FROM t").fetchone() == (2,)
    port = server.port
    server.destroy()
    assert not server.dir.exists() and port

"""Writes ``tests/data/store-v8/.zerolag/zerolag.db``: an embedded store made by the code of
2026-12-04 (schema ``user_version`` 8), kept so that a test can check that today's code opens
a database written by an older release and reads everything back.

Run once with that release installed: ``python tests/data/make_store_v8.py``. Not run by the
tests; the database file it wrote is committed.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import zerolag

HERE = Path(__file__).resolve().parent
ROOT = HERE / "store-v8"


def main() -> None:
    shutil.rmtree(ROOT, ignore_errors=True)
    ROOT.mkdir()
    with zerolag.open(root=str(ROOT), namespace="legacy") as hub:
        a = hub.tasks.create(
            "User authentication",
            intent="auth",
            keywords=["jwt", "login"],
            confidence=0.9,
            metadata={"owner": "ana"},
        )
        hub.tasks.create("Password reset", intent="auth", keywords=["email"], related=[a.id])
        hub.docs.put("contexts/app/brief.yaml", {"name": "MyApp", "limits": {"rps": 10}})
        hub.bus.register("planner")
        hub.bus.share("coder", "planner", {"step": 1}, kind="plan")
        hub.bus.share("coder", "planner", {"step": 2}, kind="plan")
        got = hub.bus.consume("planner", group="g", consumer="c1", count=1)
        hub.bus.ack("planner", got[0], group="g", consumer="c1")
        hub.events.publish("task:auth", {"status": "running"})
        hub.jobs.enqueue("email", {"to": "ana"}, idempotency_key="welcome-ana")
        done = hub.jobs.enqueue("resize", {"w": 10})
        claim = hub.jobs.claim("resize", worker="w1")[0]
        assert claim.id == done.id
        hub.jobs.complete(claim, {"ok": True})
        hub.patterns.store("acme/api", "naming", {"style": "snake_case"}, confidence=0.8)
        hub.patterns.track_issue("acme/api", "E501", severity="low", message="line too long")
    # One file, no WAL beside it.
    con = sqlite3.connect(ROOT / ".zerolag" / "zerolag.db")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert con.execute("PRAGMA user_version").fetchone()[0] == 8
    con.execute("PRAGMA journal_mode=DELETE")
    con.close()
    for extra in ("zerolag.db-wal", "zerolag.db-shm"):
        (ROOT / ".zerolag" / extra).unlink(missing_ok=True)


if __name__ == "__main__":
    main()

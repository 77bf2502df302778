"""Every Redis key the task index writes matches docs/keys.md, and nothing is left behind."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import zerolag
from conftest import data_keys

DOC = Path(__file__).resolve().parent.parent / "docs" / "keys.md"


def schema(ns: str) -> list[tuple[re.Pattern[str], str]]:
    """(regex, redis type) for every task key documented in docs/keys.md."""
    text = DOC.read_text()
    rows = re.findall(r"^\| `P ([^`]+)` \| ([a-z ]+) \|", text, flags=re.M)
    assert len(rows) >= 9, "docs/keys.md lost its task key table"
    prefix = re.escape(f"zl:{{{ns}:tasks}}:")
    out = []
    for key, kind in rows:
        pattern = re.escape(key).replace(re.escape("<id>"), r"[A-Za-z0-9_.:/@+=-]+")
        pattern = re.sub(
            r"<[a-z]+>", r"[^\\s*?\\[\\]{}]+", pattern.replace(r"\<", "<").replace(r"\>", ">")
        )
        out.append(
            (
                re.compile(prefix + pattern + "$"),
                {"sorted set": "zset"}.get(kind.strip(), kind.strip()),
            )
        )
    return out


@pytest.mark.parametrize("backend", ["redis", "cluster"])
def test_task_keys_follow_the_documented_schema(
    hub: zerolag.Hub, backend: str, store_servers: list[Any], namespace: str
) -> None:
    hub.tasks.create_many(
        [
            {
                "id": "auth_1",
                "title": "Login flow",
                "description": "JWT and refresh tokens",
                "intent": "auth",
                "keywords": ["jwt", "Security"],
                "patterns": ["feature_dev"],
                "related": ["users/2"],
            },
            {"id": "users/2", "title": "Users", "status": "in progress", "related": ["auth_1"]},
        ]
    )
    hub.tasks.update("auth_1", keywords=["oauth"], status="done")
    hub.tasks.apply_handoff({"taskId": "h:3", "intent": "docs", "keywords": ["readme"]})
    rules = schema(namespace)
    keys = data_keys(store_servers, namespace)
    assert keys, "nothing was written"
    for key in keys:
        matches = [kind for rx, kind in rules if rx.match(key)]
        assert matches, f"{key} is not in docs/keys.md"
        owner = next(s for s in store_servers if key in s.keys(key.replace("*", r"\*")))
        assert owner.command("TYPE", key) == matches[0], key
    for tid in ("auth_1", "users/2", "h:3"):
        hub.tasks.delete(tid)
    left = data_keys(store_servers, namespace)
    assert left == set(), f"orphans after delete: {sorted(left)}"

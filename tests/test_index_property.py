"""Random creates, updates and deletes; afterwards the stored index must equal one recomputed
from the tasks alone, and the tasks must equal a plain-Python model. Runs on every backend."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest
import zerolag

VOCAB = ["auth", "jwt", "db", "api", "ui", "cache", "queue", "ml", "docs", "ops"]
IDS = [f"task_{i}" for i in range(25)]


def _words(text: str) -> list[str]:
    out: list[str] = []
    for w in re.findall(r"[^\W_]+", text.lower()):
        w = w[:40]
        if w not in out:
            out.append(w)
    return out


def expected_index(tasks: list[zerolag.Task]) -> list[tuple[str, str, str]]:
    rows = set()
    for t in tasks:
        if t.intent:
            rows.add(("i", t.intent, t.id))
        rows.add(("s", t.status, t.id))
        rows.update(("k", k, t.id) for k in t.keywords)
        if t.intent:
            rows.update(("c", f"{len(t.intent)}:{t.intent}:{k}", t.id) for k in t.keywords)
        rows.update(("p", p, t.id) for p in t.patterns)
        words = _words(t.title)
        words += [w for w in _words(t.description) if w not in words]
        rows.update(("w", w, t.id) for w in words)
        rows.update(("r", r, t.id) for r in t.related)
    return sorted(rows)


def _fields(rng: random.Random) -> dict[str, Any]:
    f: dict[str, Any] = {}
    if rng.random() < 0.6:
        f["intent"] = rng.choice(VOCAB[:4]) if rng.random() < 0.9 else None
    if rng.random() < 0.6:
        f["keywords"] = rng.sample(VOCAB, rng.randint(0, 4))
    if rng.random() < 0.3:
        f["patterns"] = rng.sample(
            ["feature_dev", "bugfix", "security_critical"], rng.randint(0, 2)
        )
    if rng.random() < 0.4:
        f["status"] = rng.choice(["pending", "in_progress", "done"])
    if rng.random() < 0.4:
        f["confidence"] = rng.choice([0.1, 0.5, 0.87, 1.0])
    if rng.random() < 0.4:
        f["related"] = rng.sample(IDS, rng.randint(0, 3))
    if rng.random() < 0.3:
        f["description"] = " ".join(rng.choices(VOCAB + ["the", "a", "of"], k=rng.randint(0, 6)))
    return f


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_index_matches_recomputation_after_random_operations(hub: zerolag.Hub, seed: int) -> None:
    rng = random.Random(seed)
    model: dict[str, dict[str, Any]] = {}
    for _step in range(150):
        op = rng.random()
        tid = rng.choice(IDS)
        if op < 0.4:
            fields = _fields(rng)
            fields = {k: v for k, v in fields.items() if v is not None}
            title = " ".join(rng.choices(VOCAB, k=3))
            try:
                t = hub.tasks.create(title, id=tid, **fields)
            except zerolag.ConflictError:
                assert tid in model
                continue
            assert tid not in model
            model[tid] = {"title": title, **fields}
        elif op < 0.75:
            fields = _fields(rng)
            if not fields:
                continue
            try:
                t = hub.tasks.update(tid, **fields)
            except zerolag.NotFoundError:
                assert tid not in model
                continue
            model[tid].update(fields)
        elif op < 0.85:
            handoff = {"action": "upsert_task", "taskId": tid, **_fields(rng)}
            if "related" in handoff:
                handoff["related_tasks"] = handoff.pop("related")
            t = hub.tasks.apply_handoff(handoff)
            if tid not in model:
                model[tid] = {"title": handoff.get("intent") or tid}
            for k, v in handoff.items():
                if k in ("action", "taskId") or v is None:
                    continue  # in a handoff, null means "not given"
                model[tid]["related" if k == "related_tasks" else k] = v
        else:
            existed = hub.tasks.delete(tid)
            assert existed == (tid in model)
            if not existed:
                continue
            model.pop(tid)
            for m in model.values():
                if tid in m.get("related", []):
                    m["related"] = [r for r in m["related"] if r != tid]
    stored = [t for t in hub.tasks.get_many(sorted(model)) if t is not None]
    assert sorted(t.id for t in stored) == sorted(model)
    assert hub.tasks.count() == len(model)
    for t in stored:
        m = model[t.id]
        assert t.title == m["title"]
        assert t.intent == m.get("intent")
        assert t.keywords == list(dict.fromkeys(m.get("keywords", [])))
        assert t.status == m.get("status", "pending")
        assert t.related == [r for r in dict.fromkeys(m.get("related", [])) if r != t.id]
    assert hub.tasks._dump_index() == expected_index(stored)
    for tid in list(model):
        hub.tasks.delete(tid)
    assert hub.tasks._dump_index() == []
    assert hub.health().by_capability["tasks"] == 0

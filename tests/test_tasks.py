"""Tasks with LLM-first indexing, on every backend (the `hub` fixture is parametrized)."""

from __future__ import annotations

import threading

import pytest
import zerolag


def test_create_and_get_round_trip(hub: zerolag.Hub) -> None:
    t = hub.tasks.create(
        "User Authentication System",
        id="auth_impl_001",
        description="JWT login with refresh tokens",
        intent="Auth Implementation",
        keywords=["Authentication", "security", "JWT", "jwt"],
        patterns=["feature_dev", "security_critical"],
        confidence=0.87,
        complexity="high",
        status="in_progress",
        progress=0.25,
        related=["user_mgmt_002", "api_security_003"],
        context_cascade="contexts/agents/dev/backend_tasks.yaml",
        estimated_effort="2-3_days",
        metadata={"owner": "ana", "nested": {"n": [1, 2.5, None, True]}},
    )
    assert t.id == "auth_impl_001"
    assert t.intent == "auth_implementation"
    assert t.keywords == ["authentication", "security", "jwt"]
    assert t.version == 1 and t.created_at == t.updated_at > 1.7e9
    got = hub.tasks.get("auth_impl_001")
    assert got == t
    assert got.to_dict()["metadata"] == {"owner": "ana", "nested": {"n": [1, 2.5, None, True]}}
    assert got.complexity == "high" and got.progress == 0.25
    assert got.context_cascade == "contexts/agents/dev/backend_tasks.yaml"
    assert got.related == ["user_mgmt_002", "api_security_003"]


def test_defaults_and_generated_ids(hub: zerolag.Hub) -> None:
    a = hub.tasks.create("first")
    b = hub.tasks.create("second")
    assert a.id != b.id and a.id.startswith("t")
    assert (a.status, a.confidence, a.progress, a.intent, a.metadata) == (
        "pending",
        0.5,
        0.0,
        None,
        {},
    )
    assert hub.tasks.count() == 2


def test_duplicate_ids_conflict_and_batches_are_atomic(hub: zerolag.Hub) -> None:
    hub.tasks.create("one", id="a")
    with pytest.raises(zerolag.ConflictError):
        hub.tasks.create("again", id="a")
    with pytest.raises(zerolag.ConflictError):
        hub.tasks.create_many([{"title": "x", "id": "x1"}, {"title": "dup", "id": "a"}])
    with pytest.raises(zerolag.ConflictError):
        hub.tasks.create_many([{"title": "x", "id": "y"}, {"title": "y", "id": "y"}])
    assert hub.tasks.get_many(["x1", "y", "a"])[:2] == [None, None]
    made = hub.tasks.create_many(
        [{"title": f"t{i}", "id": f"b{i}", "keywords": ["k"]} for i in range(50)]
    )
    assert [t.id for t in made] == [f"b{i}" for i in range(50)]
    assert len(hub.tasks.search(keywords=["k"], limit=100)) == 50


def test_bad_input_is_refused_and_changes_nothing(hub: zerolag.Hub) -> None:
    hub.tasks.create("keep", id="keep", keywords=["a"])
    bad_calls = [
        lambda: hub.tasks.create("x", id="*"),
        lambda: hub.tasks.create("x", id="a b"),
        lambda: hub.tasks.create("x", id="../etc"),
        lambda: hub.tasks.create("x", id="x" * 129),
        lambda: hub.tasks.create("x", keywords=["jw*"]),
        lambda: hub.tasks.create("x", confidence=1.5),
        lambda: hub.tasks.create("x", progress=-0.1),
        lambda: hub.tasks.create("x", complexity="enormous"),
        lambda: hub.tasks.create("  "),
        lambda: hub.tasks.create("x", bogus=1),
        lambda: hub.tasks.create_many(
            [{"title": "fine", "id": "fine"}, {"title": "x", "confidence": 2}]
        ),
        lambda: hub.tasks.update("keep", confidence=float("nan")),
        lambda: hub.tasks.update("keep", keywords=["ok", "no?"]),
        lambda: hub.tasks.get("a?"),
        lambda: hub.tasks.delete("[x]"),
        lambda: hub.tasks.search(intent="a*"),
        lambda: hub.tasks.search(limit=0),
        lambda: hub.tasks.search(cursor="garbage"),
        lambda: hub.tasks.search(order="random"),  # type: ignore[arg-type]
    ]
    for call in bad_calls:
        with pytest.raises(zerolag.ValidationError):
            call()
    with pytest.raises(TypeError):
        hub.tasks.create("x", keywords="jwt")  # a str where a list is meant
    with pytest.raises(zerolag.ValidationError):  # not JSON (docs/errors.md)
        hub.tasks.create("x", metadata={"s": {1, 2}})
    assert hub.tasks.count() == 1
    assert hub.tasks.get("keep").keywords == ["a"] and hub.tasks.get("keep").version == 1


def test_update_is_partial_versioned_and_merges_metadata(hub: zerolag.Hub) -> None:
    hub.tasks.create("t", id="u", intent="a", keywords=["x"], metadata={"a": 1, "b": 2})
    t = hub.tasks.update("u", status="done", progress=1.0, metadata={"b": None, "c": 3})
    assert (t.status, t.progress, t.version, t.metadata) == ("done", 1.0, 2, {"a": 1, "c": 3})
    assert t.keywords == ["x"] and t.intent == "a"
    t = hub.tasks.update("u", intent=None, keywords=["y", "z"])
    assert t.intent is None and t.keywords == ["y", "z"] and t.version == 3
    assert hub.tasks.search(keywords=["x"]).tasks == []
    assert [x.id for x in hub.tasks.search(keywords=["z"])] == ["u"]
    with pytest.raises(zerolag.ConflictError):
        hub.tasks.update("u", if_version=2, title="stale")
    assert hub.tasks.update("u", if_version=3, title="fresh").title == "fresh"
    with pytest.raises(zerolag.NotFoundError):
        hub.tasks.update("missing", title="x")
    with pytest.raises(zerolag.ValidationError):
        hub.tasks.update("u", title=None)


def test_delete_removes_task_index_and_back_references(hub: zerolag.Hub) -> None:
    hub.tasks.create("a", id="a", intent="i", keywords=["k"], related=["b"])
    hub.tasks.create("b", id="b", related=["a"])
    assert hub.tasks.delete("a") is True
    assert hub.tasks.delete("a") is False
    with pytest.raises(zerolag.NotFoundError):
        hub.tasks.get("a")
    assert hub.tasks.get("b").related == []
    assert hub.tasks.search(intent="i").tasks == []
    assert all(row[2] != "a" and row[1] != "a" for row in hub.tasks._dump_index())
    hub.tasks.delete("b")
    assert hub.tasks._dump_index() == []
    assert hub.health().by_capability["tasks"] == 0


def test_related_works_both_ways(hub: zerolag.Hub) -> None:
    hub.tasks.create_many(
        [
            {"title": "auth", "id": "auth", "related": ["users", "api"]},
            {"title": "users", "id": "users"},
            {"title": "api", "id": "api"},
            {"title": "billing", "id": "billing", "related": ["auth"]},
        ]
    )
    assert sorted(t.id for t in hub.tasks.related("auth")) == ["api", "billing", "users"]
    assert [t.id for t in hub.tasks.related("users")] == ["auth"]
    assert sorted(t.id for t in hub.tasks.search(related_to="auth")) == ["api", "billing", "users"]
    assert hub.tasks.related("nobody") == []


def test_apply_handoff_creates_then_updates(hub: zerolag.Hub) -> None:
    handoff = {
        "action": "update_task",
        "taskId": "auth_impl_001",
        "intent": "auth_implementation",
        "keywords": ["authentication", "security", "jwt"],
        "patterns": ["feature_dev", "security_critical"],
        "confidence": 0.87,
        "related_tasks": ["user_mgmt_002", "api_security_003"],
        "context_cascade": "contexts/agents/dev/backend_tasks.yaml",
        "estimated_effort": "2-3_days",
        "reason": "user asked",
    }
    with pytest.raises(zerolag.NotFoundError):
        hub.tasks.apply_handoff(handoff)
    created = hub.tasks.apply_handoff({**handoff, "action": "create_task", "title": "Auth"})
    assert created.title == "Auth" and created.confidence == 0.87
    assert created.metadata == {"handoff": {"reason": "user asked"}}
    with pytest.raises(zerolag.ConflictError):
        hub.tasks.apply_handoff({**handoff, "action": "create_task"})
    updated = hub.tasks.apply_handoff(
        {
            "action": "update_task",
            "taskId": "auth_impl_001",
            "confidence": 0.9,
            "keywords": ["oauth"],
        }
    )
    assert (
        updated.version == 2
        and updated.keywords == ["oauth"]
        and updated.patterns == created.patterns
    )
    upserted = hub.tasks.apply_handoff({"taskId": "new_one", "intent": "docs"})
    assert upserted.title == "docs" and upserted.intent == "docs"
    with pytest.raises(zerolag.ValidationError):
        hub.tasks.apply_handoff({"action": "explode", "taskId": "x"})
    with pytest.raises(zerolag.ValidationError):
        hub.tasks.apply_handoff({"action": "update_task"})


@pytest.fixture
def corpus(hub: zerolag.Hub) -> zerolag.Hub:
    rows = []
    for i in range(60):
        rows.append(
            {
                "id": f"t{i:02d}",
                "title": f"Task {i} {'login' if i % 3 == 0 else 'report'} work",
                "description": "uses the database" if i % 4 == 0 else "",
                "intent": ["auth", "billing", "docs"][i % 3],
                "keywords": [f"k{i % 5}", f"k{i % 7}"],
                "patterns": ["feature_dev"] if i % 2 else ["bugfix"],
                "status": "done" if i % 6 == 0 else "pending",
                "confidence": round((i % 10) / 10, 1),
                "related": [f"t{(i + 1) % 60:02d}"],
            }
        )
    hub.tasks.create_many(rows)
    return hub


def _ids(page: zerolag.SearchPage) -> list[str]:
    return [t.id for t in page]


def test_search_criteria_combine(corpus: zerolag.Hub) -> None:
    s = corpus.tasks.search
    auth = _ids(s(intent="auth", limit=100))
    assert sorted(auth) == [f"t{i:02d}" for i in range(0, 60, 3)]
    both = _ids(s(intent="auth", keywords=["k0", "k3"], limit=100))
    assert sorted(both) == sorted(
        f"t{i:02d}" for i in range(60) if i % 3 == 0 and i % 5 == 0 and i % 7 == 3
    )
    anyk = _ids(s(any_keywords=["k1", "k6"], limit=100))
    assert sorted(anyk) == sorted(
        f"t{i:02d}"
        for i in range(60)
        if "k1" in (f"k{i % 5}", f"k{i % 7}") or "k6" in (f"k{i % 5}", f"k{i % 7}")
    )
    mixed = _ids(s(intent="billing", any_keywords=["k2"], patterns=["feature_dev"], limit=100))
    assert sorted(mixed) == sorted(
        f"t{i:02d}" for i in range(60) if i % 3 == 1 and 2 in (i % 5, i % 7) and i % 2 == 1
    )
    assert sorted(_ids(s(status="done", limit=100))) == [f"t{i:02d}" for i in range(0, 60, 6)]
    rng = _ids(s(min_confidence=0.3, max_confidence=0.5, limit=100))
    assert sorted(rng) == sorted(f"t{i:02d}" for i in range(60) if 3 <= i % 10 <= 5)
    text = _ids(s(text="LOGIN database", limit=100))
    assert sorted(text) == sorted(f"t{i:02d}" for i in range(60) if i % 3 == 0 and i % 4 == 0)
    assert _ids(s(text="nosuchword")) == []
    assert sorted(_ids(s(related_to="t10", limit=100))) == ["t09", "t11"]
    assert _ids(s(intent="nothing")) == []


def test_search_orders_and_pages_without_gaps(corpus: zerolag.Hub) -> None:
    page = corpus.tasks.search(limit=100)
    confs = [t.confidence for t in page]
    assert confs == sorted(confs, reverse=True)
    # ties break by id, descending
    for a, b in zip(page.tasks, page.tasks[1:], strict=False):
        assert (a.confidence, a.id) > (b.confidence, b.id)
    for kwargs in ({}, {"intent": "docs"}, {"any_keywords": ["k1", "k2"]}, {"min_confidence": 0.2}):
        seen: list[str] = []
        cursor = None
        while True:
            p = corpus.tasks.search(limit=7, cursor=cursor, **kwargs)  # type: ignore[arg-type]
            seen += _ids(p)
            cursor = p.next_cursor
            if cursor is None:
                break
        everything = _ids(corpus.tasks.search(limit=1000, **kwargs))  # type: ignore[arg-type]
        assert seen == everything and len(set(seen)) == len(seen)
    corpus.tasks.update("t05", title="touched")
    assert _ids(corpus.tasks.search(order="recent", limit=1)) == ["t05"]


def test_concurrent_updates_lose_nothing(hub: zerolag.Hub, open_hub) -> None:  # type: ignore[no-untyped-def]
    hub.tasks.create("shared", id="shared", metadata={})
    other = open_hub()

    def bump(h: zerolag.Hub, key: str) -> None:
        for i in range(25):
            h.tasks.update("shared", metadata={key: i})

    threads = [
        threading.Thread(target=bump, args=(hub, "a")),
        threading.Thread(target=bump, args=(other, "b")),
        threading.Thread(target=bump, args=(hub, "c")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = hub.tasks.get("shared")
    assert final.metadata == {"a": 24, "b": 24, "c": 24}
    assert final.version == 76


def test_async_api(store_url: str | None, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    url, root = store_url, tmp_path

    async def main() -> None:
        async with zerolag.open_async(url, root=root, namespace="asyncns") as hub:
            await hub.clear()
            made = await asyncio.gather(
                *(hub.tasks.create(f"t{i}", id=f"a{i}", intent="x") for i in range(20))
            )
            assert len(made) == 20
            page = await hub.tasks.search(intent="x", limit=50)
            assert sorted(t.id for t in page) == sorted(f"a{i}" for i in range(20))
            assert (await hub.tasks.get("a3")).title == "t3"
            with pytest.raises(zerolag.NotFoundError):
                await hub.tasks.get("zzz")
            assert (await hub.health()).keys > 0
            assert await hub.clear() > 0
        assert hub.closed

    asyncio.run(main())

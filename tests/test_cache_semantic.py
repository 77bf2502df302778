"""Semantic mode of ``hub.cache`` on every backend: the nearest cached prompt within a
threshold answers (the similarity reported equals numpy's cosine), a paraphrase hits and an
unrelated prompt misses, scopes (model, parameters, the conversation before the last user
message) are isolated, another process's cached prompt is found by a handle whose index was
already loaded, TTL expiry, tag and prefix invalidation and deletes are respected by semantic
hits, the live index agrees with brute force after random writes and deletes, and bad input
(wrong dimension, NaN, zero vector, threshold, k, scope) is a ValidationError that writes
nothing.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zerolag
from conftest import AsyncRunner
from zerolag.cache import DEFAULT_THRESHOLD, cached_model, semantic_request
from zerolag.embed import HashingEmbedder

HERE = Path(__file__).resolve().parent
EMB = HashingEmbedder(384)
DIM = 16


def unit(*xs: float) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    v[: len(xs)] = xs
    return v


def cos(a: Any, b: Any) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def ask(text: str, system: str | None = None) -> list[dict[str, str]]:
    m = [{"role": "system", "content": system}] if system else []
    return [*m, {"role": "user", "content": text}]


def test_match_returns_the_nearest_with_its_similarity(hub: Any) -> None:
    c = hub.cache
    assert c.match("s", unit(1, 0)) is None  # nothing cached yet
    c.set_semantic("a", "A", scope="s", embedding=unit(1, 0))
    c.set_semantic("b", {"answer": "B"}, scope="s", embedding=unit(0, 1))
    c.set_semantic("ab", b"AB", scope="s", embedding=unit(1, 1))
    q = unit(1, 0.2)
    m = c.match("s", q, threshold=0.5)
    assert m is not None and m.key == "a" and m.value == "A"
    assert m.similarity == pytest.approx(cos(q, unit(1, 0)), abs=1e-5)
    m = c.match("s", unit(0.1, 1), threshold=0.5)
    assert m is not None and m.key == "b" and m.value == {"answer": "B"}
    m = c.match("s", unit(1, 0.9), threshold=0.5)
    assert m is not None and m.key == "ab" and m.value == b"AB"
    # Below the threshold: none, even though "a" is the nearest.
    assert c.match("s", unit(1, 1.5), threshold=0.999) is None
    assert c.match("s", [1.0] + [0.0] * (DIM - 1), threshold=1.0) is not None  # a list works
    # A semantic entry is an entry: its key reads exactly too.
    assert c.get("a") == "A" and c.stats().entries == 3
    assert c.semantic_index() == (3, 1)
    assert "similarity=" in repr(m)


def test_a_paraphrase_hits_and_an_unrelated_prompt_misses(hub: Any) -> None:
    llm = hub.cache.llm.semantic(EMB)
    assert llm.threshold == DEFAULT_THRESHOLD
    q, para_q = (
        "What is the refund policy for annual plans?",
        "what's the refund policy for annual plans",
    )
    llm.set("gpt-x", ask(q), "30 days, pro rata.")
    exact = llm.lookup("gpt-x", ask(q))
    assert exact is not None and exact.exact and exact.similarity == 1.0
    para = llm.lookup("gpt-x", ask(para_q))
    assert para is not None and not para.exact
    assert para.response == "30 days, pro rata."
    _, t1 = semantic_request("gpt-x", ask(q))
    _, t2 = semantic_request("gpt-x", ask(para_q))
    assert para.similarity == pytest.approx(cos(EMB(t1), EMB(t2)), abs=1e-4)
    assert DEFAULT_THRESHOLD <= para.similarity < 0.99
    assert llm.get("gpt-x", ask("What is the capital of France?")) is None
    # A hard negative (another question in mostly the same words) stays below the default.
    assert llm.get("gpt-x", ask("What is the pricing for annual plans?")) is None
    strict = hub.cache.llm.semantic(EMB, threshold=0.99)
    assert strict.get("gpt-x", ask(para_q)) is None
    # Exact mode never answers a paraphrase.
    assert hub.cache.llm.get("gpt-x", ask(para_q)) is None


def test_scopes_are_isolated_by_model_params_and_context(hub: Any) -> None:
    llm = hub.cache.llm.semantic(EMB, threshold=0.5)
    q = ask("Summarise the quarterly report")
    llm.set("model-a", q, "A0", temperature=0)
    assert llm.get("model-a", q, temperature=0, timeout=3) == "A0"  # timeout is neutral
    assert llm.get("model-b", q, temperature=0) is None
    assert llm.get("model-a", q, temperature=0.7) is None
    assert llm.get("model-a", q) is None
    assert (
        llm.get("model-a", ask("Summarise the quarterly report", "Be terse"), temperature=0) is None
    )
    llm.set("model-b", q, "B0", temperature=0)
    assert llm.get("model-b", ask("summarise the quarterly report!"), temperature=0) == "B0"
    assert llm.get("model-a", ask("summarise the quarterly report!"), temperature=0) == "A0"
    # A different embedder is a different scope (its vectors are not comparable).
    other = hub.cache.llm.semantic(HashingEmbedder(384, ngrams=(0, 0)), threshold=0.5)
    assert other.get("model-a", ask("summarise the quarterly report!"), temperature=0) is None
    s1, _ = semantic_request("m", q, EMB, temperature=0)
    assert s1 != semantic_request("m", q, EMB, temperature=1)[0]
    assert s1 == semantic_request("m", q, EMB, temperature=0, api_key="x")[0]


WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    import zerolag
    url, root, ns = sys.argv[1:4]
    hub = zerolag.open(None if url == "-" else url, root=root, namespace=ns)
    v = np.zeros(16, dtype=np.float32); v[0] = 1.0; v[1] = 0.1
    hub.cache.set_semantic("from-other", "theirs", scope="s", embedding=v, ttl=600, tags=["t"])
    hub.close()
    """
)


def test_another_processs_prompt_is_found(
    hub: Any, open_hub: Any, store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    c = hub.cache
    c.set_semantic("mine", "ours", scope="s", embedding=unit(0, 1))
    assert c.match("s", unit(1, 0), threshold=0.9) is None  # the index is loaded now
    out = subprocess.run(
        [sys.executable, "-c", WRITER, store_url or "-", str(tmp_path), namespace],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(HERE)},
    )
    assert out.returncode == 0, out.stderr
    m = c.match("s", unit(1, 0), threshold=0.9)
    assert m is not None and m.key == "from-other" and m.value == "theirs"
    # A handle that loads afterwards finds both.
    other = open_hub()
    assert other.cache.match("s", unit(1, 0), threshold=0.9).key == "from-other"
    assert other.cache.match("s", unit(0, 1), threshold=0.9).key == "mine"
    # The other process's tag invalidation reaches this handle's hits.
    other.cache.invalidate_tag("t")
    assert c.match("s", unit(1, 0), threshold=0.9) is None


def test_ttl_tags_prefix_and_deletes_apply_to_semantic_hits(hub: Any) -> None:
    c = hub.cache
    c.set_semantic("llm:m:short", "x", scope="s", embedding=unit(1, 0), ttl=0.3)
    c.set_semantic("llm:m:tagged", "y", scope="s", embedding=unit(0, 1), tags=["docs"])
    c.set_semantic("llm:m:gone", "z", scope="s", embedding=unit(0, 0, 1))
    c.set_semantic("keep", "w", scope="s", embedding=unit(0, 0, 0, 1))
    assert c.match("s", unit(1, 0)).key == "llm:m:short"
    assert c.match("s", unit(0, 1)).key == "llm:m:tagged"
    time.sleep(0.5)
    assert c.match("s", unit(1, 0)) is None  # expired: never served
    assert c.invalidate_tag("docs") == 1
    assert c.match("s", unit(0, 1)) is None
    assert c.match("s", unit(0, 0, 1)).key == "llm:m:gone"
    assert c.invalidate_prefix("llm:m:") >= 1
    assert c.match("s", unit(0, 0, 1)) is None
    assert c.match("s", unit(0, 0, 0, 1)).key == "keep"
    assert c.delete("keep") is True
    assert c.match("s", unit(0, 0, 0, 1)) is None
    # A stale candidate does not hide a live one behind it.
    c.set_semantic("near", "n", scope="s", embedding=unit(1, 0.05), tags=["docs2"])
    c.set_semantic("far", "f", scope="s", embedding=unit(1, 0.3))
    c.invalidate_tag("docs2")
    assert c.match("s", unit(1, 0), threshold=0.5).key == "far"
    # Written again after invalidation: found again.
    c.set_semantic("llm:m:tagged", "y2", scope="s", embedding=unit(0, 1), tags=["docs"])
    assert c.match("s", unit(0, 1)).value == "y2"
    assert c.semantic_index()[0] >= 2
    hub.clear()
    assert c.match("s", unit(0, 1)) is None and c.semantic_index() == (0, 0)


def test_the_live_index_agrees_with_brute_force(hub: Any) -> None:
    rng = np.random.default_rng(7)
    c = hub.cache
    vecs: dict[str, np.ndarray] = {}
    c.match("r", rng.normal(size=DIM))  # loaded empty: the rest arrives through the feed
    for i in range(120):
        k = f"k{i}"
        vecs[k] = rng.normal(size=DIM).astype(np.float32)
        c.set_semantic(k, i, scope="r", embedding=vecs[k])
    for k in [f"k{i}" for i in rng.choice(120, 40, replace=False)]:
        c.delete(k)
        del vecs[k]
    for k in [f"k{i}" for i in range(120, 130)]:
        vecs[k] = rng.normal(size=DIM).astype(np.float32)
        c.set_semantic(k, k, scope="r", embedding=vecs[k])
    keys = list(vecs)
    mat = np.stack([vecs[k] / np.linalg.norm(vecs[k]) for k in keys])
    for _ in range(20):
        q = rng.normal(size=DIM).astype(np.float32)
        sims = mat @ (q / np.linalg.norm(q))
        best = int(np.argmax(sims))
        m = c.match("r", q, threshold=-1.0)
        assert m is not None and m.key == keys[best]
        assert m.similarity == pytest.approx(float(sims[best]), abs=1e-5)
    assert c.semantic_index() == (len(keys), 1)


def test_bad_input_is_refused_and_writes_nothing(hub: Any) -> None:
    c = hub.cache
    c.set_semantic("ok", "v", scope="s", embedding=unit(1))
    nan = unit(1)
    nan[3] = np.nan
    bad_writes: list[dict[str, Any]] = [
        {"scope": "s", "embedding": nan},
        {"scope": "s", "embedding": np.zeros(DIM)},
        {"scope": "s", "embedding": np.ones(DIM + 1)},  # the scope holds 16-d embeddings
        {"scope": "s", "embedding": []},
        {"scope": "s", "embedding": "text"},
        {"scope": "", "embedding": unit(1)},
        {"scope": "a\nb", "embedding": unit(1)},
        {"scope": "x" * 300, "embedding": unit(1)},
    ]
    for kw in bad_writes:
        with pytest.raises(zerolag.ValidationError):
            c.set_semantic("bad", "v", **kw)
        assert c.get("bad") is None
    for args, kw in [
        ((unit(1)[:8],), {}),  # wrong dimension for the scope
        ((nan,), {}),
        ((np.zeros(DIM),), {}),
        ((unit(1),), {"threshold": 1.5}),
        ((unit(1),), {"threshold": float("nan")}),
        ((unit(1),), {"k": 0}),
        ((unit(1),), {"k": 1000}),
        (([[1.0, 0.0]],), {}),
    ]:
        with pytest.raises(zerolag.ValidationError):
            c.match("s", *args, **kw)
    with pytest.raises(zerolag.ValidationError):
        c.match("", unit(1))
    with pytest.raises(zerolag.ValidationError):
        c._fill("k", "v", scope="s")  # a scope without an embedding
    with pytest.raises(zerolag.ValidationError):
        hub.cache.llm.semantic(EMB, threshold=2)
    assert c.match("s", unit(1)).key == "ok" and c.stats().entries == 1


def counting(reply: str = "Hello!") -> Any:
    def model(messages: list[dict[str, str]]) -> str:
        model.calls += 1  # type: ignore[attr-defined]
        return f"{reply} #{model.calls}"  # type: ignore[attr-defined]

    model.calls = 0  # type: ignore[attr-defined]
    return model


def test_cached_model_in_semantic_mode(hub: Any) -> None:
    model = counting()
    cm = cached_model(model, hub=hub, semantic=EMB, name="fake-1", params={"temperature": 0})
    first = cm(ask("What is the refund policy for annual plans?"))
    assert first == "Hello! #1" and cm.last_match is None
    assert cm(ask("What is the refund policy for annual plans?")) == first
    assert cm.last_match is not None and cm.last_match.exact
    assert cm(ask("what's the refund policy for annual plans")) == first
    assert cm.last_match is not None and not cm.last_match.exact
    assert DEFAULT_THRESHOLD <= cm.last_match.similarity < 1.0
    assert model.calls == 1
    assert cm(ask("Tell me a joke about databases")) == "Hello! #2" and model.calls == 2
    # Another model name, or other answer-changing parameters: not served from fake-1's.
    other = cached_model(model, hub=hub, semantic=EMB, name="fake-2", params={"temperature": 0})
    assert other(ask("What is the refund policy for annual plans?")) == "Hello! #3"
    assert "semantic=" in repr(cm)


def test_async_semantic_cached_model(async_hub: Any, arun: AsyncRunner) -> None:
    model = counting()
    cm = cached_model(model, hub=async_hub, semantic=EMB)

    async def main() -> list[str]:
        a = await cm.acomplete(ask("How do I rotate my API key?"))
        b = await cm.acomplete(ask("how do i rotate my api key"))
        m = cm.last_match
        assert m is not None and not m.exact
        llm = async_hub.cache.llm.semantic(EMB)
        await llm.set("x", ask("Where is the invoice page?"), "Billing > Invoices")
        got = await llm.get("x", ask("where is the invoice page"))
        found = await async_hub.cache.match("nothing-here", unit(1))
        assert found is None
        return [a, b, got]

    assert arun(main()) == ["Hello! #1", "Hello! #1", "Billing > Invoices"]
    assert model.calls == 1
    assert asyncio.iscoroutine(coro := cm(ask("hi")))
    assert arun(coro) == "Hello! #2"

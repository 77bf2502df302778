"""The `cache` suite: ``hub.cache`` against what a Python user would otherwise use, in one
run (see bench/README.md and docs/cache.md).

- Exact hit and miss+set on Redis: ``hub.cache.get`` / ``set`` against redis-py ``GET`` /
  ``SET EX`` (bench/baseline_cache.py), both keyed by the same SHA-256 of a prompt; p50 and
  p99 per call; the hit alternates the two sides in blocks of 100 calls (bench/alternate.py).
- The same on the embedded store, against langchain-core's ``InMemoryCache`` (a dict in the
  process: no store, no other process sees it; reported, not a target).
- Invalidating a tag of 10,000 entries (2,000 with --quick): ``invalidate_tag`` (one counter)
  against a redis-py tag set (``SMEMBERS`` + ``UNLINK``).
- A cached model's hit (``cached_model(model)(messages)``: key, lookup, value back), p50/p99,
  on both backends.
- Semantic lookup (``hub.cache.match``) over 100,000 cached prompts of 384 dimensions (10,000
  with --quick), p50/p99, on both backends (goal: p50 under 5 ms); loading the index in a
  fresh handle is its own row. Queries are stored embeddings plus noise, so each finds one.
- The round-trip floor on Redis: a raw socket ``PING`` from Python (nothing is faster from
  Python), redis-py ``PING``, and our cheapest one-round-trip read (``hub.kv.get``), beside
  the exact hit, so the hit's ratio to redis-py ``GET`` can be read against what is physically
  possible (docs/cache.md).
"""

from __future__ import annotations

import hashlib
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import redis  # noqa: E402
import zerolag  # noqa: E402
from alternate import alternate  # noqa: E402
from baseline_cache import RedisTagCache  # noqa: E402

NEEDS_REDIS = True
ORDER = 85

VALUE = "A cached answer of a few hundred bytes. " * 8


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


def key_of(i: int) -> str:
    return "llm:" + hashlib.sha256(f"prompt number {i}".encode()).hexdigest()


def latencies(fn: Callable[[int], Any], k: int) -> list[float]:
    for i in range(min(50, k)):  # warm up
        fn(i)
    out = []
    for i in range(k):
        t0 = time.perf_counter_ns()
        fn(i)
        out.append((time.perf_counter_ns() - t0) / 1000)
    return out


def lat_row(name: str, ours: list[float], base: list[float] | None, **kw: Any) -> dict[str, Any]:
    p50 = _pct(ours, 0.5)
    b50 = _pct(base, 0.5) if base else None
    d: dict[str, Any] = {"name": name, "ours": p50, "baseline": b50, "unit": "us p50"}
    d["ratio"] = (b50 / p50) if b50 else None
    d["ours_p50_us"], d["ours_p99_us"] = p50, _pct(ours, 0.99)
    if base:
        d["baseline_p50_us"], d["baseline_p99_us"] = b50, _pct(base, 0.99)
    d.update(kw)
    return d


def model_hits(hub: Any, k: int) -> list[float]:
    cm = zerolag.cached_model(lambda messages: VALUE, ttl=3600, hub=hub, name="bench-model")
    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello?"}]
    cm(msgs)
    return latencies(lambda i: cm(msgs), k)


def tag_invalidation(hub: Any, base: RedisTagCache, n: int) -> tuple[float, float]:
    """Best of two: seconds for invalidating a tag of `n` entries, ours and the baseline."""
    ours, theirs = [], []
    for round_ in range(2):
        items = {f"t{round_}:{i}": VALUE for i in range(n)}
        for i in range(0, n, 1000):
            chunk = dict(list(items.items())[i : i + 1000])
            hub.cache.set_many(chunk, tags=[f"tag{round_}"])
            base.set_many(chunk, tags=[f"tag{round_}"])
        t0 = time.perf_counter()
        hub.cache.invalidate_tag(f"tag{round_}")
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        base.invalidate_tag(f"tag{round_}")
        theirs.append(time.perf_counter() - t0)
    return min(ours), min(theirs)


def semantic_rows(
    hub: Any, reopen: Callable[[], Any], label: str, n: int, k: int, log: Callable[[str], None]
) -> list[Any]:
    """Writes `n` semantic entries (384-d), then times a fresh handle's (`reopen()`) index
    load and `k` lookups."""
    rng = np.random.default_rng(1)
    dim = 384
    vecs = rng.normal(size=(n, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    for i in range(n):
        hub.cache.set_semantic(f"sem:{i}", VALUE, scope="bench", embedding=vecs[i], ttl=3600)
    fresh = reopen()
    t0 = time.perf_counter()
    fresh.cache.semantic_index()
    load_s = time.perf_counter() - t0
    queries = vecs[rng.integers(0, n, size=k + 50)] + rng.normal(scale=0.02, size=(k + 50, dim))
    queries = queries.astype(np.float32)
    found = 0

    def look(i: int) -> None:
        nonlocal found
        found += fresh.cache.match("bench", queries[i], threshold=0.8) is not None

    o = latencies(look, k)
    fresh.close()
    log(f"  {label} semantic: load {load_s * 1e3:.0f} ms, lookup p50 {_pct(o, 0.5):.0f} us")
    return [
        {
            "name": f"{label} semantic index load, {n:,} prompts x {dim}-d",
            "ours": load_s * 1e3,
            "baseline": None,
            "unit": "ms",
            "ratio": None,
        },
        lat_row(
            f"{label} semantic lookup over {n:,} prompts x {dim}-d (p50 goal < 5 ms)",
            o,
            None,
            hits=found,
        ),
    ]


def socket_ping(url: str, k: int) -> list[float]:
    """A raw RESP PING over a plain socket from Python: the round-trip floor (no client)."""
    u = redis.connection.parse_url(url)
    s = socket.create_connection((u.get("host", "127.0.0.1"), int(u.get("port", 6379))))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:

        def ping(_: int) -> None:
            s.sendall(b"PING\r\n")
            s.recv(64)

        return latencies(ping, k)
    finally:
        s.close()


def run(
    url: str | None, *, quick: bool = False, log: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    k = 300 if quick else 5_000
    n_tag = 2_000 if quick else 10_000
    n_sem = 10_000 if quick else 100_000
    rows: list[dict[str, Any]] = []
    if url:
        r = redis.Redis.from_url(url)
        ns = "bc" + uuid.uuid4().hex[:8]
        hub = zerolag.open(url, namespace=ns)
        base = RedisTagCache(r, prefix=f"bcb{ns}:")
        for i in range(k + 50):
            hub.cache.set(key_of(i), VALUE, ttl=3600)
            base.set(key_of(i), VALUE, ttl=3600)
        o, b = alternate([lambda i: hub.cache.get(key_of(i)), lambda i: base.get(key_of(i))], k)
        rows.append(lat_row("redis exact hit vs redis-py GET", o, b, target=2.0))
        log(f"  hit: ours p50 {_pct(o, 0.5):.0f} us, redis-py {_pct(b, 0.5):.0f} us")
        hub.kv.set("floor", VALUE)
        floor = socket_ping(url, k)
        rows.append(lat_row("redis floor: raw socket PING from Python vs redis-py GET", floor, b))
        o2 = latencies(lambda i: r.ping(), k)
        rows.append(lat_row("redis floor: redis-py PING vs redis-py GET", o2, b))
        o3 = latencies(lambda i: hub.kv.get("floor"), k)
        rows.append(
            lat_row("redis floor: our kv.get (one read-only script) vs redis-py GET", o3, b)
        )
        log(
            f"  floor: socket PING {_pct(floor, 0.5):.0f} us, redis-py PING "
            f"{_pct(o2, 0.5):.0f} us, kv.get {_pct(o3, 0.5):.0f} us"
        )

        def ours_miss(i: int) -> None:
            kk = key_of(10**6 + i)
            if hub.cache.get(kk) is None:
                hub.cache.set(kk, VALUE, ttl=3600)

        def base_miss(i: int) -> None:
            kk = key_of(10**6 + i)
            if base.get(kk) is None:
                base.set(kk, VALUE, ttl=3600)

        o = latencies(ours_miss, k)
        b = latencies(base_miss, k)
        rows.append(lat_row("redis miss + set vs redis-py GET + SET EX", o, b))
        o_s, b_s = tag_invalidation(hub, base, n_tag)
        rows.append(
            {
                "name": f"redis invalidate a tag of {n_tag:,} entries vs SMEMBERS + UNLINK",
                "ours": o_s * 1e3,
                "baseline": b_s * 1e3,
                "unit": "ms",
                "ratio": b_s / o_s if o_s else None,
                "target": 3.0,
            }
        )
        log(f"  invalidate {n_tag}: ours {o_s * 1e3:.2f} ms, redis-py {b_s * 1e3:.2f} ms")
        o = model_hits(hub, k)
        rows.append(lat_row("redis cached_model hit (p99 target < 1 ms)", o, None))
        rows += semantic_rows(hub, lambda: zerolag.open(url, namespace=ns), "redis", n_sem, k, log)
        hub.clear()
        hub.close()
        names = list(r.scan_iter(match=f"bcb{ns}:*", count=1000))
        for i in range(0, len(names), 1000):
            r.unlink(*names[i : i + 1000])
    with tempfile.TemporaryDirectory() as root:
        hub = zerolag.open(root=root, namespace="bench")
        for i in range(k + 50):
            hub.cache.set(key_of(i), VALUE, ttl=3600)
        o = latencies(lambda i: hub.cache.get(key_of(i)), k)
        try:
            from langchain_core.caches import InMemoryCache
            from langchain_core.outputs import Generation

            mem = InMemoryCache()
            gen = [Generation(text=VALUE)]
            for i in range(k + 50):
                mem.update(f"prompt number {i}", "llm", gen)
            b: list[float] | None = latencies(lambda i: mem.lookup(f"prompt number {i}", "llm"), k)
        except ImportError:
            b = None
        rows.append(lat_row("embedded exact hit vs langchain-core InMemoryCache (report)", o, b))
        o = model_hits(hub, k)
        rows.append(lat_row("embedded cached_model hit (p99 target < 1 ms)", o, None))
        rows += semantic_rows(
            hub, lambda: zerolag.open(root=root, namespace="bench"), "embedded", n_sem, k, log
        )
        hub.close()
    return rows

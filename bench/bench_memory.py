"""The `memory` suite: ``hub.memory`` and its vector index against what a Python developer
would otherwise use, in one run (see bench/README.md and docs/memory.md). Baselines in
bench/baseline_memory.py.

- Vector top-10 over 100,000 x 384 float32 (10,000 with --quick), cosine, random data:
  ``zerolag._core.VectorIndex`` exact, and int8 with exact re-ranking, against numpy
  (``argpartition`` over a matrix product, same process); recall@10 of the quantised mode;
  the floor of each scan (its bytes / the read bandwidth measured in this run); usearch's HNSW
  index for context (build time, memory, recall@10, p50/p99); the index's memory per row.
  Random data is the hard case for quantisation (the best scores are close together).
- Keyword search over 100,000 records (10,000 with --quick) of a Zipf-drawn vocabulary:
  ``hub.memory.search(text=...)`` on the embedded store against ``rank_bm25`` and SQLite FTS5.
- Hybrid search (keywords + a 384-d embedding, int8 + re-rank, + the records 1 hop around an
  entity, k=10) on the embedded store and on Redis, p50/p99; the first search (which loads
  the index) is its own row. ``recall(key, as_of=...)`` p50 on both.
- ``remember`` with an embedding and three entities, single and 100 per ``remember_many``,
  on Redis against redis-py writing the same keys; the server's CPU for a batch (INFO cpu)
  for ours and for the same writes as aggregated plain commands (the least the server can be
  asked to do for these keys), and the most the ratio can be with a client that takes no time.
"""

from __future__ import annotations

import gc
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import baseline_memory as base  # noqa: E402
import redis  # noqa: E402
import zerolag  # noqa: E402
from zerolag._core import VectorIndex  # noqa: E402

# For bench/run.py (see bench/README.md).
NEEDS_REDIS = True
ORDER = 70

K = 10
DIM = 384
BATCH = 1000  # records per remember_many while loading (the store's limit)
ENTITIES = 2000
WRITE_BATCH = 100
CPU_BATCHES = 20  # batches per side whose server CPU is measured (INFO cpu)


def _latencies(fn: Callable[[int], Any], queries: int, warm: int = 5) -> list[float]:
    """Seconds per call of ``fn(i)`` for ``queries`` calls after a warm-up."""
    for i in range(min(warm, queries)):
        fn(i)
    out = []
    for i in range(queries):
        t0 = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t0)
    return out


def _pct(xs: list[float], p: float) -> float:
    """The ``p``-th percentile of ``xs`` (seconds) in microseconds."""
    s = sorted(xs)
    return s[min(len(s) - 1, int(p / 100 * len(s)))] * 1e6


def _lat_row(
    name: str, ours: list[float], theirs: list[float] | None, note: str, **kw: Any
) -> dict[str, Any]:
    p50 = _pct(ours, 50)
    row: dict[str, Any] = {
        "name": name,
        "ours": round(p50, 1),
        "baseline": None,
        "unit": "µs",
        "ratio": None,
        "ours_p50_us": round(p50, 1),
        "ours_p99_us": round(_pct(ours, 99), 1),
    }
    if theirs:
        b50 = _pct(theirs, 50)
        row.update(
            baseline=round(b50, 1),
            ratio=round(b50 / p50, 2),
            baseline_p50_us=round(b50, 1),
            baseline_p99_us=round(_pct(theirs, 99), 1),
        )
    row["note"] = note
    row.update(kw)
    return row


# ------------------------------------------------------------------------------ vectors


def _unit(rng: np.random.Generator, n: int) -> np.ndarray[Any, Any]:
    m = rng.standard_normal((n, DIM), dtype=np.float32)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    return m


def vector_rows(quick: bool, log: Callable[[str], None]) -> list[dict[str, Any]]:
    n = 10_000 if quick else 100_000
    queries = 50 if quick else 300
    rng = np.random.default_rng(16)
    data = _unit(rng, n)
    qs = _unit(rng, queries)
    ids = np.arange(n, dtype=np.int64)

    t0 = time.perf_counter()
    exact = VectorIndex(DIM, "cosine")
    exact.add(ids, data)
    build_exact = time.perf_counter() - t0
    t0 = time.perf_counter()
    quant = VectorIndex(DIM, "cosine", quantized=True)
    quant.add(ids, data)
    build_quant = time.perf_counter() - t0
    log(f"memory: built {n:,} x {DIM} in {build_exact:.2f} s (exact), {build_quant:.2f} s (int8)")

    bandwidth = base.read_bandwidth(mib=64 if quick else 512)
    log(f"memory: read bandwidth {bandwidth / 1e9:.1f} GB/s (numpy sum, 2 threads)")

    # Alternate the three sides block by block, so drift of a shared machine hits all alike.
    # Blocks of 50 queries, the first 5 of each not counted: they run beside what the side
    # before left behind. numpy's BLAS threads keep spinning for a while after a call (on this
    # 2-core VM an exact search right after a numpy query took 10.3 ms p50 against 7.1 ms
    # back to back), and after our block numpy's threads start cold.
    lat: dict[str, list[float]] = {"numpy": [], "exact": [], "int8": []}
    fns: dict[str, Callable[[int], Any]] = {
        "numpy": lambda i: base.numpy_topk(data, qs[i], K),
        "exact": lambda i: exact.search(qs[i], K),
        "int8": lambda i: quant.search(qs[i], K),
    }
    for f in fns.values():
        for i in range(5):
            f(i)
    block, settle = 50, 5
    for lo in range(0, queries, block):
        for name, f in fns.items():
            for i in range(lo, min(queries, lo + block)):
                t0 = time.perf_counter()
                f(i)
                if i - lo >= settle:
                    lat[name].append(time.perf_counter() - t0)

    truths = [set(base.numpy_topk(data, qs[i], K).tolist()) for i in range(queries)]
    agree_np = sum(len(t & set(exact.search(qs[i], K)[0].tolist())) for i, t in enumerate(truths))
    found = sum(len(t & set(quant.search(qs[i], K)[0].tolist())) for i, t in enumerate(truths))
    recall = found / (queries * K)
    base_p50 = _pct(lat["numpy"], 50)
    rows: list[dict[str, Any]] = []
    for name, key, target, nbytes, note in [
        (
            "exact",
            "exact",
            1.0,
            data.nbytes,
            f"agrees with numpy on {100 * agree_np / (queries * K):.1f}% of the top-10",
        ),
        (
            "int8 + exact re-rank",
            "int8",
            3.0,
            n * DIM + n * 4,
            f"recall@10 {recall:.3f} against exact (target >= 0.95)",
        ),
    ]:
        p50, p99 = _pct(lat[key], 50), _pct(lat[key], 99)
        floor_us = nbytes / bandwidth * 1e6
        rows.append(
            {
                "name": f"vector top-{K} over {n:,} x {DIM} f32, cosine, {name}",
                "ours": round(p50, 1),
                "baseline": round(base_p50, 1),
                "unit": "µs",
                "ratio": round(base_p50 / p50, 2),
                "ours_p50_us": round(p50, 1),
                "ours_p99_us": round(p99, 1),
                "baseline_p50_us": round(base_p50, 1),
                "baseline_p99_us": round(_pct(lat["numpy"], 99), 1),
                "target": target,
                "note": f"baseline: numpy argpartition over matrix @ query; {note}",
            }
        )
        rows.append(
            {
                "name": f"  floor of the {name} scan: {nbytes / 1e6:.1f} MB / read bandwidth",
                "ours": round(p50, 1),
                "baseline": round(floor_us, 1),
                "unit": "µs",
                "ratio": round(floor_us / p50, 2),
                "note": (
                    f"baseline: the bytes scanned at {bandwidth / 1e9:.1f} GB/s (numpy sum of "
                    "a large array on 2 threads, this run); ratio = share of the floor reached"
                    + (
                        "; the int8 copy may partly fit the last-level cache"
                        if key == "int8"
                        else ""
                    )
                ),
            }
        )
    rows.extend(usearch_rows(data, qs, truths, quant, lat["int8"], n))
    rows.append(
        {
            "name": f"vector index memory per row ({DIM}-d, int8 copy included)",
            "ours": round(quant.memory_bytes() / n, 1),
            "baseline": round(data.nbytes / n, 1),
            "unit": "bytes",
            "ratio": round(data.nbytes / quant.memory_bytes(), 2),
            "note": (
                f"{quant.memory_bytes() / 2**20:.1f} MiB for {n:,} rows (f32 rows, int8 copy "
                "and scales, ids, id map); baseline: the bare float32 matrix numpy searches; "
                "lower is better"
            ),
        }
    )
    rows.append(
        {
            "name": f"quantised recall@{K} against exact ({queries} queries)",
            "ours": round(recall, 3),
            "baseline": 1.0,
            "unit": "recall",
            "ratio": round(recall, 3),
            "target": 0.95,
            "note": "exact search is the reference (1.0)",
        }
    )
    return rows


def usearch_rows(
    data: np.ndarray[Any, Any],
    qs: np.ndarray[Any, Any],
    truths: list[set[int]],
    quant: Any,
    ours: list[float],
    n: int,
) -> list[dict[str, Any]]:
    """usearch's HNSW index over the same rows, for context (approximate, built ahead)."""
    try:
        idx = base.UsearchIndex(DIM)
    except ImportError:
        return [
            {"name": "usearch HNSW (not installed: pip install usearch)", "ours": None, "unit": "-"}
        ]
    ids = np.arange(n, dtype=np.uint64)
    t0 = time.perf_counter()
    idx.add(ids, data)
    build = time.perf_counter() - t0
    lat = _latencies(lambda i: idx.search(qs[i % len(qs)], K), len(qs))
    found = sum(len(t & set(idx.search(qs[i], K).tolist())) for i, t in enumerate(truths))
    recall = found / (len(truths) * K)
    t0 = time.perf_counter()
    again = VectorIndex(DIM, "cosine", quantized=True)
    again.add(ids.astype(np.int64), data)
    ours_build = time.perf_counter() - t0
    return [
        _lat_row(
            f"  context: usearch HNSW top-{K} (f32, its defaults) against our int8 scan",
            ours,
            lat,
            f"usearch recall@10 {recall:.3f}, built in {build:.2f} s (ours {ours_build:.2f} s), "
            f"{idx.memory_bytes() / 2**20:.1f} MiB (ours {quant.memory_bytes() / 2**20:.1f} "
            "MiB); approximate, not a target",
        )
    ]


# ------------------------------------------------------------------------------ records


def _vocabulary(rng: np.random.Generator, size: int) -> list[str]:
    """``size`` distinct made-up words of two to four syllables (no stop words)."""
    cons, vows = "bdfgklmnprstvz", "aeiou"
    words: set[str] = set()
    while len(words) < size:
        syl = rng.integers(2, 5)
        words.add(
            "".join(
                cons[rng.integers(len(cons))] + vows[rng.integers(len(vows))] for _ in range(syl)
            )
        )
    return sorted(words)


class Corpus:
    """``n`` records: text of 8 to 24 words drawn from a 20,000-word vocabulary with Zipf
    frequencies (s = 1.1), a random 384-d unit embedding and three of ``ENTITIES`` entities;
    the graph: each entity ``knows`` two others. Deterministic (one seed)."""

    def __init__(self, n: int) -> None:
        rng = np.random.default_rng(1616)
        self.n = n
        vocab = _vocabulary(rng, 20_000)
        ranks = np.arange(1, len(vocab) + 1, dtype=np.float64)
        p = ranks**-1.1
        p /= p.sum()
        lens = rng.integers(8, 25, n)
        draws = rng.choice(len(vocab), size=int(lens.sum()), p=p)
        self.texts: list[str] = []
        at = 0
        for ln in lens:
            self.texts.append(" ".join(vocab[j] for j in draws[at : at + ln]))
            at += ln
        self.embeddings = _unit(rng, n)
        self.entities = [
            [f"e{int(x)}" for x in rng.choice(ENTITIES, 3, replace=False)] for _ in range(n)
        ]
        self.edges = [
            (f"e{i}", f"e{int(rng.integers(ENTITIES))}") for i in range(ENTITIES) for _ in range(2)
        ]
        # Queries: two or three words of middling frequency (ranks 50 to 5,000).
        self.queries = [
            " ".join(vocab[int(j)] for j in rng.integers(50, 5000, rng.integers(2, 4)))
            for _ in range(200)
        ]
        self.query_vecs = _unit(rng, 200)
        self.around = [f"e{int(x)}" for x in rng.integers(ENTITIES, size=200)]

    def item(self, i: int, key: str | None = None) -> dict[str, Any]:
        return {
            "key": key or f"doc:{i}",
            "value": self.texts[i],
            "embedding": self.embeddings[i],
            "entities": self.entities[i],
        }

    def batches(self) -> Iterator[list[dict[str, Any]]]:
        for lo in range(0, self.n, BATCH):
            yield [self.item(i) for i in range(lo, min(self.n, lo + BATCH))]


def load(hub: Any, corpus: Corpus) -> float:
    """Writes the corpus and its graph; returns the seconds it took."""
    t0 = time.perf_counter()
    hub.memory.space("default", DIM, "cosine")
    for b in corpus.batches():
        hub.memory.remember_many(b)
    for src, dst in corpus.edges:
        hub.memory.relate(src, "knows", dst)
    return time.perf_counter() - t0


def store_rows(
    hub: Any, backend: str, corpus: Corpus, queries: int, log: Callable[[str], None]
) -> tuple[list[dict[str, Any]], list[float] | None]:
    """Hybrid search (first search, then p50/p99) and recall(as_of) on one loaded hub; on
    the embedded store also the keyword-only search (returned for the keyword rows)."""
    m = hub.memory
    t0 = time.perf_counter()
    m.search(text=corpus.queries[0], embedding=corpus.query_vecs[0], around=corpus.around[0])
    first = time.perf_counter() - t0

    def hybrid(i: int) -> Any:
        j = i % len(corpus.queries)
        return m.search(
            text=corpus.queries[j],
            embedding=corpus.query_vecs[j],
            around=corpus.around[j],
            hops=1,
            k=K,
        )

    lat = _latencies(hybrid, queries)
    as_of = time.time()
    rec = _latencies(lambda i: m.recall(f"doc:{(i * 7919) % corpus.n}", as_of=as_of), queries * 5)
    kw = None
    if backend == "embedded":
        kw = _latencies(
            lambda i: m.search(text=corpus.queries[i % len(corpus.queries)], k=K), queries
        )
    n = corpus.n
    rows = [
        {
            "name": f"hybrid search, {backend}: first search (loads the index of {n:,} records)",
            "ours": round(first * 1e3, 1),
            "baseline": None,
            "unit": "ms",
            "note": "ours only; later searches read the change feed, never everything again",
        },
        _lat_row(
            f"hybrid search, {backend}: keyword + 384-d int8 vector + 1-hop graph, k={K}, "
            f"{n:,} records",
            lat,
            None,
            "ours only; goals p50 < 10 ms, p99 < 50 ms",
            target_p50_us=10_000,
            target_p99_us=50_000,
        ),
        _lat_row(
            f"recall(key, as_of=...), {backend}",
            rec,
            None,
            "ours only; goal p50 < 1 ms",
            target_p50_us=1000,
        ),
    ]
    log(f"memory: {backend}: first search {first:.2f} s, hybrid p50 {_pct(lat, 50):.0f} µs")
    return rows, kw


def keyword_rows(
    corpus: Corpus, ours: list[float], queries: int, log: Callable[[str], None]
) -> list[dict[str, Any]]:
    rows = []
    n = corpus.n
    try:
        t0 = time.perf_counter()
        bm = base.RankBm25(corpus.texts)
        log(f"memory: rank_bm25 indexed {n:,} in {time.perf_counter() - t0:.1f} s")
        slow = _latencies(lambda i: bm.search(corpus.queries[i], K), max(5, queries // 10), warm=1)
        rows.append(
            _lat_row(
                f"keyword search over {n:,} records, embedded, vs rank_bm25",
                ours,
                slow,
                "ours: hub.memory.search(text=...) (BM25 in Rust over stored postings, through "
                "the hybrid search); baseline: rank_bm25 BM25Okapi.get_scores + argpartition",
                target=50.0,
            )
        )
    except ImportError:
        rows.append(
            {
                "name": "keyword search vs rank_bm25 (not installed: pip install rank-bm25)",
                "ours": None,
                "unit": "-",
            }
        )
    fts = base.Fts5(corpus.texts)
    lat = _latencies(lambda i: fts.search(corpus.queries[i % len(corpus.queries)], K), queries)
    rows.append(
        _lat_row(
            f"keyword search over {n:,} records, embedded, vs SQLite FTS5",
            ours,
            lat,
            "baseline: an in-memory FTS5 table, terms OR'ed, ORDER BY rank LIMIT 10 "
            "(reported, no goal)",
        )
    )
    return rows


def remember_rows(url: str, corpus: Corpus, quick: bool) -> list[dict[str, Any]]:
    """``remember`` single and batched on Redis, ours against redis-py, alternating."""
    ns_ours = "bmem" + uuid.uuid4().hex[:6]
    ns_base = "bmemb" + uuid.uuid4().hex[:6]
    ns_floor = "bmemf" + uuid.uuid4().hex[:6]
    hub = zerolag.open(url, namespace=ns_ours)
    client = redis.Redis.from_url(url)
    theirs = base.RedisPyMemory(client, ns_base)
    try:
        hub.memory.space("default", DIM, "cosine")
        singles = 200 if quick else 1000
        batches = 5 if quick else 30
        lat: dict[str, list[float]] = {"ours1": [], "base1": [], "oursB": [], "baseB": []}
        serial = iter(range(10**9))
        for _ in range(0, singles, 100):
            for side in ("ours1", "base1"):
                for _ in range(100):
                    i = next(serial)
                    it = corpus.item(i % corpus.n, key=f"w:{i}")
                    t0 = time.perf_counter()
                    if side == "ours1":
                        hub.memory.remember(
                            it["key"],
                            it["value"],
                            embedding=it["embedding"],
                            entities=it["entities"],
                        )
                    else:
                        theirs.remember(it)
                    lat[side].append(time.perf_counter() - t0)
        for _ in range(batches):
            for side in ("oursB", "baseB"):
                items = []
                for _ in range(WRITE_BATCH):
                    i = next(serial)
                    items.append(corpus.item(i % corpus.n, key=f"w:{i}"))
                ours = side == "oursB"
                t0 = time.perf_counter()
                if ours:
                    hub.memory.remember_many(items)
                else:
                    theirs.remember_many(items)
                lat[side].append(time.perf_counter() - t0)
        # The server's CPU (INFO cpu: reading and parsing requests, scripts, commands,
        # replies) per batch for ours, the baseline and the aggregated floor, each in a run
        # of batches of its own (INFO's own cost spread over the run).
        floor_writer = base.RedisPyMemoryAggregated(client, ns_floor)
        cpu_us: dict[str, float] = {}
        for side, write in (
            ("ours", hub.memory.remember_many),
            ("baseline", theirs.remember_many),
            ("floor", floor_writer.remember_many),
        ):
            runs: list[list[dict[str, Any]]] = []
            for _ in range(5 if quick else CPU_BATCHES):
                runs.append([])
                for _ in range(WRITE_BATCH):
                    i = next(serial)
                    runs[-1].append(corpus.item(i % corpus.n, key=f"w:{i}"))
            c0 = _server_cpu_us(client)
            for items in runs:
                write(items)
            cpu_us[side] = (_server_cpu_us(client) - c0) / len(runs)
        hub.clear()
        for ns in (ns_base, ns_floor):
            for key in client.scan_iter(match=f"zl:{{{ns}:mem}}:*", count=1000):
                client.delete(key)
    finally:
        hub.close()
        client.close()
    rows = [
        _lat_row(
            "remember, Redis, one record (384-d embedding, 3 entities)",
            lat["ours1"],
            lat["base1"],
            "baseline: redis-py writing the same keys (a pipelined read, then one MULTI/EXEC "
            "pipeline); reported, no goal",
        )
    ]
    ours_rate = WRITE_BATCH / (_pct(lat["oursB"], 50) / 1e6)
    base_rate = WRITE_BATCH / (_pct(lat["baseB"], 50) / 1e6)
    rows.append(
        {
            "name": f"remember_many, Redis, {WRITE_BATCH} records per call",
            "ours": round(ours_rate),
            "baseline": round(base_rate),
            "unit": "records/s",
            "ratio": round(ours_rate / base_rate, 2),
            "ours_p50_us": round(_pct(lat["oursB"], 50), 1),
            "ours_p99_us": round(_pct(lat["oursB"], 99), 1),
            "baseline_p50_us": round(_pct(lat["baseB"], 50), 1),
            "baseline_p99_us": round(_pct(lat["baseB"], 99), 1),
            "target": 3.0,
            "note": "baseline: the same two round trips per batch with redis-py (p50 per call)",
        }
    )
    ours_call = _pct(lat["oursB"], 50)
    base_call = _pct(lat["baseB"], 50)
    rows.append(
        {
            "name": f"  the server's CPU for {WRITE_BATCH} records: ours (plan and write "
            "scripts) vs the same writes as aggregated plain commands (the floor)",
            "ours": round(cpu_us["ours"], 1),
            "baseline": round(cpu_us["floor"], 1),
            "unit": "us server CPU",
            "ratio": round(cpu_us["floor"] / cpu_us["ours"], 2),
            "note": "INFO cpu (user + sys) over a run of batches: reading and parsing the "
            "requests, the scripts, the commands, the replies. The floor: one command per "
            "term, entity and index key for the batch in one MULTI/EXEC, the least any "
            f"client can ask of the server for these keys; the baseline's own: "
            f"{cpu_us['baseline']:,.0f} us",
        }
    )
    outside = max(ours_call - cpu_us["ours"], 0.0)
    rows.append(
        {
            "name": "  the most the batched ratio can be as built: the baseline's call over "
            "our scripts' server CPU (a client that took no time)",
            "ours": round(base_call / cpu_us["ours"], 2),
            "baseline": None,
            "unit": "x baseline",
            "ratio": None,
            "note": f"the baseline's {base_call:,.0f} us per call / {cpu_us['ours']:,.0f} us; "
            f"for any client of these keys (the floor's server CPU) "
            f"{base_call / cpu_us['floor']:.2f}x. Ours spends {outside:,.0f} us of its "
            f"{ours_call:,.0f} us outside the server (reading the records from Python, "
            "planning, two round trips)",
        }
    )
    return rows


def _server_cpu_us(client: Any) -> float:
    """Microseconds of CPU (user + system) the server has used so far (INFO cpu)."""
    info = client.info("cpu")
    return (float(info["used_cpu_user"]) + float(info["used_cpu_sys"])) * 1e6


def run(
    url: str | None, *, quick: bool = False, log: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    """bench/run.py's entry point."""
    rows = vector_rows(quick, log)
    gc.collect()
    n = 10_000 if quick else 100_000
    queries = 50 if quick else 300
    corpus = Corpus(n)
    with tempfile.TemporaryDirectory(prefix="zerolag-bench-memory-") as root:
        hub = zerolag.open(root=root, namespace="bench")
        try:
            took = load(hub, corpus)
            log(f"memory: embedded: loaded {n:,} records in {took:.1f} s")
            emb, kw = store_rows(hub, "embedded", corpus, queries, log)
        finally:
            hub.close()
    assert kw is not None
    rows.extend(keyword_rows(corpus, kw, queries, log))
    rows.extend(emb)
    if url:
        ns = "bmem" + uuid.uuid4().hex[:8]
        hub = zerolag.open(url, namespace=ns)
        try:
            took = load(hub, corpus)
            log(f"memory: redis: loaded {n:,} records in {took:.1f} s")
            red, _ = store_rows(hub, "redis", corpus, queries, log)
            hub.clear()
        finally:
            hub.close()
        rows.extend(red)
        rows.extend(remember_rows(url, corpus, quick))
    return rows


if __name__ == "__main__":
    for r in run(None, quick="--quick" in sys.argv):
        print(r)

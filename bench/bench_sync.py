"""The `sync` suite: zerolag's file sync against a Python file adapter (watchdog + PyYAML)
(bench/baseline_sync.py: watchdog + PyYAML CSafeLoader + redis-py) on the same redis-server,
then on the embedded backend. See bench/README.md.

* initial scan of N YAML files (10,000; 1,000 with --quick): ours is `hub.sync.start()` on a
  fresh namespace (walk, read, hash, parse in Rust, store), the baseline `initial_scan()`;
* file save -> store updated and event observed: a file is rewritten every 30 ms; the time
  until a subscriber receives `file:changed` (ours reads a file as soon as its writer closed
  it; the 50 ms debounce only holds back writes that are never closed);
* store change -> file written: a merge of one field through the API; the time until
  `file:synced` is received; also with the merge made by another process (ours only: the
  write-back wakes on the store's wake-up, not on a poll).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import redis  # noqa: E402
import zerolag  # noqa: E402
from baseline_sync import Adapter  # noqa: E402

# For bench/run.py (see bench/README.md): whether run() needs a Redis URL, and where
# a run of all suites runs this one (ascending).
NEEDS_REDIS = True
ORDER = 80


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


def make_tree(root: Path, n: int) -> None:
    rng = random.Random(5)
    for i in range(n):
        d = root / "contexts" / f"team{i % 20}" / f"area{i % 7}"
        d.mkdir(parents=True, exist_ok=True)
        fields = "\n".join(f"  key{j}: value {rng.randint(0, 10**6)}" for j in range(12))
        (d / f"doc{i}.yaml").write_text(
            f"# document {i}\nid: doc{i}\ntitle: Document number {i}\n"
            f"tags: [a, b, c{i % 5}]\nconfidence: 0.{i % 10}\nfields:\n{fields}\n"
        )


def lat_row(name: str, ours: list[float], base: list[float] | None, **kw: Any) -> dict[str, Any]:
    p99 = _pct(ours, 0.99)
    d: dict[str, Any] = {"name": name, "ours": p99, "baseline": None, "unit": "us p99"}
    d["ours_p50_us"], d["ours_p99_us"] = _pct(ours, 0.5), p99
    if base:
        b99 = _pct(base, 0.99)
        d["baseline"], d["ratio"] = b99, b99 / p99
        d["baseline_p50_us"], d["baseline_p99_us"] = _pct(base, 0.5), b99
    d.update(kw)
    return d


def durable_write_latencies(root: Path, samples: int) -> list[float]:
    """The floor of "store change -> file written": what the write-back does to the disk for
    one small file (write a temporary file, fsync it, rename it into place, fsync the
    directory), timed alone, in the same run."""
    import os

    d = root / "contexts"
    d.mkdir(parents=True, exist_ok=True)
    target = d / "floor.yaml"
    out: list[float] = []
    for i in range(samples):
        t = time.perf_counter()
        tmp = d / f".floor.yaml.tmp{i}"
        with open(tmp, "wb") as f:
            f.write(f"n: {i}\n".encode())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
        fd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        out.append((time.perf_counter() - t) * 1e6)
        time.sleep(0.03)
    return out


def ours_latencies(hub: Any, root: Path, samples: int) -> tuple[list[float], list[float]]:
    f = root / "contexts" / "live.yaml"
    f.write_text("n: 0\n")
    hub.sync.start()
    time.sleep(0.1)
    sub = hub.events.subscribe("file:changed", "file:synced")
    sub.get(timeout=0.01)
    save: list[float] = []
    for i in range(1, samples + 1):
        t = time.perf_counter()
        f.write_text(f"n: {i}\n")
        while True:
            ev = sub.get(timeout=5)
            assert ev is not None, "no file:changed"
            if ev.channel == "file:changed" and ev.data.get("path") == "contexts/live.yaml":
                break
        save.append((time.perf_counter() - t) * 1e6)
        time.sleep(0.03)
    write: list[float] = []
    for i in range(samples):
        t = time.perf_counter()
        hub.docs.merge("contexts/live.yaml", {"m": i})
        while True:
            ev = sub.get(timeout=5)
            assert ev is not None, "no file:synced"
            if ev.channel == "file:synced":
                break
        write.append((time.perf_counter() - t) * 1e6)
        time.sleep(0.01)
    sub.close()
    hub.sync.stop()
    return save, write


# Rounds of the scan (the fastest counts): on a shared 2-core machine one round in three is
# often slowed by neighbours, for either side.
ROUNDS = 5

REMOTE_WRITER = """
import sys, time, zerolag
url = None if sys.argv[1] == "-" else sys.argv[1]
hub = zerolag.open(url, root=sys.argv[2], namespace=sys.argv[3])
for line in sys.stdin:
    t = time.monotonic()
    hub.docs.merge("contexts/remote.yaml", {"m": int(line)})
    print(t, flush=True)
hub.close()
"""


def remote_write_latencies(url: str | None, root: Path, ns: str, samples: int) -> list[float]:
    """Store change made by another process -> `file:synced` seen here (CLOCK_MONOTONIC is
    one clock for both processes)."""
    out: list[float] = []
    with zerolag.open(url, root=root, namespace=ns) as hub:
        hub.sync.start()
        sub = hub.events.subscribe("file:synced")
        proc = subprocess.Popen(
            [sys.executable, "-c", REMOTE_WRITER, url or "-", str(root), ns],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdin is not None and proc.stdout is not None
        try:
            for i in range(samples + 5):
                time.sleep(0.01)
                proc.stdin.write(f"{i}\n")
                proc.stdin.flush()
                t0 = float(proc.stdout.readline())
                while True:
                    ev = sub.get(timeout=5)
                    assert ev is not None, "no file:synced"
                    if ev.data.get("path") == "contexts/remote.yaml":
                        break
                if i >= 5:  # the first few warm up both processes
                    out.append((time.monotonic() - t0) * 1e6)
        finally:
            proc.stdin.close()
            proc.wait(30)
            sub.close()
            hub.sync.stop()
            hub.clear()
    return out


def base_latencies(url: str, root: Path, samples: int) -> tuple[list[float], list[float]]:
    prefix = "bs" + uuid.uuid4().hex[:8]
    ad = Adapter(url, root, prefix)
    f = root / "contexts" / "live.yaml"
    f.write_text("n: 0\n")
    ad.initial_scan()
    ad.start(url)
    ps = redis.Redis.from_url(url).pubsub()
    ps.subscribe(f"{prefix}:file:changed", f"{prefix}:file:synced")
    while ps.get_message(timeout=0.1):
        pass

    def wait_for(channel: str) -> None:
        end = time.monotonic() + 5
        while time.monotonic() < end:
            m = ps.get_message(timeout=1)
            if m and m["type"] == "message" and m["channel"].decode().endswith(channel):
                return
        raise AssertionError(f"no {channel}")

    time.sleep(0.1)
    save: list[float] = []
    for i in range(1, samples + 1):
        t = time.perf_counter()
        f.write_text(f"n: {i}\n")
        wait_for("file:changed")
        save.append((time.perf_counter() - t) * 1e6)
        time.sleep(0.03)
        while ps.get_message(timeout=0.001):  # duplicates of the same save (no debounce)
            pass
    write: list[float] = []
    for i in range(samples):
        t = time.perf_counter()
        ad.update("contexts/live.yaml", {"m": i})
        wait_for("file:synced")
        write.append((time.perf_counter() - t) * 1e6)
        time.sleep(0.01)
        while ps.get_message(timeout=0.001):
            pass
    ps.close()
    ad.stop()
    keys = ad.r.keys(f"{prefix}:*")
    if keys:
        ad.r.delete(*keys)
    return save, write


def run(
    url: str | None, *, quick: bool = False, log: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    n = 1_000 if quick else 10_000
    samples = 30 if quick else 200
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="zerolag-bench-sync-") as tmp:
        tree = Path(tmp) / "tree"
        make_tree(tree, n)
        if url:
            # Best of ROUNDS rounds, ours and the baseline alternating, each on a fresh
            # namespace (a single run mostly measures whoever meets the cold server first).
            ours_runs: list[float] = []
            base_runs: list[float] = []
            for _ in range(ROUNDS):
                ns = "bsync" + uuid.uuid4().hex[:6]
                with zerolag.open(url, root=tree, namespace=ns) as hub:
                    t = time.perf_counter()
                    st = hub.sync.start(rescan=3600)
                    ours_runs.append(time.perf_counter() - t)
                    hub.sync.stop()
                    assert st["imported"] == n, st
                    hub.clear()
                ad = Adapter(url, tree, "bscan" + uuid.uuid4().hex[:6])
                t = time.perf_counter()
                got = ad.initial_scan()
                base_runs.append(time.perf_counter() - t)
                assert got == n
                ad.r.delete(*ad.r.keys(f"{ad.prefix}:*"))
            ours, base = min(ours_runs), min(base_runs)
            rows.append(
                {
                    "name": f"initial scan of {n:,} YAML files [redis]",
                    "ours": n / ours,
                    "baseline": n / base,
                    "unit": "files/s",
                    "ratio": base / ours,
                    "target": 5.0,
                    "note": f"best of {ROUNDS}: ours {ours * 1e3:,.0f} ms, "
                    f"baseline {base * 1e3:,.0f} ms",
                }
            )
            log(f"  scan [redis]: ours {ours * 1e3:,.0f} ms, baseline {base * 1e3:,.0f} ms")
        emb_root = Path(tmp) / "emb"
        (emb_root / "contexts").mkdir(parents=True)
        for p in (tree / "contexts").rglob("*.yaml"):
            dst = emb_root / p.relative_to(tree)
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(p.read_bytes())
        emb_runs: list[float] = []
        for k in range(ROUNDS):
            with zerolag.open(root=emb_root, namespace=f"bsync{k}") as hub:
                t = time.perf_counter()
                hub.sync.start(rescan=3600)
                emb_runs.append(time.perf_counter() - t)
                hub.sync.stop()
                hub.clear()
        ours = min(emb_runs)
        rows.append(
            {
                "name": f"initial scan of {n:,} YAML files [embedded]",
                "ours": n / ours,
                "baseline": None,
                "unit": "files/s",
                "note": f"best of {ROUNDS}: {ours * 1e3:,.0f} ms",
            }
        )
        log(f"  scan [embedded]: {ours * 1e3:,.0f} ms")
        if url:
            live = Path(tmp) / "live"
            (live / "contexts").mkdir(parents=True)
            with zerolag.open(url, root=live, namespace="bl" + uuid.uuid4().hex[:6]) as hub:
                o_save, o_write = ours_latencies(hub, live, samples)
                hub.clear()
            blive = Path(tmp) / "blive"
            (blive / "contexts").mkdir(parents=True)
            b_save, b_write = base_latencies(url, blive, samples)
            rows.append(
                lat_row(
                    "file save -> store + event [redis]",
                    o_save,
                    b_save,
                    target_p99_us=100_000,
                    note="ours reads a file once its writer closed it or renamed it into place",
                )
            )
            rows.append(lat_row("store change -> file written [redis]", o_write, b_write))
            floor = durable_write_latencies(Path(tmp) / "floor", samples)
            rows.append(
                lat_row(
                    "durable atomic file write alone (the floor of store change -> file)",
                    floor,
                    None,
                    note="write + fsync + rename + fsync of the directory, as the write-back does",
                )
            )
            rlive = Path(tmp) / "rlive"
            (rlive / "contexts").mkdir(parents=True)
            o_remote = remote_write_latencies(url, rlive, "br" + uuid.uuid4().hex[:6], samples)
            rows.append(lat_row("store change in another process -> file [redis]", o_remote, None))
            ms = [_pct(x, q) / 1e3 for x in (o_save, b_save) for q in (0.5, 0.99)]
            log("  save->store p50/p99 ms: ours {:.1f}/{:.1f}, baseline {:.1f}/{:.1f}".format(*ms))
        elive = Path(tmp) / "elive"
        (elive / "contexts").mkdir(parents=True)
        with zerolag.open(root=elive, namespace="bl") as hub:
            o_save, o_write = ours_latencies(hub, elive, samples)
        rows.append(lat_row("file save -> store + event [embedded]", o_save, None))
        rows.append(lat_row("store change -> file written [embedded]", o_write, None))
        rlive = Path(tmp) / "erlive"
        (rlive / "contexts").mkdir(parents=True)
        o_remote = remote_write_latencies(None, rlive, "br", samples)
        rows.append(lat_row("store change in another process -> file [embedded]", o_remote, None))
    return rows


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1] if len(sys.argv) > 1 else None, quick=True), indent=1))

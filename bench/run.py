"""Runs zerolag's benchmarks side by side with their baselines and writes bench/results/.

    python bench/run.py [--quick]
        [--suite tasks|protocol|events|bus|jobs|anonymize|patterns|sync|loop]
                        [--redis-url URL]

Without --redis-url it starts its own redis-server on a free port (no persistence) and stops
it at the end. Prints one table per suite and writes bench/results/<suite>.json. Timings are
reported, never asserted. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SUITES = ("tasks", "protocol", "events", "bus", "jobs", "anonymize", "patterns", "sync", "loop")
NEEDS_REDIS = {"tasks", "events", "bus", "jobs", "patterns", "sync", "loop"}
sys.path.insert(0, str(HERE))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def local_redis() -> Iterator[str]:
    """A throwaway redis-server on a free port, without persistence."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit("redis-server not found; install it or pass --redis-url")
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="zerolag-bench-redis-")
    proc = subprocess.Popen(
        [
            exe,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def machine(redis_url: str | None) -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "redis_version": None,
        # The figures depend on what else the machine was doing.
        "loadavg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
    try:
        import zerolag

        info["zerolag"] = zerolag.__version__
    except Exception:  # noqa: BLE001 - informational only
        pass
    if redis_url:
        try:
            import redis

            r = redis.Redis.from_url(redis_url)
            info["redis_version"] = r.info("server").get("redis_version")
            r.close()
        except Exception:  # noqa: BLE001 - informational only
            pass
    return info


def _fmt(v: Any, digits: int = 0) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return str(v)


def print_table(suite: str, rows: list[dict[str, Any]]) -> None:
    head = ["comparison", "ours", "baseline", "unit", "ratio", "ours p50/p99 us", "base p50/p99 us"]
    body = []
    for r in rows:
        ratio = r.get("ratio")
        body.append(
            [
                str(r["name"]),
                _fmt(r.get("ours"), 1 if (r.get("ours") or 0) < 100 else 0),
                _fmt(r.get("baseline"), 1 if (r.get("baseline") or 0) < 100 else 0),
                str(r.get("unit", "")),
                f"{ratio:.2f}x" if isinstance(ratio, (int, float)) else "-",
                f"{_fmt(r.get('ours_p50_us'), 1)} / {_fmt(r.get('ours_p99_us'), 1)}",
                f"{_fmt(r.get('baseline_p50_us'), 1)} / {_fmt(r.get('baseline_p99_us'), 1)}",
            ]
        )
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    line = "  ".join
    print(f"\n== {suite} ==")
    print(line(h.ljust(w) for h, w in zip(head, widths, strict=True)))
    print(line("-" * w for w in widths))
    for b, r in zip(body, rows, strict=True):
        print(
            line(
                c.ljust(w) if i in (0, 3) else c.rjust(w)
                for i, (c, w) in enumerate(zip(b, widths, strict=True))
            )
        )
        if r.get("note"):
            print("    " + str(r["note"]))


def write(suite: str, rows: list[dict[str, Any]], mach: dict[str, Any], quick: bool) -> Path:
    # A --quick run is a smoke test: it must not overwrite the real figures.
    out = RESULTS / "quick" if quick else RESULTS
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{suite}.json"
    doc = {
        "suite": suite,
        "quick": quick,
        "machine": mach,
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "rows": rows,
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path


def _suite_tasks(url: str | None, quick: bool) -> list[dict[str, Any]] | None:
    import bench_tasks

    return bench_tasks.run(url, quick=quick, log=lambda s: print(s, flush=True))


def _suite_protocol(url: str | None, quick: bool) -> list[dict[str, Any]] | None:
    try:
        mod = importlib.import_module("bench_protocol")
    except ImportError as e:
        print(f"  protocol suite skipped: bench/bench_protocol.py not importable ({e})")
        return None
    n = 10_000 if quick else 100_000
    rows: list[dict[str, Any]] = mod.run(n=n)
    return rows


def _suite_events(url: str | None, quick: bool) -> list[dict[str, Any]] | None:
    import bench_events

    return bench_events.run(url, quick=quick, log=lambda s: print(s, flush=True))


def _suite_anonymize(url: str | None, quick: bool) -> list[dict[str, Any]] | None:
    import bench_anonymize

    return bench_anonymize.run(quick=quick)


def _suite_bus(url: str | None, quick: bool) -> list[dict[str, Any]] | None:
    import bench_bus

    return bench_bus.run(url, quick=quick, log=lambda s: print(s, flush=True))


def _suite_jobs(url: str | None, quick: bool) -> list[dict[str, Any]] | None:
    import bench_jobs

    return bench_jobs.run(url, quick=quick, log=lambda s: print(s, flush=True))


def _suite_patterns(url: str | None, quick: bool) -> list[dict[str, Any]] | None:
    import bench_patterns

    return bench_patterns.run(url, quick=quick, log=lambda s: print(s, flush=True))


def _suite_sync(url: str | None, quick: bool) -> list[dict[str, Any]] | None:
    import bench_sync

    return bench_sync.run(url, quick=quick, log=lambda s: print(s, flush=True))


def _suite_loop(url: str | None, quick: bool) -> list[dict[str, Any]] | None:
    import bench_loop

    return bench_loop.run(url, quick=quick, log=lambda s: print(s, flush=True))


RUNNERS: dict[str, Callable[[str | None, bool], list[dict[str, Any]] | None]] = {
    "tasks": _suite_tasks,
    "protocol": _suite_protocol,
    "events": _suite_events,
    "anonymize": _suite_anonymize,
    "bus": _suite_bus,
    "jobs": _suite_jobs,
    "sync": _suite_sync,
    "patterns": _suite_patterns,
    "loop": _suite_loop,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="about 10x smaller: a smoke run")
    ap.add_argument(
        "--suite",
        action="append",
        choices=SUITES,
        help="run only this suite (repeatable); default: all",
    )
    ap.add_argument("--redis-url", help="use this Redis instead of starting a redis-server")
    ap.add_argument("--no-write", action="store_true", help="do not write bench/results/")
    args = ap.parse_args(argv)
    suites = args.suite or list(SUITES)

    def go(url: str | None) -> None:
        mach = machine(url)
        print(f"machine: {json.dumps(mach)}; redis: {url}", flush=True)
        for s in suites:
            print(f"\n-- suite {s}{' (quick)' if args.quick else ''}", flush=True)
            t0 = time.perf_counter()
            rows = RUNNERS[s](url, args.quick)
            if rows is None:
                continue
            print_table(s, rows)
            if not args.no_write:
                p = write(s, rows, mach, args.quick)
                print(f"  wrote {p.relative_to(HERE.parent)} ({time.perf_counter() - t0:.1f} s)")

    if args.redis_url:
        go(args.redis_url)
    elif NEEDS_REDIS & set(suites):
        with local_redis() as url:
            go(url)
    else:
        go(None)
    return 0


if __name__ == "__main__":
    sys.exit(main())

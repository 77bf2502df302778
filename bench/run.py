"""Runs zerolag's benchmarks side by side with their baselines and writes bench/results/.

    python bench/run.py [--quick] [--suite NAME ...] [--redis-url URL]

Every bench/bench_<name>.py is the suite <name> (`--help` lists them): it defines
run(url, *, quick, log) returning its rows, and NEEDS_REDIS and ORDER where they apply (see
bench/README.md). When a suite needs Redis and there is no --redis-url, this starts its own
redis-server on a free port (no persistence) and stops it at the end. Prints one table per
suite and writes bench/results/<suite>.json. Timings are reported, never asserted.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))
Rows = list[dict[str, Any]]


def suite_names() -> list[str]:
    """Every bench/bench_<name>.py is a suite."""
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


@dataclass(frozen=True)
class Suite:
    name: str
    run: Callable[..., Rows]  # run(url: str | None, *, quick: bool, log: Callable[[str], None])
    needs_redis: bool  # the module's NEEDS_REDIS (default False): run() gets a Redis URL
    order: int  # the module's ORDER (default 100): where a run of all suites runs it


def load(name: str) -> Suite:
    mod = importlib.import_module(f"bench_{name}")
    run = getattr(mod, "run", None)
    if not callable(run):
        raise SystemExit(f"bench/bench_{name}.py has no run(url, *, quick, log)")
    needs_redis = bool(getattr(mod, "NEEDS_REDIS", False))
    return Suite(name, run, needs_redis, int(getattr(mod, "ORDER", 100)))


def _log(line: str) -> None:
    print(line, flush=True)


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
    elif shutil.which("redis-server"):  # a suite that starts its own servers (scale)
        try:
            out = subprocess.run(
                ["redis-server", "--version"], capture_output=True, text=True, timeout=10
            ).stdout
            info["redis_version"] = out.split("v=", 1)[1].split()[0] if "v=" in out else None
        except (OSError, subprocess.SubprocessError):  # informational only
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="about 10x smaller: a smoke run")
    names = suite_names()
    ap.add_argument(
        "--suite",
        action="append",
        choices=names,
        help="run only this suite (repeatable); default: all, ordered by their modules' ORDER",
    )
    ap.add_argument("--redis-url", help="use this Redis instead of starting a redis-server")
    ap.add_argument("--no-write", action="store_true", help="do not write bench/results/")
    args = ap.parse_args(argv)
    if args.suite:
        suites = [load(n) for n in args.suite]
    else:
        suites = sorted((load(n) for n in names), key=lambda s: (s.order, s.name))

    def go(url: str | None) -> None:
        mach = machine(url)
        print(f"machine: {json.dumps(mach)}; redis: {url}", flush=True)
        for s in suites:
            print(f"\n-- suite {s.name}{' (quick)' if args.quick else ''}", flush=True)
            t0 = time.perf_counter()
            rows = s.run(url, quick=args.quick, log=_log)
            print_table(s.name, rows)
            if not args.no_write:
                p = write(s.name, rows, mach, args.quick)
                print(f"  wrote {p.relative_to(HERE.parent)} ({time.perf_counter() - t0:.1f} s)")

    if args.redis_url:
        go(args.redis_url)
    elif any(s.needs_redis for s in suites):
        with local_redis() as url:
            go(url)
    else:
        go(None)
    return 0


if __name__ == "__main__":
    sys.exit(main())

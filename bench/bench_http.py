"""Suite `http`: live events over Server-Sent Events from ``zerolag serve`` against
sse-starlette on uvicorn fed by redis-py pub/sub (baseline_http.py), and the dashboard.

``run(url, quick=False, log=print)`` returns rows for bench/run.py. Three processes per case:
the server, the SSE clients (bench/http_clients.py: N raw-asyncio clients on loopback) and
this one, which publishes on the same redis-server for both sides at a paced rate. Latency is
``time.monotonic_ns()`` (one clock for every process on Linux): the publisher puts its send
time in the event, the client process subtracts it on receipt.

* delivery p50/p99 to all clients at 10 events/s;
* the highest publish rate (stepped up) at which every client gets every event and the p99
  stays under 100 ms;
* the client process's own ceiling, the same ramp against bench/http_floor.py (a server that
  only writes frames): what the client side can take at all;
* the dashboard: publish -> the row shown in headless Chromium (a MutationObserver's
  timestamp in the page against the publish time), when chromium and chromedriver are there;
* ``/metrics`` scrape time with 10,000 jobs and 100 agents, when the server has ``/metrics``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import zerolag  # noqa: E402

NEEDS_REDIS = True
ORDER = 90

P99_LIMIT_MS = 100.0
CHANNEL = "bench"

OURS_SERVER = """
import sys
sys.path.insert(0, sys.argv[4])
import http_clients
http_clients.raise_fd_limit()
import zerolag
hub = zerolag.open(sys.argv[1], namespace=sys.argv[2])
srv = hub.serve(host="127.0.0.1", port=int(sys.argv[3]), max_clients=4096)
print("ready", srv.port, flush=True)
sys.stdin.read()
srv.close()
hub.close()
"""

Log = Callable[[str], None]
Publish = Callable[[dict[str, Any]], Any]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[str], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start on port {port}")
        time.sleep(0.05)


@contextmanager
def _process(args: list[str], what: str, port: int) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=HERE,
    )
    try:
        _wait_port(port, proc, what)
        yield proc
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Clients:
    """The client process (bench/http_clients.py) on ``path`` of a server."""

    def __init__(self, port: int, path: str, n: int) -> None:
        self.n = n
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "http_clients.py"), "127.0.0.1", str(port), path, str(n)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if not line or line[0] != "ready":
            self.close()
            raise RuntimeError(f"SSE clients did not connect: {line}")
        self.connected = int(line[1])

    def ask(self, cmd: str) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        return dict(json.loads(self.proc.stdout.readline()))

    def close(self) -> None:
        if self.proc.stdin:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _pace(rate: float, seconds: float) -> Iterator[int]:
    """Yields each event's index at its time: ``rate`` a second for ``seconds``."""
    n = max(1, int(rate * seconds))
    t0 = time.perf_counter()
    for i in range(n):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0.0002:
            time.sleep(delay)
        yield i


def _phase(
    clients: Clients, emit: Callable[[int, float, float], int], phase: int, rate: float, secs: float
) -> dict[str, Any]:
    """One step: emit at ``rate`` for ``secs``, wait for the frames (up to 3 s more), report."""
    t0 = time.perf_counter()
    sent = emit(phase, rate, secs)
    took = time.perf_counter() - t0
    want = sent * clients.n
    deadline = time.monotonic() + 3.0
    while True:
        time.sleep(0.2)
        # report pops the phase's figures: ask once the frames are in or the wait is over
        if time.monotonic() > deadline:
            break
        got = clients.ask(f"count {phase}")
        if got["n"] >= want:
            break
    rep = clients.ask(f"report {phase}")
    rep.update(sent=sent, want=want, achieved_rate=sent / took if took else rate)
    rep["ok"] = (
        rep["n"] >= want
        and rep["p99_us"] / 1e3 < P99_LIMIT_MS
        and rep["achieved_rate"] >= 0.9 * rate
    )
    return rep


def _ramp(
    clients: Clients,
    emit: Callable[[int, float, float], int],
    rates: list[float],
    secs: float,
    log: Log,
    label: str,
) -> tuple[dict[str, Any], float, str]:
    """The first step at rates[0] (its figures returned) and the highest passing rate."""
    first: dict[str, Any] = {}
    best = 0.0
    why = "every step passed"
    for k, rate in enumerate(rates):
        rep = _phase(clients, emit, k + 1, rate, secs)
        log(
            f"    {label}: {rate:>6,.0f} ev/s -> {rep['n']:,}/{rep['want']:,} frames, "
            f"p50 {rep['p50_us'] / 1e3:.1f} ms, p99 {rep['p99_us'] / 1e3:.1f} ms, "
            f"published {rep['achieved_rate']:,.0f}/s, {rep['connected']} connected"
        )
        if k == 0:
            first = rep
        if not rep["ok"]:
            if rep["achieved_rate"] < 0.9 * rate:
                why = f"the publisher reached only {rep['achieved_rate']:,.0f}/s at {rate:,.0f}/s"
            elif rep["n"] < rep["want"]:
                why = f"{rep['want'] - rep['n']:,} frames missing at {rate:,.0f}/s"
            else:
                why = f"p99 {rep['p99_us'] / 1e3:.0f} ms at {rate:,.0f}/s"
            break
        best = rate
    return first, best, why


def _publisher(publish: Publish) -> Callable[[int, float, float], int]:
    def emit(phase: int, rate: float, secs: float) -> int:
        n = 0
        for i in _pace(rate, secs):
            publish({"p": phase, "t": time.monotonic_ns(), "i": i})
            n += 1
        return n

    return emit


def _sse_case(
    label: str,
    port: int,
    server_args: list[str],
    publish: Publish,
    n_clients: int,
    rates: list[float],
    secs: float,
    log: Log,
) -> tuple[dict[str, Any], float, str]:
    with _process(server_args, label, port):
        clients = Clients(port, f"/realtime?channel={CHANNEL}", n_clients)
        try:
            if clients.connected < n_clients:
                raise RuntimeError(f"{label}: only {clients.connected}/{n_clients} connected")
            time.sleep(0.5)
            return _ramp(clients, _publisher(publish), rates, secs, log, label)
        finally:
            clients.close()


def _floor_case(
    n_clients: int, rates: list[float], secs: float, log: Log
) -> tuple[dict[str, Any], float, str]:
    port = _free_port()
    with _process([str(HERE / "http_floor.py"), str(port)], "frame server", port) as proc:
        clients = Clients(port, "/realtime", n_clients)

        def emit(phase: int, rate: float, s: float) -> int:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(f"emit {phase} {rate} {s}\n")
            proc.stdin.flush()
            return int(proc.stdout.readline().split()[1])

        try:
            time.sleep(0.5)
            return _ramp(clients, emit, rates, secs, log, "client ceiling")
        finally:
            clients.close()


def _ms(us: float) -> float:
    return round(us / 1e3, 2)


def _sse_rows(url: str, quick: bool, log: Log) -> list[dict[str, Any]]:
    import baseline_http
    import redis

    n_clients = 100 if quick else 1000
    secs = 1.0 if quick else 3.0
    rates = [10.0, 100.0, 1000.0] if quick else [10, 20, 50, 100, 200, 500, 1000, 2000, 5000]
    rates = [float(r) for r in rates]
    ns = "bench-http-" + uuid.uuid4().hex[:8]

    log(f"  zerolag serve, {n_clients} SSE clients")
    hub = zerolag.open(url, namespace=ns)
    try:
        port = _free_port()
        ours_first, ours_best, ours_why = _sse_case(
            "zerolag serve",
            port,
            ["-c", OURS_SERVER, url, ns, str(port), str(HERE)],
            lambda d: hub.events.publish(CHANNEL, d),
            n_clients,
            rates,
            secs,
            log,
        )
    finally:
        hub.clear()
        hub.close()

    log(f"  sse-starlette + uvicorn + redis-py pub/sub, {n_clients} SSE clients")
    r = redis.Redis.from_url(url)
    try:
        port = _free_port()
        base_first, base_best, base_why = _sse_case(
            "sse-starlette",
            port,
            [str(HERE / "baseline_http.py"), url, str(port)],
            lambda d: baseline_http.publish(r, CHANNEL, d),
            n_clients,
            rates,
            secs,
            log,
        )
    finally:
        r.close()

    log(f"  client process alone (frame server), {n_clients} SSE clients")
    floor_first, floor_best, floor_why = _floor_case(n_clients, rates, secs, log)

    def ratio(a: float, b: float) -> float | None:
        return round(a / b, 2) if a and b else None

    return [
        {
            "name": f"SSE delivery to {n_clients:,} clients at 10 events/s, p99",
            "ours": _ms(ours_first["p99_us"]),
            "baseline": _ms(base_first["p99_us"]),
            "unit": "ms p99",
            "ratio": ratio(base_first["p99_us"], ours_first["p99_us"]),
            "ours_p50_us": round(ours_first["p50_us"], 1),
            "ours_p99_us": round(ours_first["p99_us"], 1),
            "baseline_p50_us": round(base_first["p50_us"], 1),
            "baseline_p99_us": round(base_first["p99_us"], 1),
            "note": (
                f"frames delivered: ours {ours_first['n']:,}/{ours_first['want']:,}, "
                f"baseline {base_first['n']:,}/{base_first['want']:,}; client process alone "
                f"(frame server): p99 {_ms(floor_first['p99_us'])} ms"
            ),
        },
        {
            "name": f"highest publish rate with p99 < 100 ms to {n_clients:,} clients",
            "ours": ours_best,
            "baseline": base_best,
            "unit": "events/s",
            "ratio": ratio(ours_best, base_best),
            "target": 3.0,
            "note": (
                f"stepped {', '.join(f'{x:g}' for x in rates)} events/s, {secs:g} s each; "
                f"ours stopped: {ours_why}; baseline stopped: {base_why}; "
                f"the client process alone reached {floor_best:g}/s ({floor_why})"
            ),
        },
        {
            "name": f"client process ceiling alone, {n_clients:,} clients (frame server)",
            "ours": floor_best,
            "unit": "events/s",
            "note": (
                "bench/http_floor.py only writes frames: the most this client process can take "
                f"at p99 < 100 ms ({floor_why}); ours reached "
                f"{100 * ours_best / floor_best if floor_best else 0:.0f} % of it"
            ),
        },
    ]


def _dashboard_row(url: str, quick: bool, log: Log) -> dict[str, Any] | None:
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium")
    driver_bin = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
    if not chromium or not driver_bin:
        log("  dashboard: skipped (no chromium/chromedriver; scripts/ensure-chromium.sh)")
        return None
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        log("  dashboard: skipped (selenium is not installed: the dev extra)")
        return None
    os.environ.setdefault("SE_OFFLINE", "true")
    n = 20 if quick else 200
    ns = "bench-dash-" + uuid.uuid4().hex[:8]
    log(f"  dashboard: {n} events published -> shown in headless Chromium")
    hub = zerolag.open(url, namespace=ns)
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for a in ("--headless=new", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"):
        opts.add_argument(a)
    if os.geteuid() == 0:
        opts.add_argument("--no-sandbox")
    try:
        srv = hub.serve(host="127.0.0.1", port=0)
        browser = webdriver.Chrome(options=opts, service=Service(driver_bin))
        try:
            browser.get(srv.url)
            deadline = time.monotonic() + 20
            while (
                browser.execute_script(
                    "return document.querySelector('[data-testid=conn]').dataset.state"
                )
                != "live"
            ):
                if time.monotonic() > deadline:
                    raise RuntimeError("the dashboard did not connect")
                time.sleep(0.1)
            browser.execute_script(
                """
                window.__shown = {};
                new MutationObserver((records) => {
                  const at = performance.timeOrigin + performance.now();
                  for (const r of records) for (const node of r.addedNodes)
                    if (node.dataset && node.dataset.id && !(node.dataset.id in window.__shown))
                      window.__shown[node.dataset.id] = at;
                }).observe(document.getElementById('tail'), {childList: true});
                """
            )
            sent: dict[str, float] = {}
            for i in range(n):
                t = time.time() * 1000
                ev = hub.events.publish("dash", {"i": i})
                sent[ev.id] = t
                time.sleep(0.05)
            deadline = time.monotonic() + 20
            shown: dict[str, float] = {}
            while time.monotonic() < deadline:
                shown = browser.execute_script("return window.__shown")
                if all(k in shown for k in sent):
                    break
                time.sleep(0.2)
        finally:
            browser.quit()
            srv.close()
    finally:
        hub.clear()
        hub.close()
    lat = sorted(shown[k] - sent[k] for k in sent if k in shown)
    if not lat:
        return None
    p50 = lat[len(lat) // 2]
    p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
    return {
        "name": "dashboard: publish -> row shown in the page (headless Chromium)",
        "ours": round(p50, 1),
        "unit": "ms p50",
        "ours_p50_us": round(p50 * 1e3, 1),
        "ours_p99_us": round(p99 * 1e3, 1),
        "note": (
            f"{len(lat)}/{n} events 50 ms apart, shown = a MutationObserver on the tail "
            "(performance.timeOrigin + now) against time.time() before publish; "
            "the page's status refresh is once a second and after each event"
        ),
    }


def _metrics_row(url: str, quick: bool, log: Log) -> dict[str, Any] | None:
    ns = "bench-metrics-" + uuid.uuid4().hex[:8]
    hub = zerolag.open(url, namespace=ns)
    try:
        srv = hub.serve(host="127.0.0.1", port=0)
        try:
            try:
                urllib.request.urlopen(srv.url.rstrip("/") + "/metrics", timeout=10).read()
            except OSError:
                log("  /metrics: skipped (the server has no /metrics route)")
                return None
            n_jobs = 1_000 if quick else 10_000
            log(f"  /metrics with {n_jobs:,} jobs and 100 agents")
            kinds = ["email", "resize", "index", "report"]
            for start in range(0, n_jobs, 1000):
                hub.jobs.enqueue_many(
                    [
                        {"kind": kinds[i % 4], "payload": {"i": i}}
                        for i in range(start, min(n_jobs, start + 1000))
                    ]
                )
            hub.bus.register("bench")
            for a in range(100):
                hub.bus.register(f"agent{a}")
                hub.bus.share("bench", f"agent{a}", {"hello": a})
            times = []
            for _ in range(10 if quick else 50):
                t = time.perf_counter()
                urllib.request.urlopen(srv.url.rstrip("/") + "/metrics", timeout=30).read()
                times.append((time.perf_counter() - t) * 1e3)
        finally:
            srv.close()
    finally:
        hub.clear()
        hub.close()
    times.sort()
    p50 = times[len(times) // 2]
    return {
        "name": f"/metrics scrape, {n_jobs:,} jobs and 100 agents",
        "ours": round(p50, 2),
        "unit": "ms p50",
        "ours_p50_us": round(p50 * 1e3, 1),
        "ours_p99_us": round(times[-1] * 1e3, 1),
        "note": f"{len(times)} scrapes over loopback HTTP; goal under 50 ms",
    }


def run(url: str | None, *, quick: bool = False, log: Log = print) -> list[dict[str, Any]]:
    if not url:
        raise SystemExit("suite http needs Redis (the baseline is redis-py pub/sub)")
    rows = _sse_rows(url, quick, log)
    for extra in (_dashboard_row, _metrics_row):
        row = extra(url, quick, log)
        if row:
            rows.append(row)
    return rows


if __name__ == "__main__":
    for row in run(sys.argv[1] if len(sys.argv) > 1 else None, quick="--quick" in sys.argv):
        print(row)

"""``hub.chat`` against a redis-py chat history (baseline_chat.py), rows of the suite
``analytics`` (bench/bench_analytics.py imports this module; ``python bench/analytics_chat.py
[redis-url] [--quick]`` runs it alone).

Rows:

- a chat turn: append one message, then read the newest 50 (what a prompt is built from), on
  a conversation kept at its 1,000-message cap, like for like: two calls each (ours
  ``append`` + ``recent(50)``, the baseline ``XADD MAXLEN ~`` + ``XREVRANGE COUNT 50``
  decoded), and one round trip each (ours ``append_recent(n=50)``, the baseline the same two
  commands pipelined). p50/p99 per turn; the sides alternate in blocks of 100 turns
  (bench/alternate.py). Goal: at least 2x.
- the floor of a turn: polled raw-socket round trips from Python (one per call) plus the
  server's own time (``INFO commandstats``) for ``XADD`` and ``XREVRANGE COUNT 50``; ours
  is reported against it (1.0 would be at the floor).
- delivery to a follower in another process: a message appended every millisecond carries
  ``time.monotonic_ns()`` (one clock for every process on Linux); the follower process
  subtracts it on receipt. Ours ``hub.chat.follow``, the baseline an ``XREAD BLOCK`` loop on
  a connection of its own. p99; goal under 10 ms.
- the same two on the embedded store (ours only: a turn, and delivery across processes
  through the commit watch).
"""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import zerolag  # noqa: E402
from alternate import alternate, timed  # noqa: E402
from baseline_chat import RedisChat  # noqa: E402

NEEDS_REDIS = True

CONTENT = (
    "Could you look at the failing login test and tell me whether the refresh token "
    "rotation or the clock skew check is what breaks it? "
)

FOLLOWER = """
import json, sys, time
sys.path.insert(0, sys.argv[5])
impl, target, ns, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
if impl == "ours":
    import zerolag
    hub = zerolag.open(target if "://" in target else None, root=target, namespace=ns)
    stream = (m.meta for m in hub.chat.follow("live"))
else:
    from baseline_chat import RedisChat
    stream = (m["meta"] for m in RedisChat(target, ns).follow("live"))
print("ready", flush=True)
lat = []
for meta in stream:
    lat.append((time.monotonic_ns() - meta["t"]) / 1e3)
    if len(lat) == n:
        break
print(json.dumps(lat), flush=True)
"""


def _pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(p / 100 * len(s)))] if s else float("nan")


def _row(name: str, ours: list[float], base: list[float] | None, **kw: Any) -> dict[str, Any]:
    o50, o99 = _pct(ours, 50), _pct(ours, 99)
    d: dict[str, Any] = {"name": name, "ours": round(o50, 1), "unit": "us p50"}
    d["ours_p50_us"], d["ours_p99_us"] = round(o50, 1), round(o99, 1)
    if base:
        b50 = _pct(base, 50)
        d["baseline"] = round(b50, 1)
        d["ratio"] = round(b50 / o50, 2)
        d["baseline_p50_us"], d["baseline_p99_us"] = round(b50, 1), round(_pct(base, 99), 1)
    else:
        d["baseline"], d["ratio"] = None, None
    d.update(kw)
    return d


def _delivery(
    impl: str, target: str, ns: str, n: int, send: Callable[[dict[str, int]], Any]
) -> list[float]:
    proc = subprocess.Popen(
        [sys.executable, "-c", FOLLOWER, impl, target, ns, str(n), str(HERE)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{impl} follower did not start")
        time.sleep(0.3)  # let it reach its first wait
        for _ in range(n):
            send({"t": time.monotonic_ns()})
            time.sleep(0.001)
        out = proc.stdout.readline()
        proc.wait(timeout=60)
        return [float(x) for x in json.loads(out)]
    finally:
        proc.kill()


def _delivery_row(label: str, ours: list[float], base: list[float] | None) -> dict[str, Any]:
    o99 = _pct(ours, 99)
    d: dict[str, Any] = {
        "name": f"chat append -> follow in another process [{label}] (p99 goal < 10 ms)",
        "ours": round(o99, 1),
        "unit": "us p99",
        "ours_p50_us": round(statistics.median(ours), 1),
        "ours_p99_us": round(o99, 1),
        "note": f"{len(ours)} messages 1 ms apart; "
        + ("baseline follower: XREAD BLOCK on its own connection" if base else "no baseline"),
    }
    if base:
        b99 = _pct(base, 99)
        d.update(
            baseline=round(b99, 1),
            ratio=round(b99 / o99, 2),
            baseline_p50_us=round(statistics.median(base), 1),
            baseline_p99_us=round(b99, 1),
        )
    else:
        d.update(baseline=None, ratio=None)
    return d


def _fill(hub: Any, base: RedisChat | None) -> None:
    """Both conversations at their 1,000-message cap, so every turn also trims."""
    for i in range(0, 1000, 250):
        hub.chat.append_many("turns", [("user", f"{CONTENT}{j}") for j in range(i, i + 250)])
        if base is not None:
            p = base.r.pipeline(transaction=False)
            for j in range(i, i + 250):
                p.xadd(base._key("turns"), {"role": "user", "content": f"{CONTENT}{j}"})
            p.execute()


def _turn_rows(
    label: str, hub: Any, base: RedisChat | None, n: int, log: Callable[[str], None]
) -> list[dict[str, Any]]:
    _fill(hub, base)

    def ours(i: int) -> None:
        hub.chat.append("turns", "user", CONTENT)
        assert len(hub.chat.recent("turns", 50)) == 50

    def ours_one(i: int) -> None:
        _, msgs = hub.chat.append_recent("turns", "user", CONTENT, n=50)
        assert len(msgs) == 50

    if base is None:
        o, o1 = alternate([ours, ours_one], n)
        log(f"  {label} turn: ours p50 {_pct(o, 50):.0f} us, append_recent {_pct(o1, 50):.0f} us")
        return [
            _row(f"chat append then recent(50) [{label}]", o, None, note=f"{n} turns"),
            _row(
                f"chat turn in one call, append_recent(n=50) [{label}]", o1, None, note=f"{n} turns"
            ),
        ]

    def theirs(i: int) -> None:
        base.append("turns", "user", CONTENT)
        assert len(base.recent("turns", 50)) == 50

    def piped(i: int) -> None:
        _, rows = base.append_and_recent("turns", "user", CONTENT, 50)
        assert len(rows) == 50

    o, o1, b, p = alternate([ours, ours_one, theirs, piped], n)
    log(
        f"  {label} turn: ours p50 {_pct(o, 50):.0f} us (append_recent {_pct(o1, 50):.0f} us), "
        f"redis-py {_pct(b, 50):.0f} us, pipelined {_pct(p, 50):.0f} us"
    )
    note = f"{n} turns on a conversation at its 1,000 cap (both trim on every append)"
    return [
        _row(
            f"chat append then recent(50) [{label}] vs redis-py, two calls each",
            o,
            b,
            target=2.0,
            note=note,
        ),
        _row(
            f"chat turn in one round trip [{label}]: append_recent(n=50) vs redis-py pipelined "
            "XADD + XREVRANGE",
            o1,
            p,
            target=2.0,
            note=note,
        ),
    ]


def _polled_ping(url: str, k: int) -> list[float]:
    """A raw RESP ``PING`` from Python on a non-blocking socket polled until the reply is in:
    the shortest round trip a Python caller can have (ours polls its socket the same way)."""
    r = RedisChat(url, "").r
    kw = r.connection_pool.connection_kwargs
    s = socket.create_connection((kw.get("host", "127.0.0.1"), int(kw.get("port", 6379))))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.setblocking(False)

    def ping(_: int) -> None:
        s.sendall(b"PING\r\n")
        while True:
            try:
                if s.recv(64):
                    return
            except BlockingIOError:
                pass

    try:
        return timed(ping, 0, k)
    finally:
        s.close()
        r.close()


def _server_us(base: RedisChat, n: int) -> float:
    """The server's own time (INFO commandstats) for one pipelined turn of the baseline:
    ``XADD`` plus ``XREVRANGE COUNT 50``, the commands any turn needs."""
    base.r.config_resetstat()
    for _ in range(n):
        base.append_and_recent("turns", "user", CONTENT, 50)
    st = base.r.info("commandstats")
    return float(sum(st[c]["usec"] for c in ("cmdstat_xadd", "cmdstat_xrevrange") if c in st) / n)


def _floor_rows(url: str, base: RedisChat, ours: dict[str, float], n: int) -> list[dict[str, Any]]:
    """Ours against the physical floor: polled round trips plus the server's time."""
    rt = _pct(_polled_ping(url, n), 50)
    srv = _server_us(base, min(n, 1000))
    out = []
    for name, trips in (("two calls", 2), ("one round trip", 1)):
        floor = trips * rt + srv
        out.append(
            {
                "name": f"chat turn [redis], {name}: ours vs the floor ({trips} polled round "
                "trip(s) + the server's time for XADD and XREVRANGE COUNT 50)",
                "ours": round(ours[name], 1),
                "baseline": round(floor, 1),
                "ratio": round(floor / ours[name], 2),
                "unit": "us p50",
                "note": f"round trip {rt:.0f} us p50 (raw socket, polled), server {srv:.0f} us",
            }
        )
    return out


def run(
    url: str | None, *, quick: bool = False, log: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    """The rows (see the module's docstring); ``quick``: about 10x smaller."""
    n_turns, n_live = (300, 200) if quick else (5_000, 2_000)
    rows: list[dict[str, Any]] = []
    ns = "bench-chat-" + uuid.uuid4().hex[:8]
    if url:
        log("  chat on redis")
        hub = zerolag.open(url, namespace=ns)
        base = RedisChat(url, f"bcb{ns}:")
        try:
            turn = _turn_rows("redis", hub, base, n_turns, log)
            rows += turn
            rows += _floor_rows(
                url,
                base,
                {"two calls": turn[0]["ours"], "one round trip": turn[1]["ours"]},
                n_turns,
            )
            log(f"  floor rows: {rows[-2]['note']}")
            o = _delivery(
                "ours", url, ns, n_live, lambda m: hub.chat.append("live", "user", "hi", m)
            )
            b = _delivery(
                "redis-py", url, f"bcb{ns}:", n_live, lambda m: base.append("live", "user", "hi", m)
            )
            rows.append(_delivery_row("redis", o, b))
            log(f"  redis follow: ours p99 {_pct(o, 99):.0f} us, XREAD BLOCK {_pct(b, 99):.0f} us")
        finally:
            hub.clear()
            hub.close()
            base.r.delete(*base.r.keys(f"bcb{ns}:*") or ["-"])
            base.close()
    log("  chat on embedded")
    with tempfile.TemporaryDirectory(prefix="zl-bench-chat-") as d:
        hub = zerolag.open(root=d, namespace=ns)
        try:
            rows += _turn_rows("embedded", hub, None, n_turns, log)
            o = _delivery("ours", d, ns, n_live, lambda m: hub.chat.append("live", "user", "hi", m))
            rows.append(_delivery_row("embedded", o, None))
            log(f"  embedded follow: ours p99 {_pct(o, 99):.0f} us")
        finally:
            hub.close()
    return rows


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    for r in run(args[0] if args else None, quick="--quick" in sys.argv):
        print(r)

"""The SSE client process of the `http` suite: N concurrent Server-Sent Events clients on
loopback, in one process apart from the server and the publisher.

    python bench/http_clients.py HOST PORT PATH N

Raw asyncio streams (uvloop when installed): each client sends one ``GET PATH`` (HTTP/1.1),
reads the response head, then de-chunks the body and pulls the publisher's send time out of
each frame (``"t": <time.monotonic_ns()>``, one clock for every process on Linux) without
parsing the JSON. When every client has its response head it prints ``ready N``. Then it
reads commands on stdin, one a line:

* ``report P``: prints one JSON line for the frames of phase P (``"p": P`` in the data) that
  came in so far: how many, p50/p99/max latency in µs, and how many clients are connected;
  then forgets them.
* ``count P``: prints ``{"n": frames of phase P so far}``.
* ``quit`` (or end of input): closes every client and exits.

A client whose connection the server closes (a slow client dropped) is counted as gone, not
reconnected: the phase's delivery count shows it.
"""

from __future__ import annotations

import asyncio
import json
import re
import resource
import sys
import time

FRAME = re.compile(rb'"p": ?(\d+)[^\n]*?"t": ?(\d+)|"t": ?(\d+)[^\n]*?"p": ?(\d+)')


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 1 << 16
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


class Stats:
    def __init__(self) -> None:
        self.lat: dict[int, list[int]] = {}
        self.connected = 0
        self.failed = 0

    def frames(self, body: bytes, now: int) -> None:
        for m in FRAME.finditer(body):
            if m.group(1) is not None:
                p, t = int(m.group(1)), int(m.group(2))
            else:
                p, t = int(m.group(4)), int(m.group(3))
            self.lat.setdefault(p, []).append(now - t)


def _pct_us(xs: list[int], p: float) -> float:
    """Percentile p of sorted nanosecond figures, in µs."""
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] / 1e3 if xs else 0.0


async def client(host: str, port: int, path: str, stats: Stats, ready: asyncio.Event) -> None:
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        stats.failed += 1
        ready.set()
        return
    up = False
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
        "Cache-Control: no-cache\r\n\r\n".encode()
    )
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith((b"HTTP/1.1 200", b"HTTP/1.0 200")):
            return
        chunked = b"transfer-encoding: chunked" in head.lower()
        stats.connected += 1
        up = True
        ready.set()
        body = b""  # bytes of SSE frames not yet complete
        raw = b""  # bytes not yet de-chunked
        need = 0  # bytes left in the current chunk
        while True:
            data = await reader.read(65536)
            if not data:
                break
            now = time.monotonic_ns()
            if chunked:
                raw += data
                out = []
                while raw:
                    if need > 0:
                        take = raw[:need]
                        out.append(take)
                        need -= len(take)
                        raw = raw[len(take) :]
                        if need == 0:
                            need = -2  # the CRLF after the chunk
                        continue
                    if need < 0:
                        if len(raw) < -need:
                            break
                        raw = raw[-need:]
                        need = 0
                        continue
                    eol = raw.find(b"\r\n")
                    if eol < 0:
                        break
                    size = int(raw[:eol].split(b";")[0], 16)
                    raw = raw[eol + 2 :]
                    if size == 0:
                        raise EOFError
                    need = size
                data = b"".join(out)
            body += data
            # Whole lines only (a data line holds one event; some servers end lines with CRLF).
            cut = body.rfind(b"\n")
            if cut >= 0:
                stats.frames(body[:cut], now)
                body = body[cut + 1 :]
    except (OSError, EOFError, asyncio.IncompleteReadError, ValueError):
        pass
    finally:
        if up:
            stats.connected -= 1
        else:
            stats.failed += 1
        ready.set()
        writer.close()


async def main(host: str, port: int, path: str, n: int) -> None:
    stats = Stats()
    readies = [asyncio.Event() for _ in range(n)]
    tasks = []
    for i in range(n):
        tasks.append(asyncio.create_task(client(host, port, path, stats, readies[i])))
        if i % 50 == 49:
            await asyncio.sleep(0.01)  # the server's accept backlog
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in readies)), 60)
    print(f"ready {stats.connected} failed {stats.failed}", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        if cmd[0] == "count":
            print(json.dumps({"n": len(stats.lat.get(int(cmd[1]), []))}), flush=True)
        elif cmd[0] == "report":
            p = int(cmd[1])
            xs = sorted(stats.lat.pop(p, []))
            out = {
                "phase": p,
                "n": len(xs),
                "p50_us": _pct_us(xs, 50),
                "p99_us": _pct_us(xs, 99),
                "max_us": (xs[-1] / 1e3) if xs else 0.0,
                "connected": stats.connected,
            }
            print(json.dumps(out), flush=True)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == "__main__":
    raise_fd_limit()
    h, p, path, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    try:
        import uvloop
    except ImportError:
        asyncio.run(main(h, p, path, n))
    else:
        uvloop.run(main(h, p, path, n))

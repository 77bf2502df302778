"""The trivial SSE server of the `http` suite: it only writes frames, so the client process's
own ceiling can be measured alone (no store, no fan-out machinery, no publisher).

    python bench/http_floor.py PORT

Every connection gets a ``200`` event-stream head (chunked, as the real servers send) after
its request head. Commands on stdin, one a line:

* ``emit P RATE SECONDS``: writes RATE frames a second for SECONDS to every client, each
  stamped ``"p": P, "t": time.monotonic_ns()`` when it is written, shaped like a zerolag
  frame; prints ``done N`` (frames emitted) when finished.
* end of input: exits.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import http_clients

HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)


async def main(port: int) -> None:
    writers: set[asyncio.StreamWriter] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, OSError):
            writer.close()
            return
        writer.write(HEAD)
        writers.add(writer)
        try:
            await reader.read()  # until the client goes
        finally:
            writers.discard(writer)
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", port, backlog=4096)
    loop = asyncio.get_running_loop()
    async with server:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            cmd = line.split()
            if not cmd:
                return
            if cmd[0] != "emit":
                continue
            p, rate, seconds = int(cmd[1]), float(cmd[2]), float(cmd[3])
            n = max(1, int(rate * seconds))
            t0 = time.perf_counter()
            i = 0
            while i < n:
                # every frame that is due now, then a short sleep (no sleep per frame)
                due = min(n, int((time.perf_counter() - t0) * rate) + 1)
                while i < due:
                    ev = {
                        "id": f"{int(time.time() * 1000)}-{i}",
                        "channel": "bench",
                        "data": {"p": p, "t": time.monotonic_ns(), "i": i},
                        "ts": time.time(),
                    }
                    frame = f"id: {ev['id']}\nevent: bench\ndata: {json.dumps(ev)}\n\n".encode()
                    chunk = b"%x\r\n%s\r\n" % (len(frame), frame)
                    for w in list(writers):
                        w.write(chunk)
                    i += 1
                await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
            print(f"done {n}", flush=True)


if __name__ == "__main__":
    http_clients.raise_fd_limit()
    port = int(sys.argv[1])
    try:
        import uvloop
    except ImportError:
        asyncio.run(main(port))
    else:
        uvloop.run(main(port))

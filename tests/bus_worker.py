"""A bus consumer process for the crash and cross-process tests.

    python bus_worker.py URL ROOT NAMESPACE AGENT GROUP CONSUMER LOG STOPFILE IDLE_MS [ECHO_TO]

URL "-" means the embedded store under ROOT. Consumes AGENT's inbox as CONSUMER of GROUP,
appends each message's id (and payload) to LOG *before* acking it (so a kill between the two
shows up as a duplicate, never as a loss), then acks. With ECHO_TO, shares every payload back
to that agent. Exits when STOPFILE exists and nothing is left.
"""

from __future__ import annotations

import json
import os
import sys
import time

import zerolag


def main() -> None:
    url, root, ns, agent, group, consumer, log, stop, idle = sys.argv[1:10]
    echo = sys.argv[10] if len(sys.argv) > 10 else None
    hub = zerolag.open(None if url == "-" else url, root=root, namespace=ns)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    parent = os.getppid()
    print("ready", flush=True)
    while True:
        try:
            got = hub.bus.consume(
                agent,
                group=group,
                consumer=consumer,
                count=20,
                block_ms=100,
                claim_idle_ms=int(idle),
                max_deliveries=1000,
            )
        except zerolag.ConnectionError:
            if os.getppid() != parent:  # the test is gone (and its server with it)
                return
            time.sleep(0.02)
            continue
        if not got:
            if os.path.exists(stop):
                return
            continue
        lines = "".join(f"{d.id} {json.dumps(d.payload)}\n" for d in got)
        os.write(fd, lines.encode())
        if echo:
            for d in got:
                hub.bus.share(agent, echo, d.payload)
        try:
            hub.bus.ack_many(agent, got, group=group, consumer=consumer)
        except zerolag.ConflictError:
            # Held too long: another consumer claimed some of them; it will ack those.
            for d in got:
                try:
                    hub.bus.ack(agent, d, group=group, consumer=consumer)
                except zerolag.ConflictError:
                    pass


if __name__ == "__main__":
    main()

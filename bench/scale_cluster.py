"""The `scale` suite's cluster side: a 3-master Redis Cluster on loopback (tests/servers.py's
RedisCluster, the one the tests use), where a namespace's partitions land (CRC16 slots and the
masters serving them), and what the masters did: `INFO commandstats` and `INFO cpu` deltas per
master, and a MONITOR on each master that tells the commands clients sent from the commands
scripts ran inside (both appear in commandstats on Redis 7). See bench/README.md.
"""

from __future__ import annotations

import re
import socket
import sys
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(1, str(Path(__file__).resolve().parent.parent / "tests"))

from servers import HOST, RedisCluster, RedisServer  # noqa: E402

# Commands this harness sends itself (snapshots, markers): never part of a figure.
HARNESS = frozenset({"info", "monitor", "echo", "config|resetstat"})
# Commands that run scripts: one request each, whatever the script does inside.
SCRIPT_CALLS = frozenset({"evalsha", "eval", "evalsha_ro", "eval_ro", "fcall", "fcall_ro"})


# --------------------------------------------------------------------------------------------
# Slots
# --------------------------------------------------------------------------------------------


def _crc16_table() -> list[int]:
    table = []
    for i in range(256):
        crc = i << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return table


_CRC16 = _crc16_table()


def key_slot(key: str) -> int:
    """Redis Cluster's slot of ``key``: CRC16 (XMODEM) of its hash tag, or of the whole key."""
    b = key.encode()
    lo = b.find(b"{")
    if lo >= 0:
        hi = b.find(b"}", lo + 1)
        if hi > lo + 1:
            b = b[lo + 1 : hi]
    crc = 0
    for byte in b:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[((crc >> 8) ^ byte) & 0xFF]
    return crc % 16384


def partition_tag(ns: str, capability: str, p: int, n: int) -> str:
    """The key prefix of partition ``p`` of ``n`` (src/engine/partition.rs ``prefix``)."""
    return f"zl:{{{ns}:{capability}}}:" if n <= 1 else f"zl:{{{ns}:{capability}:{p}}}:"


def fnv1a(key: str, n: int) -> int:
    """src/engine/partition.rs ``of_key``: the partition of ``key`` among ``n``."""
    if n <= 1:
        return 0
    h = 0xCBF29CE484222325
    for byte in key.encode():
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h % n


# --------------------------------------------------------------------------------------------
# The cluster and its masters
# --------------------------------------------------------------------------------------------


def _parse_info(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            k, _, v = line.partition(":")
            out[k.strip()] = v.strip()
    return out


@dataclass
class Snapshot:
    """One master's counters at one moment: calls per command, CPU seconds of the server."""

    calls: dict[str, int]
    cpu: float


def snapshot(server: RedisServer) -> Snapshot:
    """``server``'s counters now: ``INFO commandstats`` calls and ``INFO cpu``."""
    stats = _parse_info(server.command("INFO", "commandstats"))
    cpu = _parse_info(server.command("INFO", "cpu"))
    calls = {}
    for k, v in stats.items():
        if k.startswith("cmdstat_"):
            fields = dict(kv.split("=", 1) for kv in v.split(","))
            calls[k.removeprefix("cmdstat_")] = int(fields["calls"])
    return Snapshot(calls, float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"]))


@dataclass
class Delta:
    """What every master did between two snapshots (harness commands left out)."""

    calls: dict[int, Counter[str]]  # port -> command -> calls
    cpu: dict[int, float]  # port -> server CPU seconds (user + sys, all its threads)

    def total(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for c in self.calls.values():
            out.update(c)
        return out

    def per_master(self) -> dict[int, int]:
        return {port: sum(c.values()) for port, c in self.calls.items()}

    def shares(self) -> dict[int, float]:
        """Each master's share of every command served (0..1)."""
        per = self.per_master()
        total = sum(per.values()) or 1
        return {port: v / total for port, v in per.items()}


class Cluster:
    """A RedisCluster of ``masters`` masters without replicas (or ``rc``, one already
    running, which :meth:`stop` leaves alone), and the readings the suite takes of it."""

    def __init__(self, masters: int = 3, rc: RedisCluster | None = None) -> None:
        self.owned = rc is None
        self.rc = RedisCluster(masters=masters) if rc is None else rc
        self.masters: list[RedisServer] = self.rc.masters()
        self.ranges = self._slot_ranges()

    @property
    def url(self) -> str:
        return self.rc.url

    def stop(self) -> None:
        if self.owned:
            self.rc.stop()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _slot_ranges(self) -> list[tuple[int, int, int]]:
        """(first slot, last slot, master port) from CLUSTER SLOTS."""
        rows = self.masters[0].command("CLUSTER", "SLOTS")
        return sorted((int(r[0]), int(r[1]), int(r[2][1])) for r in rows)

    def owner(self, slot: int) -> int:
        """The port of the master serving ``slot``."""
        for lo, hi, port in self.ranges:
            if lo <= slot <= hi:
                return port
        raise RuntimeError(f"no master serves slot {slot}")

    def placement(self, ns: str, capability: str, n: int) -> dict[int, list[int]]:
        """Master port -> the partitions of ``capability`` in ``ns`` (``n`` of them) it serves."""
        out: dict[int, list[int]] = {m.port: [] for m in self.masters}
        for p in range(n):
            out[self.owner(key_slot(partition_tag(ns, capability, p, n) + "x"))].append(p)
        return out

    def balanced_namespace(self, prefix: str, capabilities: tuple[str, ...], n: int) -> str:
        """The first namespace ``<prefix><i>`` whose ``n`` partitions of every capability land
        evenly on the masters (n/masters each): what an operator gets by moving the partition
        slots (CLUSTER SETSLOT, ``redis-cli --cluster reshard``), found here by name."""
        want = n // len(self.masters)
        for i in range(100_000):
            ns = f"{prefix}{i}"
            if all(
                all(len(ps) == want for ps in self.placement(ns, cap, n).values())
                for cap in capabilities
            ):
                return ns
        raise RuntimeError(f"no namespace {prefix}<i> spreads {n} partitions evenly")

    def snapshot(self) -> dict[int, Snapshot]:
        """Every master's counters now, by port."""
        return {m.port: snapshot(m) for m in self.masters}

    @staticmethod
    def delta(before: dict[int, Snapshot], after: dict[int, Snapshot]) -> Delta:
        calls: dict[int, Counter[str]] = {}
        cpu = {}
        for port, a in after.items():
            b = before[port]
            c: Counter[str] = Counter()
            for cmd, n in a.calls.items():
                d = n - b.calls.get(cmd, 0)
                if d and cmd not in HARNESS:
                    c[cmd] = d
            calls[port] = c
            cpu[port] = a.cpu - b.cpu
        return Delta(calls, cpu)


# --------------------------------------------------------------------------------------------
# MONITOR: requests versus commands run inside scripts
# --------------------------------------------------------------------------------------------


@dataclass
class ScriptSeen:
    """One script (by SHA1) as MONITOR saw it: calls, and the commands it ran inside."""

    calls: int = 0
    inside: Counter[str] = field(default_factory=Counter)
    first_keys: set[str] = field(default_factory=set)  # its first key, namespace cut off


@dataclass
class Monitored:
    """What one MONITOR saw: commands clients sent and commands scripts ran (``[0 lua]``)."""

    requests: Counter[str] = field(default_factory=Counter)
    in_scripts: Counter[str] = field(default_factory=Counter)
    scripts: dict[str, ScriptSeen] = field(default_factory=dict)


_QUOTED = re.compile(rb'"((?:[^"\\]|\\.)*)"')


def _key_shape(key: str) -> str:
    """``zl:{ns:jobs:3}:job:abc`` -> ``{jobs:3}:job:…``: a key without its namespace and ids."""
    tag, _, rest = key.partition("}:")
    cap = tag.split(":", 2)[2] if tag.count(":") >= 2 else tag
    head = rest.split(":", 1)[0]
    return f"{{{cap}}}:{head}" + (":…" if ":" in rest else "")


class Monitor:
    """MONITOR on one master, read by a thread until :meth:`stop` sees its own marker."""

    def __init__(self, server: RedisServer) -> None:
        self.server = server
        self.seen = Monitored()
        self.marker = "zl-scale-" + uuid.uuid4().hex
        self.sock = socket.create_connection((HOST, server.port), timeout=60)
        self.sock.sendall(b"*1\r\n$7\r\nMONITOR\r\n")
        self.file = self.sock.makefile("rb")
        if not self.file.readline().startswith(b"+OK"):
            raise RuntimeError("MONITOR refused")
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        script: ScriptSeen | None = None
        for line in self.file:
            # +1733450000.123456 [0 127.0.0.1:50000] "evalsha" "…" … ; [0 lua] inside scripts
            head, _, rest = line.partition(b"] ")
            name = rest[1 : rest.find(b'"', 1)].decode(errors="replace").lower()
            if name == "echo" and self.marker.encode() in rest:
                return
            if name in HARNESS or not name:
                continue
            if head.endswith(b" lua"):
                self.seen.in_scripts[name] += 1
                if script is not None:
                    script.inside[name] += 1
                continue
            self.seen.requests[name] += 1
            script = None
            if name in SCRIPT_CALLS:
                args = [a.decode(errors="replace") for a in _QUOTED.findall(rest)]
                sha = args[1][:40] if len(args) > 1 else "?"
                script = self.seen.scripts.setdefault(sha, ScriptSeen())
                script.calls += 1
                if len(args) > 3 and args[2] != "0" and len(script.first_keys) < 4:
                    script.first_keys.add(_key_shape(args[3]))

    def stop(self) -> Monitored:
        self.server.command("ECHO", self.marker)
        self.thread.join(timeout=60)
        self.file.close()
        self.sock.close()
        if self.thread.is_alive():
            raise RuntimeError("MONITOR did not see its marker")
        return self.seen

"""Latencies of several sides measured in turns, shared by the suites that compare one call
with another (cache hits, limits checks, chat turns).

The sides take turns in blocks of ``block`` calls (who goes first rotates), so a noisy spell of
a shared machine falls on all of them alike. The first call of each block is made but not
counted: it follows the other sides' blocks, a pause of several milliseconds for this side's
connection that a steady stream of calls does not have. Our blocking connection polls for a
reply only while it is busy (engine/spin.rs: a reply within the last millisecond), so that call
would measure the wake-up after a pause, once per block, which is exactly the p99 of 100-call
blocks. Where the latency after a pause matters it has a row of its own (``after_pause``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

BLOCK = 100


def timed(fn: Callable[[int], Any], i0: int, k: int) -> list[float]:
    """Latencies (µs) of ``fn(i)`` for ``i`` in ``i0 .. i0 + k``."""
    out = []
    for i in range(i0, i0 + k):
        t = time.perf_counter_ns()
        fn(i)
        out.append((time.perf_counter_ns() - t) / 1e3)
    return out


def alternate(
    sides: list[Callable[[int], Any]], n: int, *, block: int = BLOCK, warm: int = 50
) -> list[list[float]]:
    """Latencies (µs) of ``n`` calls of each side (``side(i)`` for ``i`` in ``0 .. n``), the
    sides taking turns in blocks; ``warm`` untimed calls of each first (scripts loaded,
    connections open). The first call of each block is not counted (module docs)."""
    for i in range(warm):
        for side in sides:
            side(i)
    out: list[list[float]] = [[] for _ in sides]
    for b in range(0, n, block):
        k = min(block, n - b)
        r = (b // block) % len(sides)
        order = list(range(len(sides)))
        for j in order[r:] + order[:r]:
            got = timed(sides[j], b, k)
            out[j] += got[1:] if k > 1 else got
    return out


def after_pause(
    sides: list[Callable[[int], Any]], n: int, pause_s: float = 0.01
) -> list[list[float]]:
    """Latencies (µs) of single calls each made after ``pause_s`` of idling, the sides taking
    turns call by call: what a caller that checks now and then (not in a loop) sees."""
    out: list[list[float]] = [[] for _ in sides]
    for i in range(n):
        for j, side in enumerate(sides):
            time.sleep(pause_s)
            out[j] += timed(side, i, 1)
    return out

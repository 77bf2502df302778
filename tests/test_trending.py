"""``hub.trending`` on every backend: plain boards (top, rank, score, ties ordered as Redis
orders them), bounded size, time-decayed boards (half-life, rescaling far in time) and
windowed boards with an explicit clock, board options, bad input, and the async twin.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
import zerolag
from conftest import AsyncRunner

T = 1_700_000_000.0
MIN = 60.0


def test_plain_board(hub: Any) -> None:
    t = hub.trending
    assert t.bump("topics", "rust") == 1.0
    assert t.bump("topics", "python", 3) == 3.0
    assert t.bump("topics", "rust", 0.5) == 1.5
    t.bump("topics", "go", 1.5)
    assert t.top("topics") == [("python", 3.0), ("rust", 1.5), ("go", 1.5)]
    assert t.top("topics", 2, with_scores=False) == ["python", "rust"]
    assert t.rank("topics", "python") == 1
    assert t.rank("topics", "go") == 3
    assert t.score("topics", "rust") == 1.5
    assert t.rank("topics", "zig") is None and t.score("topics", "zig") is None
    assert t.top("empty") == []
    assert t.delete("topics") is True and t.delete("topics") is False
    assert t.top("topics") == []


def test_boards_match_a_model_and_stay_bounded(hub: Any) -> None:
    t = hub.trending
    t.define("b", max_items=20)
    rng = random.Random(7)
    model: dict[str, float] = {}
    for _ in range(300):
        item = f"item {rng.randrange(40)}"
        by = rng.randrange(1, 5)
        t.bump("b", item, by)
        model[item] = model.get(item, 0) + by
        # Past 20 items the lowest (ties: the smaller item) go, as ZREMRANGEBYRANK drops them.
        while len(model) > 20:
            low = min(model, key=lambda k: (model[k], k.encode()))
            del model[low]
    best = sorted(model.items(), key=lambda kv: (kv[1], kv[0].encode()), reverse=True)
    assert t.top("b", 50) == best
    for place, (item, _) in enumerate(best, 1):
        assert t.rank("b", item) == place


def test_decayed_board_halves_every_half_life(hub: Any) -> None:
    t = hub.trending
    t.define("hot", half_life=10 * MIN)
    t.bump("hot", "old", 8, at=T)
    assert t.bump("hot", "new", 5, at=T + 20 * MIN) == pytest.approx(5)
    top = t.top("hot", now=T + 20 * MIN)
    assert [i for i, _ in top] == ["new", "old"]
    assert top[1][1] == pytest.approx(2.0)
    assert t.score("hot", "old", now=T + 30 * MIN) == pytest.approx(1.0)
    # Far later the stored scores are rescaled; the order and the decayed values hold.
    t.bump("hot", "late", 1, at=T + 1000 * MIN)
    assert t.top("hot", 1, now=T + 1000 * MIN) == [("late", pytest.approx(1.0))]
    assert t.score("hot", "new", now=T + 1000 * MIN) == pytest.approx(5 * 2 ** (-98), rel=1e-6)


def test_windowed_board_forgets_old_bumps(hub: Any) -> None:
    t = hub.trending
    t.define("hour", window=3600)
    t.bump("hour", "a", at=T)
    t.bump("hour", "b", 2, at=T + 30 * MIN)
    t.bump("hour", "a", 2, at=T + 59 * MIN)
    assert t.top("hour", now=T + 59 * MIN) == [("a", 3.0), ("b", 2.0)]
    # At T + 61 min the first minute's bump has left the window.
    assert t.top("hour", now=T + 61 * MIN) == [("b", 2.0), ("a", 2.0)]
    assert t.bump("hour", "c", at=T) is None, "a bump before the window is ignored"
    assert t.top("hour", now=T + 100 * MIN) == [("a", 2.0)]
    assert t.rank("hour", "b", now=T + 100 * MIN) is None
    assert t.top("hour", now=T + 500 * MIN) == []


def test_board_options(hub: Any) -> None:
    t = hub.trending
    t.define("d", half_life=60)
    t.define("d", half_life=60)  # the same options again: fine
    with pytest.raises(zerolag.ConflictError):
        t.define("d", window=3600)
    t.bump("plain", "x")
    with pytest.raises(zerolag.ConflictError):
        t.define("plain", half_life=60)
    with pytest.raises(zerolag.ValidationError):
        t.define("both", half_life=60, window=3600)
    with pytest.raises(zerolag.ValidationError):
        t.define("w", window=59)
    with pytest.raises(zerolag.ValidationError):
        t.define("m", max_items=0)


def test_bad_names_and_items(hub: Any) -> None:
    t = hub.trending
    for board in ("", "a b", "x*", "a\nb", "b" * 129):
        with pytest.raises(zerolag.ValidationError):
            t.bump(board, "x")
    for item in ("", "a\tb", "i" * 257):
        with pytest.raises(zerolag.ValidationError):
            t.bump("b", item)
    for by in (0.0, float("nan"), float("inf")):
        with pytest.raises(zerolag.ValidationError):
            t.bump("b", "x", by)
    with pytest.raises(zerolag.ValidationError):
        t.top("b", 0)
    assert t.top("b") == []
    assert t.bump("b", "spaces and ünïcode *?[]") == 1.0


def test_async_trending(async_hub: Any, arun: AsyncRunner) -> None:
    async def main() -> None:
        t = async_hub.trending
        await t.define("b", max_items=5)
        assert await t.bump("b", "x", 2) == 2.0
        assert await t.top("b") == [("x", 2.0)]
        assert await t.rank("b", "x") == 1

    arun(main())

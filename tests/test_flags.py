"""``hub.flags`` on every backend: precedence (global switch, then the user's own setting,
then the rollout), rollouts equal to a pure-Python version of the documented hash (so the
same on every backend) and to what another process computes, bounded bitmaps on Redis,
validation, and the async twin.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import zerolag
from conftest import AsyncRunner, data_keys

USERS = [f"user:{i}" for i in range(3000)] + ["ana@example.com", "x" * 128, "0"]


def bucket(flag: str, user: str) -> int:
    """The documented rollout hash: SHA-256 of ``flag + "\\0" + user``, its first 8 bytes
    big-endian, modulo 10,000."""
    d = hashlib.sha256(f"{flag}\0{user}".encode()).digest()
    return int.from_bytes(d[:8], "big") % 10_000


def model(flag: str, users: list[str], percent: float) -> list[bool]:
    return [bucket(flag, u) < round(percent * 100) for u in users]


def test_rollouts_follow_the_documented_hash(hub: Any) -> None:
    f = hub.flags
    assert f.enabled_many("beta", USERS) == [False] * len(USERS)
    for pct in [12.5, 50, 99.99, 100, 0]:
        f.rollout("beta", pct)
        got = f.enabled_many("beta", USERS)
        assert got == model("beta", USERS, pct), pct
        assert f.state("beta").percent == pct
    f.rollout("beta", 30)
    on = sum(f.enabled_many("beta", USERS))
    assert 800 < on < 1000, on  # 30 % of 3,003, give or take
    # Another flag picks other users: the hash covers the flag's name.
    f.rollout("gamma", 30)
    assert f.enabled_many("gamma", USERS) != f.enabled_many("beta", USERS)
    assert f.enabled("beta", "user:7") == model("beta", ["user:7"], 30)[0]


def test_switch_then_own_setting_then_rollout(hub: Any) -> None:
    f = hub.flags
    assert f.enable("new-ui", "ana") and not f.enable("new-ui", "ana")
    assert f.disable("new-ui", "bob")
    assert f.enabled("new-ui", "ana") and not f.enabled("new-ui", "bob")
    f.rollout("new-ui", 100)
    assert f.enabled_many("new-ui", ["ana", "bob", "cy"]) == [True, False, True]
    f.set_global("new-ui", False)
    assert f.enabled_many("new-ui", ["ana", "bob", "cy"]) == [False, False, False]
    f.set_global("new-ui", True)
    assert f.enabled_many("new-ui", ["ana", "bob", "cy"]) == [True, True, True]
    st = f.state("new-ui")
    assert (st.global_, st.percent, st.enabled, st.disabled) == (True, 100.0, 1, 1)
    f.set_global("new-ui", None)
    assert f.unset("new-ui", "bob") and not f.unset("new-ui", "bob")
    assert f.enabled("new-ui", "bob")
    assert f.count("new-ui") == 1
    assert f.disable("new-ui", "ana") and f.count("new-ui") == 0
    assert f.delete("new-ui") and not f.delete("new-ui")
    assert f.enabled_many("new-ui", ["ana", "bob"]) == [False, False]
    assert repr(f.state("new-ui")) == "FlagState(global_=None, percent=0, enabled=0, disabled=0)"


def test_another_process_gets_the_same_answers(
    hub: Any, store_url: str | None, tmp_path: Path
) -> None:
    hub.flags.rollout("beta", 42.5)
    hub.flags.enable("beta", "user:1")
    hub.flags.disable("beta", "user:2")
    code = textwrap.dedent(
        """
        import json, sys, zerolag
        url, root, ns = json.loads(sys.argv[1])
        users = [f"user:{i}" for i in range(3000)]
        with zerolag.open(url, root=root, namespace=ns) as h:
            print(json.dumps(h.flags.enabled_many("beta", users)))
        """
    )
    arg = json.dumps([store_url, str(tmp_path), hub.namespace])
    out = subprocess.run(
        [sys.executable, "-c", code, arg], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    theirs = json.loads(out.stdout)
    users = [f"user:{i}" for i in range(3000)]
    want = model("beta", users, 42.5)
    want[1], want[2] = True, False
    assert theirs == want == hub.flags.enabled_many("beta", users)


def test_bitmaps_stay_as_long_as_the_users_named(
    hub: Any, backend: str, store_servers: list[Any]
) -> None:
    if backend == "embedded":
        pytest.skip("Redis bitmaps")
    ns = hub.namespace
    hostile = ["=" * 128, "9" * 128, "user:99999999999999999999"]
    for u in hostile:
        hub.flags.enable("f", u)
    p = f"zl:{{{ns}:flags}}:"
    assert data_keys(store_servers, ns) == {p + "ids", p + "users", p + "on:f"}
    server = next(s for s in store_servers if s.keys(p + "on:f"))
    # Three users: offsets 0, 1, 2, so the bitmap is one byte.
    assert server.command("STRLEN", p + "on:f") == 1
    assert hub.flags.count("f") == 3
    hub.flags.delete("f")
    assert data_keys(store_servers, ns) == {p + "ids", p + "users"}


def test_bad_input_is_refused(hub: Any) -> None:
    f = hub.flags
    for bad in ["", "*", "a b", "x" * 129, "../x"]:
        with pytest.raises(zerolag.ValidationError, match="flag"):
            f.enable(bad, "u")
        with pytest.raises(zerolag.ValidationError, match="user id"):
            f.enable("f", bad)
        with pytest.raises(zerolag.ValidationError, match="user id"):
            f.enabled_many("f", ["ok", bad])
    for pct in [-0.01, 100.01, float("nan")]:
        with pytest.raises(zerolag.ValidationError, match="percent"):
            f.rollout("f", pct)
    with pytest.raises(zerolag.ValidationError, match="10000"):
        f.enabled_many("f", [f"u{i}" for i in range(10_001)])
    with pytest.raises(TypeError):
        f.enabled_many("f", "abc")
    assert hub.health().by_capability["flags"] == 0


def test_the_async_twin(async_hub: Any, arun: AsyncRunner) -> None:
    async def go() -> None:
        f = async_hub.flags
        assert await f.enable("x", "u1")
        await f.rollout("x", 50)
        got = await f.enabled_many("x", ["u1", "u2", "u3"])
        assert got == [True] + model("x", ["u2", "u3"], 50)
        assert await f.count("x") == 1
        await f.set_global("x", False)
        assert not await f.enabled("x", "u1")

    arun(go())

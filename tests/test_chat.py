"""``hub.chat`` and ``hub.activity`` on every backend: messages and items read back in order
(newest-last), ranges page by id, logs trim to their newest ``max_len`` (1,000 by default),
bad input is refused whole, ids keep growing across a clear, followers get what is appended
from another thread, another process (a real subprocess) and asyncio, and the Redis keys are
the documented ones.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import zerolag
from conftest import command_calls, data_keys


def _key(id_: str) -> tuple[int, int]:
    ms, _, seq = id_.partition("-")
    return int(ms), int(seq or 0)


def test_messages_read_back_oldest_first(hub: Any) -> None:
    chat = hub.chat
    a = chat.append("c1", "system", "Be brief.")
    b = chat.append("c1", "user", "héllo", {"lang": "fr", "n": [1, 2.5, None]})
    c, d = chat.append_many(
        "c1", [{"role": "assistant", "content": ""}, ("tool", "42", {"tool_call_id": "t1"})]
    )
    ids = [a, b, c, d]
    assert [_key(i) for i in ids] == sorted(_key(i) for i in ids) and len(set(ids)) == 4
    got = chat.recent("c1")
    assert [m.id for m in got] == ids
    assert [(m.role, m.content) for m in got] == [
        ("system", "Be brief."),
        ("user", "héllo"),
        ("assistant", ""),
        ("tool", "42"),
    ]
    assert got[1].meta == {"lang": "fr", "n": [1, 2.5, None]} and got[0].meta is None
    assert got[3].meta == {"tool_call_id": "t1"}
    assert got[0].conversation == "c1" and got[0].time > 1.6e9
    d0 = got[1].to_dict()
    assert d0["role"] == "user" and d0["meta"]["lang"] == "fr" and d0["id"] == b
    assert got[1] == chat.recent("c1", 3)[0] and hash(got[1]) == hash(chat.recent("c1", 3)[0])
    assert "ChatEntry(" in repr(got[1])
    assert [m.id for m in chat.recent("c1", 2)] == [c, d]
    assert [m.id for m in chat.range("c1", after=a)] == [b, c, d]
    assert [m.id for m in chat.range("c1", before=c)] == [a, b]
    assert [m.id for m in chat.range("c1", after=a, before=d)] == [b, c]
    assert [m.id for m in chat.range("c1", after="0", limit=1)] == [a]
    assert chat.range("c1", after=d) == []
    assert chat.recent("nobody") == [] and chat.count("nobody") == 0
    assert chat.count("c1") == 4
    assert hub.chat.recent("c2") == [] and hub.activity.recent("c1") == []


def test_range_pages_through_a_conversation(hub: Any) -> None:
    ids = hub.chat.append_many("c", [("user", str(i)) for i in range(25)])
    seen: list[str] = []
    after = None
    while True:
        page = hub.chat.range("c", after=after, limit=7)
        seen.extend(m.id for m in page)
        if len(page) < 7:
            break
        after = page[-1].id
    assert seen == ids


def test_a_turn_appends_and_reads_in_one_call(hub: Any, async_hub: Any, arun: Any) -> None:
    chat = hub.chat
    chat.append_many("t", [("user", f"m{i}") for i in range(5)])
    mid, msgs = chat.append_recent("t", "user", "now", {"k": 1}, n=3)
    assert [m.content for m in msgs] == ["m3", "m4", "now"]
    assert msgs[-1].id == mid and msgs[-1].meta == {"k": 1} and msgs[-1].role == "user"
    assert msgs == chat.recent("t", 3)
    # The default n is recent()'s; the conversation's cap still holds.
    chat.configure(max_len=4)
    mid, msgs = chat.append_recent("t", "assistant", "capped")
    assert [m.content for m in msgs] == ["m3", "m4", "now", "capped"]
    assert msgs == chat.recent("t") and chat.count("t") == 4 and msgs[-1].id == mid
    # A new conversation: the turn is all there is.
    assert [m.content for m in chat.append_recent("fresh", "system", "hi")[1]] == ["hi"]
    for bad_n in (0, 10_001):
        with pytest.raises(zerolag.ValidationError):
            chat.append_recent("t", "user", "no", n=bad_n)
    with pytest.raises(zerolag.ValidationError):
        chat.append_recent("t", "robot", "no")
    assert "no" not in [m.content for m in chat.recent("t")]

    async def main() -> None:
        mid, msgs = await async_hub.chat.append_recent("t", "user", "async", n=2)
        assert [m.content for m in msgs][-1] == "async" and msgs[-1].id == mid and len(msgs) == 2

    arun(main())


def test_a_conversation_keeps_its_newest_1000(hub: Any) -> None:
    chat = hub.chat
    assert chat.configure() == {"max_len": 1000, "max_size": 1 << 20}
    first = chat.append_many("c", [("user", f"m{i}") for i in range(600)])
    last = chat.append_many("c", [("assistant", f"m{i}") for i in range(600, 1005)])
    assert chat.count("c") == 1000
    kept = chat.range("c", limit=10_000)
    assert [m.id for m in kept] == (first + last)[5:]
    assert chat.recent("c", 1)[0].content == "m1004"
    assert chat.configure(max_len=3)["max_len"] == 3
    chat.append("c", "user", "x")
    assert [m.content for m in chat.recent("c", 10)] == ["m1003", "m1004", "x"]
    hub.activity.configure(max_len=2)
    hub.activity.add_many("u", [("a", i) for i in range(5)])
    assert [i.data for i in hub.activity.recent("u", 10)] == [3, 4]


def test_bad_input_is_refused_and_appends_nothing(hub: Any) -> None:
    chat = hub.chat
    chat.append("c", "user", "kept")
    with pytest.raises(zerolag.ValidationError) as e:
        chat.append_many("c", [("user", "a"), ("robot", "b")])
    assert e.value.argument == "role"
    for bad in ("a b", "*", "", "x" * 129, "../x"):
        with pytest.raises(zerolag.ValidationError):
            chat.append(bad, "user", "hi")
    with pytest.raises(zerolag.ValidationError):
        chat.append_many("c", [{"role": "user", "content": "a", "extra": 1}])
    with pytest.raises(zerolag.ValidationError):
        chat.append_many("c", [{"role": "user"}])
    with pytest.raises(TypeError):
        chat.append("c", "user", None)
    with pytest.raises(TypeError):
        chat.append_many("c", [42])
    chat.configure(max_size=10)
    with pytest.raises(zerolag.ValidationError) as e:
        chat.append("c", "user", "x" * 11)
    assert e.value.argument == "content" and "max_size" in str(e.value)
    with pytest.raises(zerolag.ValidationError):
        chat.append("c", "user", "12345", {"k": "123"})  # content and meta count together
    chat.append("c", "user", "1234567890")
    with pytest.raises(zerolag.ValidationError):
        chat.configure(max_len=0)
    with pytest.raises(zerolag.ValidationError):
        chat.configure(max_size=(16 << 20) + 1)
    for bad_n in (0, 10_001):
        with pytest.raises(zerolag.ValidationError):
            chat.recent("c", bad_n)
    with pytest.raises(zerolag.ValidationError):
        chat.range("c", after="nope")
    with pytest.raises(zerolag.ValidationError):
        chat.follow("c", after="1-x")
    with pytest.raises(zerolag.ValidationError) as e:
        hub.activity.add("u", "has space", 1)
    assert e.value.argument == "kind"
    with pytest.raises(zerolag.ValidationError) as e:
        hub.activity.add("u", "k", float("nan"))
    assert e.value.argument == "data"
    assert [m.content for m in chat.recent("c")] == ["kept", "1234567890"]
    assert hub.activity.count("u") == 0


def test_clear_and_ids_keep_growing(hub: Any) -> None:
    chat = hub.chat
    old = chat.append_many("c", [("user", "a"), ("assistant", "b")])
    f = chat.follow("c", after=old[-1])
    assert chat.clear("c") == 2 and chat.clear("c") == 0
    assert chat.recent("c") == [] and chat.count("c") == 0
    new = chat.append("c", "user", "again")
    assert _key(new) > _key(old[-1])
    m = f.get(timeout=10)  # a follower holding an id from before the clear misses nothing
    assert m is not None and m.id == new
    f.close()
    assert hub.activity.clear("nobody") == 0


def test_follow_from_now_and_resume(hub: Any, open_hub: Any) -> None:
    other = open_hub()
    hub.chat.append("c", "user", "before")
    with hub.chat.follow("c") as f:
        assert f.conversation == "c" and f.last_id is None
        assert f.get(timeout=0.05) is None
        sent: list[str] = []

        def write() -> None:
            for i in range(10):
                time.sleep(0.005)
                other.chat.append("elsewhere", "user", "noise")
                sent.append(other.chat.append("c", "assistant", f"r{i}"))

        t = threading.Thread(target=write)
        t.start()
        got = []
        for m in f:
            got.append(m)
            if len(got) == 5:
                break
        last = f.last_id
        t.join()
        assert [m.content for m in got] == [f"r{i}" for i in range(5)]
        assert last == got[-1].id == sent[4]
    assert f.get(timeout=0.01) is None  # closed
    again = hub.chat.follow("c", after=last)
    rest = [again.get(timeout=10) for _ in range(5)]
    assert [m.id for m in rest if m] == sent[5:]
    everything = hub.chat.follow("c", after="0")
    assert everything.get(timeout=10).content == "before"  # type: ignore[union-attr]


_FOLLOWER = """
import sys, zerolag
url = sys.argv[1] or None
with zerolag.open(url, root=sys.argv[2], namespace=sys.argv[3]) as hub:
    chat = hub.chat.follow("ping")
    feed = hub.activity.follow("ana")
    print("ready", flush=True)
    for i in range(int(sys.argv[4])):
        m = chat.get(timeout=20)
        assert m is not None and m.role == "user", "no ping"
        item = feed.get(timeout=20)
        assert item is not None and item.data == {"n": i}, item
        hub.chat.append("pong", "assistant", m.content, {"seen": item.id})
"""


def test_follow_receives_what_another_process_appends(
    hub: Any, store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    n = 15
    proc = subprocess.Popen(
        [sys.executable, "-c", _FOLLOWER, store_url or "", str(tmp_path), namespace, str(n)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        pong = hub.chat.follow("pong")
        for i in range(n):
            hub.chat.append("ping", "user", f"q{i}")
            item = hub.activity.add("ana", "comment", {"n": i})
            m = pong.get(timeout=20)
            assert m is not None and (m.content, m.meta) == (f"q{i}", {"seen": item})
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()


def test_async_twin_follows_and_cancels(async_hub: Any, arun: Any) -> None:
    async def main() -> None:
        chat = async_hub.chat
        first = await chat.append("c", "user", "old")
        async with chat.follow("c") as f:
            assert await f.get(timeout=0.05) is None

            async def later() -> None:
                for i in range(4):
                    await asyncio.sleep(0.01)
                    await chat.append("c", "assistant", f"a{i}")

            task = asyncio.create_task(later())
            got = []
            async for m in f:
                got.append(m.content)
                if len(got) == 4:
                    break
            await task
            assert got == ["a0", "a1", "a2", "a3"]
        # A wait that is cancelled stops: nothing is appended, the timeout cancels the read.
        idle = chat.follow("c")
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(idle.__anext__(), 0.3)
        resumed = chat.follow("c", after=first)
        m = await resumed.get(timeout=5)
        assert m is not None and m.content == "a0"
        assert [x.content for x in await chat.recent("c", 2)] == ["a2", "a3"]
        ids = await chat.append_many("c2", [("user", "x"), ("assistant", "y")])
        assert [x.id for x in await chat.range("c2")] == ids
        assert await chat.count("c2") == 2 and await chat.clear("c2") == 2
        act = async_hub.activity
        i1 = await act.add("u", "login", {"ip": "1.2.3.4"})
        [i2] = await act.add_many("u", [{"kind": "logout"}])
        items = await act.recent("u")
        assert [(i.id, i.kind, i.data) for i in items] == [
            (i1, "login", {"ip": "1.2.3.4"}),
            (i2, "logout", None),
        ]
        af = act.follow("u", after="0")
        assert (await af.get(timeout=5)).id == i1  # type: ignore[union-attr]
        await af.aclose()
        assert await af.get(timeout=0.01) is None

    arun(main())


def test_activity_feeds(hub: Any) -> None:
    act = hub.activity
    a = act.add("ana", "login")
    b = act.add("ana", "comment", {"on": "task:7", "text": "LGTM"})
    c, d = act.add_many("ana", [("like", ["x", 1]), {"kind": "task:done", "data": 3}])
    act.add("bob", "login")
    items = act.recent("ana")
    assert [i.id for i in items] == [a, b, c, d]
    assert [(i.kind, i.data) for i in items] == [
        ("login", None),
        ("comment", {"on": "task:7", "text": "LGTM"}),
        ("like", ["x", 1]),
        ("task:done", 3),
    ]
    assert items[0].user == "ana" and items[1].to_dict()["data"]["on"] == "task:7"
    assert "ActivityItem(" in repr(items[1])
    assert [i.id for i in act.range("ana", after=b)] == [c, d]
    assert act.count("ana") == 4 and act.count("bob") == 1
    f = act.follow("ana")
    e = act.add("ana", "logout")
    got = f.get(timeout=10)
    assert got is not None and got.id == e and f.user == "ana"
    assert act.clear("ana") == 5 and act.recent("bob")[0].kind == "login"


@pytest.mark.parametrize("backend", ["redis", "cluster"])
def test_chat_and_activity_keys_follow_the_documented_schema(
    hub: Any, store_servers: list[Any], namespace: str
) -> None:
    hub.chat.append("c:1", "user", "hi")
    hub.activity.add("ana", "login")
    keys = data_keys(store_servers, namespace)
    assert keys == {
        f"zl:{{{namespace}:chat}}:c:c:1",
        f"zl:{{{namespace}:chat}}:idx",
        f"zl:{{{namespace}:activity}}:u:ana",
        f"zl:{{{namespace}:activity}}:idx",
    }
    hub.chat.clear("c:1")
    hub.activity.clear("ana")
    assert data_keys(store_servers, namespace) == set()


@pytest.mark.parametrize("backend", ["redis", "cluster"])
def test_appends_to_a_log_that_exists_skip_the_script_on_one_server(
    hub: Any, store_servers: list[Any], namespace: str
) -> None:
    """On a Redis server one message to an existing conversation is a plain XADD NOMKSTREAM
    and PUBLISH (docs/analytics.md); a new or cleared conversation, a batch, and every append
    on a cluster go through the script, which starts the log and lists it in the index."""
    chat, single = hub.chat, len(store_servers) == 1
    idx = f"zl:{{{namespace}:chat}}:idx"
    first = chat.append("c", "user", "one")  # a new log: the script
    node = next(s for s in store_servers if s.keys(idx))
    scripts = command_calls(node, "evalsha")
    f = chat.follow("c", after=first)
    second = chat.append("c", "assistant", "two", meta={"model": "m"})
    third, msgs = chat.append_recent("c", "user", "three", n=2)
    assert command_calls(node, "evalsha") == scripts + (0 if single else 2)
    assert [(m.id, m.role, m.content, m.meta) for m in msgs] == [
        (second, "assistant", "two", {"model": "m"}),
        (third, "user", "three", None),
    ]
    assert [f.get(timeout=10).id for _ in range(2)] == [second, third]  # woken each time
    chat.append_many("c", [("user", "a"), ("user", "b")])  # a batch: the script
    assert command_calls(node, "evalsha") == scripts + (1 if single else 3)
    # Cleared, the log and its index entry are gone: the next append starts both again, with
    # an id above every id before the clear, and the follower gets it.
    assert chat.clear("c") == 5 and node.command("EXISTS", idx) == 0
    again, msgs = chat.append_recent("c", "user", "again")
    assert command_calls(node, "evalsha") == scripts + (3 if single else 5)  # clear + append
    assert _key(again) > _key(third) and [m.id for m in msgs] == [again]
    assert node.command("ZRANGE", idx, 0, -1) == ["c"]
    got = [f.get(timeout=10)]
    while got[-1] is not None and got[-1].id != again:  # `a` and `b` unless cleared before read
        got.append(f.get(timeout=10))
    assert got[-1] is not None and got[-1].id == again and len(got) <= 3
    f.close()
    # The trim holds on the quick path too.
    chat.configure(max_len=3)
    for i in range(5):
        chat.append("c", "user", f"m{i}")
    assert [m.content for m in chat.recent("c", 10)] == ["m2", "m3", "m4"]

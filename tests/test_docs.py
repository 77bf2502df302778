"""hub.docs on every backend (the `hub` fixture is parametrized): documents keyed by path,
versions, compare-and-set, deep merge, the write-back queue, and refusal of bad paths and
hostile content with nothing written."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest
import zerolag
from conftest import data_keys

HERE = Path(__file__).resolve().parent


def test_put_get_versions_and_hash(hub: zerolag.Hub) -> None:
    docs = hub.docs
    d = docs.put("contexts/app/brief.yaml", {"name": "MyApp", "scope": ["web", "mobile"], "n": 1})
    assert (d.path, d.version, d.origin, d.format) == (
        "contexts/app/brief.yaml",
        1,
        "store",
        "yaml",
    )
    assert d.text == "name: MyApp\nscope:\n  - web\n  - mobile\nn: 1\n"
    assert re.fullmatch(r"[0-9a-f]{64}", d.hash) and d.created == d.updated
    assert docs.get("contexts/app/brief.yaml") == d
    assert (
        docs.put("contexts/app/brief.yaml", {"name": "MyApp", "scope": ["web", "mobile"], "n": 1})
        == d
    ), "the same text again is not a change"
    d2 = docs.put("contexts/app/brief.yaml", {"name": "Other"})
    assert d2.version == 2 and d2.created == d.created and d2.hash != d.hash
    j = docs.put("workflows/deploy.json", {"steps": [1, 2], "ok": True})
    assert (
        j.format == "json" and j.text == '{\n  "steps": [\n    1,\n    2\n  ],\n  "ok": true\n}\n'
    )
    assert docs.get("workflows/deploy.json").value == {"steps": [1, 2], "ok": True}
    with pytest.raises(zerolag.NotFoundError):
        docs.get("contexts/none.yaml")


def test_put_text_keeps_the_text_and_parses_the_value(hub: zerolag.Hub) -> None:
    text = "# team notes\nname: MyApp   # the app\nlist: [a, 'b', 3]\nanchor: &x {k: 1}\nuse: *x\n"
    d = hub.docs.put_text("contexts/notes.yml", text)
    assert d.text == text
    assert d.value == {"name": "MyApp", "list": ["a", "b", 3], "anchor": {"k": 1}, "use": {"k": 1}}
    assert hub.docs.put_text("contexts/b.json", b'{"a": [1, {"b": null}]}').value == {
        "a": [1, {"b": None}]
    }


def test_compare_and_set(hub: zerolag.Hub) -> None:
    docs = hub.docs
    d = docs.put("contexts/c.yaml", {"v": 1}, expected_version=0)
    with pytest.raises(zerolag.ConflictError, match="version 1"):
        docs.put("contexts/c.yaml", {"v": 2}, expected_version=0)
    assert docs.put("contexts/c.yaml", {"v": 2}, expected_version=d.version).version == 2
    with pytest.raises(zerolag.ConflictError):
        docs.put_text("contexts/c.yaml", "v: 3\n", expected_version=1)
    assert docs.get("contexts/c.yaml").value == {"v": 2}


def test_merge_is_deep_and_atomic(hub: zerolag.Hub, open_hub: Any) -> None:
    docs = hub.docs
    docs.put("contexts/m.yaml", {"a": {"b": 1, "c": [1]}, "d": 1})
    m = docs.merge("contexts/m.yaml", {"a": {"c": [2], "e": {"f": 1}}, "d": None, "g": "x"})
    assert m.value == {"a": {"b": 1, "c": [2], "e": {"f": 1}}, "g": "x"} and m.version == 2
    assert docs.merge("contexts/new.yaml", {"x": 1}).version == 1
    with pytest.raises(zerolag.ValidationError, match="dict"):
        docs.merge("contexts/m.yaml", [1])  # type: ignore[arg-type]
    # Merges of different keys from several threads and handles lose nothing.
    hubs = [hub, open_hub(), open_hub()]
    errors: list[BaseException] = []

    def work(h: zerolag.Hub, t: int) -> None:
        try:
            for i in range(15):
                h.docs.merge("contexts/counter.yaml", {f"t{t}": {f"k{i}": i}})
        except BaseException as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(hubs[t % 3], t)) for t in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    v = docs.get("contexts/counter.yaml").value
    assert v == {f"t{t}": {f"k{i}": i for i in range(15)} for t in range(6)}


def test_list_delete_and_the_writeback_queue(hub: zerolag.Hub) -> None:
    docs = hub.docs
    for p in ["contexts/a/1.yaml", "contexts/a/2.yaml", "contexts/ab.yaml", "workflows/w.yaml"]:
        docs.put(p, {"p": p})
    assert docs.list() == [
        "contexts/a/1.yaml",
        "contexts/a/2.yaml",
        "contexts/ab.yaml",
        "workflows/w.yaml",
    ]
    assert docs.list("contexts/a/") == ["contexts/a/1.yaml", "contexts/a/2.yaml"]
    assert docs.list("contexts/a") == ["contexts/a/1.yaml", "contexts/a/2.yaml", "contexts/ab.yaml"]
    assert docs.list("nothing/") == []
    assert set(docs.pending_writeback()) == set(docs.list())
    assert docs.pending_writeback(2) == ["contexts/a/1.yaml", "contexts/a/2.yaml"]
    assert docs.delete("contexts/ab.yaml") is True
    assert docs.delete("contexts/ab.yaml") is False
    assert "contexts/ab.yaml" not in docs.list()
    assert "contexts/ab.yaml" in docs.pending_writeback(), "a deleted document is a file to delete"


BAD_PATHS = [
    "",
    "/etc/passwd.yaml",
    "contexts/../../etc/x.yaml",
    "contexts/./x.yaml",
    "contexts//x.yaml",
    "src/x.yaml",
    "contexts/x.txt",
    "contexts\\x.yaml",
    "contexts/a\x00b.yaml",
    "c" * 2000 + ".yaml",
]


def bomb(levels: int = 7) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


HOSTILE = [
    (bomb(), "alias bomb"),
    ("[" * 200 + "]" * 200, "deeper"),
    ("a: 1\na: 2\n", "duplicate"),
    ("a: [1, 2\n", "invalid YAML"),
    ("--- 1\n--- 2\n", "more than one document"),
    ("x: !!python/object/apply:os.system ['echo hi']\n", "not supported"),
    ("x: .nan\n", "JSON"),
    (b"name: caf\xe9\n", "UTF-8"),
    ("x: " + "y" * (1 << 20) + "\n", "limit"),
]


def test_bad_paths_and_hostile_content_write_nothing(hub: zerolag.Hub) -> None:
    docs = hub.docs
    docs.put("contexts/keep.yaml", {"good": True})
    before = hub.health().keys
    for p in BAD_PATHS:
        with pytest.raises(zerolag.ValidationError):
            docs.put(p, {"x": 1})
        with pytest.raises(zerolag.ValidationError):
            docs.get(p)
    for text, why in HOSTILE:
        with pytest.raises(zerolag.ValidationError, match=why):
            docs.put_text("contexts/keep.yaml", text)
    with pytest.raises(zerolag.ValidationError, match="JSON"):
        docs.put_text("contexts/j.json", '{"a": ')
    with pytest.raises(zerolag.ValidationError):
        docs.put("contexts/keep.yaml", {1, 2})
    assert docs.get("contexts/keep.yaml").value == {"good": True}, "the last good version stays"
    assert hub.health().keys == before


def test_roots_and_limits_are_configurable(hub: zerolag.Hub) -> None:
    docs = hub.docs
    assert docs.configure() == (["contexts", "workflows"], 1 << 20)
    docs.configure(roots=["notes"], max_bytes=100)
    try:
        docs.put("notes/a.yaml", {"a": 1})
        with pytest.raises(zerolag.ValidationError, match="synced root"):
            docs.put("contexts/a.yaml", {"a": 1})
        with pytest.raises(zerolag.ValidationError, match="limit"):
            docs.put_text("notes/big.yaml", "x: " + "y" * 200)
        for bad in ([], ["a/b"], [".."]):
            with pytest.raises(zerolag.ValidationError):
                docs.configure(roots=bad)
    finally:
        docs.configure(roots=["contexts", "workflows"], max_bytes=1 << 20)


def test_async_variants(async_hub: zerolag.AsyncHub, arun: Any) -> None:
    docs = async_hub.docs
    d = arun(docs.put("contexts/x.yaml", {"a": 1}))
    assert arun(docs.get("contexts/x.yaml")) == d
    assert arun(docs.merge("contexts/x.yaml", {"b": 2})).value == {"a": 1, "b": 2}
    assert arun(docs.put_text("contexts/y.yaml", "z: 1\n")).value == {"z": 1}
    assert arun(docs.list("contexts/")) == ["contexts/x.yaml", "contexts/y.yaml"]
    assert arun(docs.pending_writeback()) == ["contexts/x.yaml", "contexts/y.yaml"]
    assert arun(docs.delete("contexts/y.yaml")) is True
    with pytest.raises(zerolag.NotFoundError):
        arun(docs.get("contexts/y.yaml"))


@pytest.mark.parametrize("backend", ["redis", "cluster"])
def test_docs_keys_follow_the_documented_schema(
    hub: zerolag.Hub, store_servers: list[Any], namespace: str
) -> None:
    text = (HERE.parent / "docs" / "keys.md").read_text()
    rows = re.findall(r"^\| `D ([^`]+)` \| ([a-z ]+) \|", text, flags=re.M)
    assert len(rows) >= 3, "docs/keys.md lost its docs key table"
    hub.docs.put("contexts/a b/ü.yaml", {"x": 1})
    hub.docs.put("workflows/w.json", [1])
    hub.docs.delete("workflows/w.json")
    keys = data_keys(store_servers, namespace)
    prefix = f"zl:{{{namespace}:docs}}:"
    assert keys == {
        prefix + "doc:contexts/a b/ü.yaml",
        prefix + "paths",
        prefix + "writeback",
        prefix + "changes",
        prefix + "changes:n",
    }
    types = {k.strip(): t.strip() for k, t in rows}
    for key in keys:
        name = key[len(prefix) :]
        doc = "doc:<path>" if name.startswith("doc:") else name
        owner = next(s for s in store_servers if key in s.keys(key))
        assert owner.command("TYPE", key) == {"sorted set": "zset"}.get(types[doc], types[doc])

"""hub.sync on every backend under more realistic use: renames and moves (one event), several
processes editing at once (a person's editor, two agents merging through the API, the sync
engine in a process of its own), and a 10,000-file tree read at start-up."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import zerolag
from test_sync import atomic_save, events, until, value

HERE = Path(__file__).resolve().parent


@pytest.fixture
def running(hub: zerolag.Hub, tmp_path: Path) -> Any:
    (tmp_path / "contexts" / "app").mkdir(parents=True)
    (tmp_path / "contexts" / "app" / "brief.yaml").write_text("# brief\nname: MyApp\n")
    (tmp_path / "contexts" / "archive").mkdir()
    hub.sync.start(debounce=0.02)
    yield hub
    hub.sync.stop()


def test_a_rename_moves_the_document_in_one_event(running: zerolag.Hub, tmp_path: Path) -> None:
    hub = running
    src = tmp_path / "contexts" / "app" / "brief.yaml"
    dst = tmp_path / "contexts" / "archive" / "brief-2025.yaml"
    os.rename(src, dst)
    until(lambda: value(hub, "contexts/archive/brief-2025.yaml") == {"name": "MyApp"})
    until(lambda: value(hub, "contexts/app/brief.yaml") is None, what="old path gone")
    time.sleep(0.2)  # any stray change or delete event would have come by now
    file_events = [(c, e) for c, e in events(hub) if c != "file:synced"]
    assert file_events[-1] == (
        "file:renamed",
        {
            "path": "contexts/archive/brief-2025.yaml",
            "from": "contexts/app/brief.yaml",
            "version": 1,
            "origin": "file",
            "hash": hub.docs.get("contexts/archive/brief-2025.yaml").hash,
        },
    )
    assert [c for c, _ in file_events].count("file:changed") == 1  # the start-up import only
    assert hub.docs.get("contexts/archive/brief-2025.yaml").text == "# brief\nname: MyApp\n"
    assert hub.docs.pending_writeback() == []
    # Out of the roots is a delete; back in is a new file.
    (tmp_path / "elsewhere").mkdir()
    os.rename(dst, tmp_path / "elsewhere" / "brief.yaml")
    until(lambda: hub.docs.list() == [], what="moved out")
    os.rename(tmp_path / "elsewhere" / "brief.yaml", tmp_path / "contexts" / "back.yaml")
    until(lambda: value(hub, "contexts/back.yaml") == {"name": "MyApp"}, what="moved in")
    # Into a directory made just before: inotify may not watch it yet when the file lands,
    # so this can be a change plus a delete rather than one rename; either way it converges.
    (tmp_path / "contexts" / "new").mkdir()
    os.rename(tmp_path / "contexts" / "back.yaml", tmp_path / "contexts" / "new" / "b.yaml")
    until(lambda: hub.docs.list() == ["contexts/new/b.yaml"], what="moved to a new directory")
    assert value(hub, "contexts/new/b.yaml") == {"name": "MyApp"}


def test_a_rename_with_an_edit_or_over_a_document_is_change_plus_delete(
    running: zerolag.Hub, tmp_path: Path
) -> None:
    hub = running
    d = tmp_path / "contexts"
    (d / "other.yaml").write_text("v: other\n")
    until(lambda: value(hub, "contexts/other.yaml") == {"v": "other"})
    os.rename(d / "app" / "brief.yaml", d / "other.yaml")  # replaces another document
    until(lambda: value(hub, "contexts/other.yaml") == {"name": "MyApp"}, what="replaced")
    until(lambda: value(hub, "contexts/app/brief.yaml") is None, what="old path gone")
    assert not [c for c, _ in events(hub) if c == "file:renamed"]
    # An editor's atomic save (temp file renamed over the original) is a plain change.
    atomic_save(d / "other.yaml", "name: Saved\n")
    until(lambda: value(hub, "contexts/other.yaml") == {"name": "Saved"})
    assert not [c for c, _ in events(hub) if c == "file:renamed"]


EDITOR = """
import os, sys, time
root, rounds = sys.argv[1], int(sys.argv[2])
for k in range(1, rounds + 1):
    for i in range(5):
        p = os.path.join(root, "contexts", "people", f"a{i}.yaml")
        tmp = p + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"# edited by a person\\nn: {k}\\nwho: editor\\n")
        os.replace(tmp, p)  # what editors do
    time.sleep(0.005)
"""

AGENT = """
import sys, zerolag
url = None if sys.argv[1] == "-" else sys.argv[1]
hub = zerolag.open(url, root=sys.argv[2], namespace=sys.argv[3])
me, rounds = sys.argv[4], int(sys.argv[5])
for k in range(1, rounds + 1):
    for i in range(5):
        hub.docs.merge(f"contexts/agents/{me}{i}.yaml", {"n": k, "by": me})
    hub.docs.merge("contexts/shared.yaml", {me: k, "log": {me: f"round {k}"}})
hub.close()
"""


def test_processes_editing_at_once_converge(
    hub: zerolag.Hub, store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    rounds = 40
    (tmp_path / "contexts" / "people").mkdir(parents=True)
    (tmp_path / "contexts" / "shared.yaml").write_text("# shared by the agents\nstart: true\n")
    url = store_url or "-"
    sync = subprocess.Popen(
        [sys.executable, "-m", "zerolag", "sync", "--root", str(tmp_path)]
        + ["--namespace", namespace, "--debounce", "0.02"]
        + (["--url", store_url] if store_url else []),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sync.stdout is not None and "files read at start" in sync.stdout.readline()
        procs = [subprocess.Popen([sys.executable, "-c", EDITOR, str(tmp_path), str(rounds)])]
        for me in ("x", "y"):
            args = [url, str(tmp_path), namespace, me, str(rounds)]
            procs.append(subprocess.Popen([sys.executable, "-c", AGENT, *args]))
        for p in procs:
            assert p.wait(120) == 0
        paths = [f"contexts/people/a{i}.yaml" for i in range(5)]
        paths += [f"contexts/agents/{me}{i}.yaml" for me in "xy" for i in range(5)]
        paths.append("contexts/shared.yaml")

        def converged() -> bool:
            if hub.docs.pending_writeback():
                return False
            for rel in paths:
                f = tmp_path / rel
                if not f.exists() or f.read_text() != hub.docs.get(rel).text:
                    return False
            return True

        until(converged, timeout=60, what="files and store agree")
    finally:
        sync.terminate()
        sync.wait(30)
    for i in range(5):
        assert value(hub, f"contexts/people/a{i}.yaml") == {"n": rounds, "who": "editor"}
        for me in "xy":
            assert value(hub, f"contexts/agents/{me}{i}.yaml") == {"n": rounds, "by": me}
    shared = hub.docs.get("contexts/shared.yaml")
    want = {"start": True, "x": rounds, "y": rounds}
    want["log"] = {"x": f"round {rounds}", "y": f"round {rounds}"}
    assert shared.value == want
    assert shared.text.startswith("# shared by the agents\n"), "merges kept the comment"
    errors = [e for c, e in events(hub) if c in ("file:error", "file:conflict")]
    assert errors == []


STEPPER = """
import sys, zerolag
url = None if sys.argv[1] == "-" else sys.argv[1]
hub = zerolag.open(url, root=sys.argv[2], namespace=sys.argv[3])
for line in sys.stdin:  # one store write per line read, then an "ok" back
    hub.docs.merge("contexts/remote.yaml", {"n": int(line)})
    print("ok", flush=True)
hub.close()
"""


def test_another_process_write_wakes_the_write_back(
    hub: zerolag.Hub, store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    """A store write made by another process reaches the file through a wake-up (a pub/sub
    message on Redis, the database's change counter on SQLite): with the safety poll set to a
    minute, a lost wake-up would leave the file stale far past the wait below."""
    (tmp_path / "contexts").mkdir()
    hub.sync.start(writeback_poll=60.0)
    f = tmp_path / "contexts" / "remote.yaml"
    proc = subprocess.Popen(
        [sys.executable, "-c", STEPPER, store_url or "-", str(tmp_path), namespace],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        for n in range(1, 6):
            time.sleep(0.1)  # the write-back worker is asleep on an empty queue again
            proc.stdin.write(f"{n}\n")
            proc.stdin.flush()
            assert proc.stdout.readline().strip() == "ok"
            until(lambda n=n: f.exists() and f.read_text() == f"n: {n}\n", timeout=20.0)
    finally:
        proc.stdin.close()
        proc.wait(30)
        hub.sync.stop()
    assert proc.returncode == 0


@pytest.mark.timeout(300)
def test_ten_thousand_files_at_start_up(hub: zerolag.Hub, tmp_path: Path) -> None:
    n = 10_000
    for d in range(100):
        folder = tmp_path / "contexts" / f"area{d:02}"
        folder.mkdir(parents=True)
        for i in range(n // 100):
            (folder / f"doc{i:03}.yaml").write_text(
                f"# document {d}/{i}\nid: {d * 100 + i}\ntags: [a, b]\nowner: team{d % 7}\n"
            )
    st = hub.sync.start()
    try:
        assert (st["imported"], st["errors"]) == (n, 0)
        paths = hub.docs.list("contexts/")
        assert len(paths) == n
        assert value(hub, "contexts/area42/doc017.yaml") == {
            "id": 4217,
            "tags": ["a", "b"],
            "owner": "team0",
        }
    finally:
        hub.sync.stop()
    # Nothing changed: the next start reads every file again but imports and writes nothing.
    (tmp_path / "contexts" / "area00" / "doc000.yaml").write_text("id: -1\n")
    st = hub.sync.start()
    try:
        assert (st["imported"], st["written"], st["errors"]) == (1, 0, 0)
        assert value(hub, "contexts/area00/doc000.yaml") == {"id": -1}
    finally:
        hub.sync.stop()


def _mixed_before(hub: zerolag.Hub, root: Path) -> None:
    """A first sync session over four files, then the API changes one while nothing runs."""
    d = root / "contexts" / "mix"
    d.mkdir(parents=True)
    for name, text in [
        ("unchanged", "u: 1\n"),
        ("edited", "e: 1\n"),
        ("broken", "b: 1\n"),
        ("ahead", "s: 1\n"),
    ]:
        (d / f"{name}.yaml").write_text(text)
    hub.sync.start(debounce=0.02)
    until(lambda: value(hub, "contexts/mix/ahead.yaml") == {"s": 1})
    hub.sync.stop()
    hub.docs.put("contexts/mix/ahead.yaml", {"s": 2})  # the store is ahead of its file


def _mixed_changes(root: Path) -> None:
    d = root / "contexts" / "mix"
    (d / "edited.yaml").write_text("e: 2\n")
    (d / "broken.yaml").write_text("b: [1\n")  # the store keeps the last good version
    (d / "new.yaml").write_text("n: 1\n")
    (d / "badnew.yaml").write_text("x: [\n")
    (d / "bytes.yaml").write_bytes(b"k: \xff\xfe\n")


MIX = ["unchanged", "edited", "broken", "ahead", "new", "badnew", "bytes"]


def _state(hub: zerolag.Hub) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in MIX:
        p = f"contexts/mix/{name}.yaml"
        try:
            d = hub.docs.get(p)
        except zerolag.NotFoundError:
            out[p] = None
            continue
        out[p] = (d.text, d.value, d.version, d.hash, d.origin)
    return out


def _file_events(hub: zerolag.Hub, after: str) -> list[tuple[str, Any]]:
    """The file:changed and file:error events after `after`, sorted."""
    return sorted(
        (e.channel, sorted(e.data.items()))
        for e in hub.events.read("file:changed", "file:error", after=after, limit=1000)
    )


def test_the_start_up_scan_decides_as_the_single_file_path(
    open_hub: Any, namespace: str, tmp_path: Path
) -> None:
    # Twin A: the changes happen while nothing runs; the start-up scan (in batches) reads them.
    # Twin B: the same changes happen while the engine runs; the watcher reads each file alone.
    a_root, b_root = tmp_path / "a", tmp_path / "b"
    a = open_hub(namespace + "a", root=a_root)
    b = open_hub(namespace + "b", root=b_root)
    for hub, root in [(a, a_root), (b, b_root)]:
        _mixed_before(hub, root)
    mark = {id(h): h.events.last_id() for h in (a, b)}
    _mixed_changes(a_root)
    a.sync.start(debounce=0.02)
    b.sync.start(debounce=0.02)
    until(lambda: value(b, "contexts/mix/ahead.yaml") == {"s": 2})
    _mixed_changes(b_root)
    want = {
        ("file:changed", "contexts/mix/new.yaml"),
        ("file:changed", "contexts/mix/edited.yaml"),
        ("file:error", "contexts/mix/broken.yaml"),
        ("file:error", "contexts/mix/badnew.yaml"),
        ("file:error", "contexts/mix/bytes.yaml"),
    }
    for hub in (a, b):
        until(
            lambda h=hub: want <= {(c, dict(e)["path"]) for c, e in _file_events(h, mark[id(h)])},
            what="the changes read",
        )
        until(lambda h=hub: h.sync.status()["written"] >= 1, what="ahead.yaml written back")
    time.sleep(0.3)  # any stray event would have come by now
    a.sync.stop()
    b.sync.stop()
    assert _state(a) == _state(b)
    assert _file_events(a, mark[id(a)]) == _file_events(b, mark[id(b)])
    st = _state(a)
    assert st["contexts/mix/broken.yaml"][1] == {"b": 1}
    assert st["contexts/mix/ahead.yaml"][1:3] == ({"s": 2}, 2)
    assert st["contexts/mix/new.yaml"][2:] == (1, st["contexts/mix/new.yaml"][3], "file")
    assert st["contexts/mix/badnew.yaml"] is None and st["contexts/mix/bytes.yaml"] is None
    assert (a_root / "contexts" / "mix" / "ahead.yaml").read_text() == "s: 2\n"
    # Each event once, with the payload of the single-file path.
    got = _file_events(a, mark[id(a)])
    assert sorted((c, dict(e)["path"]) for c, e in got) == sorted(want)
    changed = [dict(e) for c, e in got if c == "file:changed"]
    assert sorted(e["path"] for e in changed) == [
        "contexts/mix/edited.yaml",
        "contexts/mix/new.yaml",
    ]
    for e in changed:
        d = a.docs.get(e["path"])
        assert e == {"path": d.path, "version": d.version, "origin": "file", "hash": d.hash}
    # The import recorded the synced base: a rescan changes nothing.
    a.sync.start(debounce=0.02)
    a.sync.stop()
    assert _state(a) == st


def test_links_out_of_the_root_are_not_followed(
    running: zerolag.Hub, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    hub = running
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.yaml").write_text("token: not for the store\n")
    (outside / "deep").mkdir()
    (outside / "deep" / "more.yaml").write_text("x: 1\n")
    os.symlink(outside, tmp_path / "contexts" / "linked")  # a directory link, while running
    os.symlink(outside / "secret.yaml", tmp_path / "contexts" / "secret.yaml")  # a file link
    (tmp_path / "contexts" / "after.yaml").write_text("v: 1\n")  # the watcher is still alive
    until(lambda: value(hub, "contexts/after.yaml") == {"v": 1}, what="a later file")
    hub.sync.stop()
    hub.sync.start()  # and a full scan does not follow them either
    time.sleep(0.2)
    paths = hub.docs.list()
    assert not [p for p in paths if p.startswith("contexts/linked/")], paths
    assert "contexts/secret.yaml" not in paths


def test_links_out_of_the_synced_folders_are_refused_on_every_path(
    hub: zerolag.Hub, tmp_path: Path
) -> None:
    # Inside the repository but outside contexts/ and workflows/: a cloned repository can
    # carry such links. Each is refused with file:error, whether the full scan, the watcher
    # or a rename finds it; a link between synced files still works.
    (tmp_path / ".env").write_text("API_KEY: from .env\n")
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "secret.yaml").write_text("token: private\n")
    ctx = tmp_path / "contexts"
    ctx.mkdir()
    (ctx / "real.yaml").write_text("ok: 1\n")
    os.symlink("../.env", ctx / "l2.yaml")  # relative
    os.symlink(tmp_path / "private" / "secret.yaml", ctx / "l1.yaml")  # absolute
    os.symlink("real.yaml", ctx / "alias.yaml")  # stays inside: followed
    hub.sync.start(debounce=0.02)
    try:
        until(lambda: value(hub, "contexts/alias.yaml") == {"ok": 1}, what="the inside link")
        (tmp_path / "workflows").mkdir(exist_ok=True)
        os.symlink(tmp_path / ".env", ctx / "l3.yaml")  # the watcher finds it
        (tmp_path / "private" / "moved.yaml").write_text("token: moved\n")
        staged = tmp_path / "private" / "staged.yaml"
        os.symlink(tmp_path / "private" / "moved.yaml", staged)
        os.rename(staged, ctx / "l4.yaml")  # moved in: a rename
        want = {f"contexts/l{i}.yaml" for i in (1, 2, 3, 4)}

        def refused() -> set[str]:
            return {d["path"] for c, d in events(hub) if c == "file:error"} & want

        until(lambda: refused() == want, what="a file:error for each link")
        for e in hub.events.read("file:error", after="0"):
            if e.data["path"] in want:
                assert "outside the synced folders" in e.data["error"]
        paths = set(hub.docs.list())
        assert not paths & want, paths
        for text in ("from .env", "private", "moved"):
            assert not [p for p in paths if text in str(hub.docs.get(p).value)], text
    finally:
        hub.sync.stop()
    # The next scan refuses them again, and the store never held them.
    hub.sync.start()
    hub.sync.stop()
    assert not set(hub.docs.list()) & want

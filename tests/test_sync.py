"""hub.sync on every backend, with real files and the real watcher: file edits reach the store,
API writes reach the files atomically, nothing echoes, start-up reconciles, deletes follow,
conflicts keep both versions, broken files are refused, one engine per root, and a sync
process SIGKILLed during heavy write-back leaves no torn file and resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zerolag

HERE = Path(__file__).resolve().parent


def until(cond: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    end = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.005)


def value(hub: zerolag.Hub, path: str) -> Any:
    try:
        return hub.docs.get(path).value
    except zerolag.NotFoundError:
        return None


def events(hub: zerolag.Hub, channel: str = "file:*") -> list[tuple[str, dict[str, Any]]]:
    return [(e.channel, e.data) for e in hub.events.read(channel, after="0")]


def synced_once(hub: zerolag.Hub, root: Path, rel: str, text: str) -> Path:
    """Writes ``rel`` under ``root`` and runs the sync once over it (started, then stopped):
    file and store agree on it and nothing runs any more. Returns the file's path."""
    f = root / rel
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(text)
    hub.sync.start()
    hub.sync.stop()
    return f


def atomic_save(path: Path, text: str) -> None:
    """What editors do: write a temp file, then rename it over the original."""
    tmp = path.with_name(f".{path.name}.swp")
    tmp.write_text(text)
    os.replace(tmp, path)


@pytest.fixture
def synced(hub: zerolag.Hub, tmp_path: Path) -> Any:
    (tmp_path / "contexts" / "app").mkdir(parents=True)
    (tmp_path / "contexts" / "app" / "brief.yaml").write_text("# the brief\nname: MyApp\n")
    (tmp_path / "workflows").mkdir()
    (tmp_path / "workflows" / "deploy.json").write_text('{"steps": [1, 2]}\n')
    (tmp_path / "contexts" / "notes.txt").write_text("not synced")
    hub.sync.start(debounce=0.02)
    yield hub
    hub.sync.stop()


def test_startup_scan_imports_the_files(synced: zerolag.Hub) -> None:
    hub = synced
    d = hub.docs.get("contexts/app/brief.yaml")
    assert (d.value, d.origin, d.text) == ({"name": "MyApp"}, "file", "# the brief\nname: MyApp\n")
    assert value(hub, "workflows/deploy.json") == {"steps": [1, 2]}
    assert hub.docs.list() == ["contexts/app/brief.yaml", "workflows/deploy.json"]
    st = hub.sync.status()
    assert st["running"] and st["imported"] == 2 and st["errors"] == 0
    assert hub.docs.pending_writeback() == []


def test_file_edit_reaches_the_store_without_echo(synced: zerolag.Hub, tmp_path: Path) -> None:
    hub = synced
    f = tmp_path / "contexts" / "app" / "brief.yaml"
    f.write_text("# the brief\nname: Renamed\n")
    until(lambda: value(hub, "contexts/app/brief.yaml") == {"name": "Renamed"}, what="edit")
    atomic_save(f, "name: Saved atomically\n")
    until(lambda: value(hub, "contexts/app/brief.yaml") == {"name": "Saved atomically"})
    (tmp_path / "contexts" / "new" / "deep").mkdir(parents=True)
    (tmp_path / "contexts" / "new" / "deep" / "x.yml").write_text("a: 1\n")
    until(lambda: value(hub, "contexts/new/deep/x.yml") == {"a": 1}, what="new directory")
    time.sleep(0.2)
    d = hub.docs.get("contexts/app/brief.yaml")
    assert d.version == 3 and d.origin == "file"
    assert hub.docs.pending_writeback() == [], "file-side changes are not written back"
    changed = [e for c, e in events(hub) if c == "file:changed"]
    assert [e["version"] for e in changed if e["path"] == "contexts/app/brief.yaml"] == [1, 2, 3]
    assert not [c for c, _ in events(hub) if c == "file:synced"], "nothing echoed"


def test_api_write_reaches_the_file_without_echo(synced: zerolag.Hub, tmp_path: Path) -> None:
    hub = synced
    d = hub.docs.merge("contexts/app/brief.yaml", {"owner": "ana"})
    f = tmp_path / "contexts" / "app" / "brief.yaml"
    until(lambda: "owner: ana" in f.read_text(), what="write-back")
    hub.docs.put("workflows/new/flow.yaml", {"steps": ["build", "ship"]})
    g = tmp_path / "workflows" / "new" / "flow.yaml"
    until(g.exists, what="new file")
    assert g.read_text() == "steps:\n  - build\n  - ship\n"
    until(lambda: hub.docs.pending_writeback() == [], what="queue drained")
    time.sleep(0.2)
    assert hub.docs.get("contexts/app/brief.yaml").version == d.version, "no echo back"
    chans = [c for c, _ in events(hub)]
    assert chans.count("file:synced") == 2 and chans.count("file:changed") == 2  # the scan's
    assert not list((tmp_path / "contexts" / "app").glob(".*zl-tmp*")), "no temp file left"


def test_deletes_follow_both_ways(synced: zerolag.Hub, tmp_path: Path) -> None:
    hub = synced
    (tmp_path / "workflows" / "deploy.json").unlink()
    until(lambda: value(hub, "workflows/deploy.json") is None, what="file delete")
    assert hub.docs.delete("contexts/app/brief.yaml")
    until(lambda: not (tmp_path / "contexts" / "app" / "brief.yaml").exists(), what="store delete")
    until(lambda: hub.docs.pending_writeback() == [])
    assert hub.docs.list() == []


def test_changes_while_stopped_are_reconciled(hub: zerolag.Hub, tmp_path: Path) -> None:
    (tmp_path / "contexts").mkdir()
    (tmp_path / "contexts" / "a.yaml").write_text("v: 1\n")
    (tmp_path / "contexts" / "b.yaml").write_text("v: 1\n")
    hub.sync.start()
    hub.sync.stop()
    (tmp_path / "contexts" / "a.yaml").write_text("v: 2\n")  # file side, while stopped
    (tmp_path / "contexts" / "b.yaml").unlink()
    hub.docs.put("contexts/c.yaml", {"v": 3})  # store side, while stopped
    hub.sync.start()
    assert value(hub, "contexts/a.yaml") == {"v": 2} and value(hub, "contexts/b.yaml") is None
    until(lambda: (tmp_path / "contexts" / "c.yaml").exists(), what="store change written")
    assert (tmp_path / "contexts" / "c.yaml").read_text() == "v: 3\n"
    hub.sync.stop()


def test_both_sides_changed_keeps_both(hub: zerolag.Hub, tmp_path: Path) -> None:
    f = synced_once(hub, tmp_path, "contexts/c.yaml", "v: base\n")
    f.write_text("v: file side\n")
    hub.docs.put("contexts/c.yaml", {"v": "store side"})
    hub.sync.start()
    until(lambda: f.read_text() == "v: store side\n", what="store version written")
    copies = list((tmp_path / "contexts").glob("c.conflict-*.yaml"))
    assert len(copies) == 1 and copies[0].read_text() == "v: file side\n"
    conflicts = [e for c, e in events(hub) if c == "file:conflict"]
    assert len(conflicts) == 1 and conflicts[0]["path"] == "contexts/c.yaml"
    time.sleep(0.2)
    assert value(hub, "contexts/c.yaml") == {"v": "store side"}
    assert [p for p in hub.docs.list() if "conflict" in p] == [], "copies are not imported"
    hub.sync.stop()


@pytest.mark.parametrize(
    "content",
    [b"a: [1\n", b"name: caf\xe9\n", b"a: 1\na: 2\n", b"x: !!python/object:os.system 1\n"],
)
def test_broken_files_are_left_alone(synced: zerolag.Hub, tmp_path: Path, content: bytes) -> None:
    hub = synced
    f = tmp_path / "contexts" / "app" / "brief.yaml"
    f.write_bytes(content)
    until(lambda: [e for c, e in events(hub) if c == "file:error"], what="file:error")
    assert value(hub, "contexts/app/brief.yaml") == {"name": "MyApp"}, "last good version kept"
    assert f.read_bytes() == content, "the file is left as it is"
    assert hub.sync.status()["errors"] >= 1


def test_names_the_file_system_cannot_hold_are_refused_at_put(
    synced: zerolag.Hub, tmp_path: Path
) -> None:
    hub = synced
    for path in [
        "contexts/" + "a" * 300 + ".yaml",  # a file name past every file system's limit
        "contexts/" + "b" * 196 + ".yaml",  # fits alone, not with the sync's temp suffix
        "contexts/" + "d" * 256 + "/x.yaml",  # a directory name
    ]:
        with pytest.raises(zerolag.ValidationError, match="bytes"):
            hub.docs.put(path, {"x": 1})
    assert hub.docs.pending_writeback() == []
    ok = "contexts/" + "c" * 195 + ".yaml"  # 200 bytes: written back
    hub.docs.put(ok, {"x": 1})
    until(lambda: (tmp_path / ok).exists(), what="the longest name written back")


def test_a_write_back_that_keeps_failing_is_parked_and_reported_once(
    synced: zerolag.Hub, tmp_path: Path
) -> None:
    hub = synced
    blocker = tmp_path / "contexts" / "blocked.yaml"
    blocker.mkdir()  # a directory where the file should go: every write fails
    hub.docs.put("contexts/blocked.yaml", {"x": 1})
    until(lambda: hub.sync.status()["parked"] == ["contexts/blocked.yaml"], what="parked")
    time.sleep(1.0)  # retries run (0.1, 0.2, 0.4 s ...) without flooding the log

    def errors() -> list[dict[str, Any]]:
        return [
            e for c, e in events(hub) if c == "file:error" and e["path"].endswith("blocked.yaml")
        ]

    (err,) = errors()
    assert err["retry"] is True and err["retry_in"] > 0
    assert 2 <= hub.sync.status()["errors"] <= 20
    # Other paths are not held up meanwhile.
    hub.docs.put("contexts/other.yaml", {"y": 2})
    until(lambda: (tmp_path / "contexts" / "other.yaml").exists(), what="another write-back")
    # Once the cause goes, the next retry writes the file and the path is no longer parked.
    blocker.rmdir()
    until(lambda: blocker.is_file(), timeout=20, what="the retried write-back")
    until(lambda: hub.sync.status()["parked"] == [], what="unparked")
    assert len(errors()) == 1


def test_a_file_truncated_by_a_writer_still_writing_is_not_imported(
    synced: zerolag.Hub, tmp_path: Path
) -> None:
    hub = synced
    f = tmp_path / "contexts" / "app" / "brief.yaml"
    seen = []
    with f.open("w") as w:  # truncated; the writer is not done (no close yet)
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            seen.append(value(hub, "contexts/app/brief.yaml"))
            time.sleep(0.01)
        w.write("name: Renamed\n")
    until(lambda: value(hub, "contexts/app/brief.yaml") == {"name": "Renamed"}, what="the write")
    assert seen and all(v == {"name": "MyApp"} for v in seen), seen
    # Emptied on purpose (the writer closed it): the document follows.
    f.write_text("")
    until(lambda: hub.docs.get("contexts/app/brief.yaml").text == "", what="the empty file")
    # Shrunk by a writer that stays open and silent past the settle time: imported then.
    f.write_text("name: Longer text that will shrink\n")
    until(lambda: value(hub, "contexts/app/brief.yaml") is not None, what="the long text")
    with f.open("w") as w:
        w.write("n: 1\n")
        w.flush()
        until(lambda: value(hub, "contexts/app/brief.yaml") == {"n": 1}, what="settled")


def test_stale_temp_files_are_removed_at_start(hub: zerolag.Hub, tmp_path: Path) -> None:
    ctx = tmp_path / "contexts" / "app"
    ctx.mkdir(parents=True)
    stale = ctx / ".brief.yaml.zl-tmp-4242-deadbeef"
    stale.write_text("half: writ")
    (ctx / "brief.yaml").write_text("name: MyApp\n")
    hub.sync.start()
    hub.sync.stop()
    assert not stale.exists()
    assert hub.docs.list() == ["contexts/app/brief.yaml"]


def test_one_engine_per_root(synced: zerolag.Hub, open_hub: Any, tmp_path: Path) -> None:
    with pytest.raises(zerolag.ConflictError, match="another sync engine"):
        open_hub().sync.start()
    with pytest.raises(zerolag.ConflictError, match="already running"):
        synced.sync.start()
    proc = subprocess.run(
        [sys.executable, "-m", "zerolag", "sync", "--root", str(tmp_path), "--once"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0 and "another sync engine" in proc.stderr


SYNC_PROC = """
import sys, time, zerolag
url = None if sys.argv[1] == "-" else sys.argv[1]
hub = zerolag.open(url, root=sys.argv[2], namespace=sys.argv[3])
hub.sync.start(debounce=0.02)
print("ready", flush=True)
time.sleep(600)
"""


def test_sigkill_during_write_back_leaves_no_torn_file(
    hub: zerolag.Hub, store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    big = {f"k{i}": "x" * 200 for i in range(200)}  # ~45 KB per file
    n = 150
    for s in range(0, n, 50):
        for i in range(s, s + 50):
            hub.docs.put(f"contexts/f{i}.yaml", {**big, "i": i})
    want = {f"contexts/f{i}.yaml": hub.docs.get(f"contexts/f{i}.yaml").text for i in range(n)}
    args = [sys.executable, "-c", SYNC_PROC, store_url or "-", str(tmp_path), namespace]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    # Kill it as soon as the write-back has begun.
    until(lambda: list((tmp_path / "contexts").glob("f*.yaml")), timeout=30, what="writing")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # Whatever is on disk is whole: the old state (absent) or the new text, never a mix.
    for rel, text in want.items():
        f = tmp_path / rel
        if f.exists():
            assert f.read_text() == text, f"torn {rel}"
    left = hub.docs.pending_writeback(1000)
    print(f"\n{len(left)} of {n} still queued after the kill")
    hub.sync.start()
    until(lambda: hub.docs.pending_writeback() == [], timeout=30, what="queue resumed")
    for rel, text in want.items():
        assert (tmp_path / rel).read_text() == text
    hub.sync.stop()
    assert left, "the kill came after the write-back had finished: no crash was tested"

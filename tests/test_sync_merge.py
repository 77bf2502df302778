"""hub.sync merges on every backend, with real files and the real watcher: a store-side merge
rewrites only the fields it changes (comments, key order and layout survive, so the git diff is
the changed lines); when the file and the store both changed since the last sync, the two are
merged against the last synced version field by field, and fields changed differently on both
sides follow the configured policy, with nothing lost silently."""

from __future__ import annotations

import difflib
import time
from pathlib import Path
from typing import Any

import pytest
import zerolag
from test_sync import events, synced_once, until, value

BRIEF = """\
# Project brief: edited by people, merged by agents.
name: MyApp   # the product's name
owner: alice

# What we build first
goals:
  - login
  - billing
limits:
  # requests per minute
  rpm: 600
  burst: 20
"""


def changed_lines(old: str, new: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def synced_event(hub: zerolag.Hub, version: int) -> dict[str, Any]:
    def find() -> Any:
        for ch, e in events(hub):
            if ch == "file:synced" and e.get("version") == version:
                return e
        return None

    return until(find, what=f"file:synced of version {version}")  # type: ignore[no-any-return]


@pytest.fixture
def brief(hub: zerolag.Hub, tmp_path: Path) -> Any:
    (tmp_path / "contexts").mkdir()
    f = tmp_path / "contexts" / "brief.yaml"
    f.write_text(BRIEF)
    hub.sync.start(debounce=0.02)
    yield f
    hub.sync.stop()


def test_store_merge_rewrites_only_the_changed_fields(hub: zerolag.Hub, brief: Path) -> None:
    d = hub.docs.merge("contexts/brief.yaml", {"limits": {"rpm": 900}})
    until(lambda: "rpm: 900" in brief.read_text(), what="merge written back")
    text = brief.read_text()
    assert changed_lines(BRIEF, text) == ["-  rpm: 600", "+  rpm: 900"]
    assert synced_event(hub, d.version)["whole"] is False
    # A new field lands inside its mapping; a new top-level key at the end; nothing else moves.
    d = hub.docs.merge("contexts/brief.yaml", {"limits": {"window": "1m"}, "status": "beta"})
    until(lambda: "status: beta" in brief.read_text(), what="second merge written back")
    after = brief.read_text()
    assert changed_lines(text, after) == ["+  window: 1m", "+status: beta"]
    assert after.startswith("# Project brief") and "# the product's name" in after
    assert hub.docs.get("contexts/brief.yaml").value == {
        "name": "MyApp",
        "owner": "alice",
        "goals": ["login", "billing"],
        "limits": {"rpm": 900, "burst": 20, "window": "1m"},
        "status": "beta",
    }
    assert synced_event(hub, d.version)["whole"] is False
    # A put of a whole value renders the document: the event says so.
    d = hub.docs.put("contexts/brief.yaml", {"name": "Other"})
    until(lambda: brief.read_text() == "name: Other\n", what="put written back")
    assert synced_event(hub, d.version)["whole"] is True


def test_both_sides_changed_different_fields_are_merged(hub: zerolag.Hub, tmp_path: Path) -> None:
    f = synced_once(hub, tmp_path, "contexts/brief.yaml", BRIEF)
    # While no sync runs: a person edits the owner, an agent merges the limits.
    f.write_text(BRIEF.replace("owner: alice", "owner: bob  # took over"))
    hub.docs.merge("contexts/brief.yaml", {"limits": {"burst": 40}, "status": "beta"})
    hub.sync.start()
    until(lambda: "burst: 40" in f.read_text(), what="merge written")
    text = f.read_text()
    assert "owner: bob  # took over" in text and "# requests per minute" in text
    assert hub.docs.get("contexts/brief.yaml").value == {
        "name": "MyApp",
        "owner": "bob",
        "goals": ["login", "billing"],
        "limits": {"rpm": 600, "burst": 40},
        "status": "beta",
    }
    assert list((tmp_path / "contexts").glob("*.conflict-*")) == []
    merged = [e for c, e in events(hub) if c == "file:merged"]
    assert len(merged) == 1 and merged[0]["path"] == "contexts/brief.yaml"
    assert merged[0]["whole"] is False  # edited in place over the person's text
    assert synced_event(hub, merged[0]["version"])["whole"] is False
    assert not [c for c, _ in events(hub) if c == "file:conflict"]
    st = hub.sync.status()
    assert st["merged"] == 1 and st["conflicts"] == 0
    # Settled: file and store agree, nothing is queued, and a later file edit imports plainly.
    assert hub.docs.pending_writeback() == []
    assert hub.docs.get("contexts/brief.yaml").text == text
    f.write_text(text.replace("rpm: 600", "rpm: 700"))
    # write_text truncates first: the watcher may see the empty file for a moment.
    until(lambda: (value(hub, "contexts/brief.yaml") or {}).get("limits", {}).get("rpm") == 700)
    hub.sync.stop()


@pytest.mark.parametrize("policy", ["keep-both", "store", "file"])
def test_same_field_changed_on_both_sides_follows_the_policy(
    hub: zerolag.Hub, tmp_path: Path, policy: str
) -> None:
    f = synced_once(hub, tmp_path, "contexts/brief.yaml", BRIEF)
    f.write_text(BRIEF.replace("rpm: 600", "rpm: 100").replace("owner: alice", "owner: bob"))
    hub.docs.merge("contexts/brief.yaml", {"limits": {"rpm": 900}, "name": "MyApp 2"})
    hub.sync.start(conflicts=policy)  # type: ignore[arg-type]
    conflict = until(
        lambda: next((e for c, e in events(hub) if c == "file:conflict"), None), what="conflict"
    )
    assert conflict["fields"] == [{"field": "limits.rpm", "store": 900, "file": 100}]
    assert conflict["policy"] == policy and conflict["merged"] is True
    want_rpm = 100 if policy == "file" else 900
    assert conflict["kept"] == ("file" if policy == "file" else "store")
    # Fields only one side changed are merged whatever the policy.
    want = {"name": "MyApp 2", "owner": "bob", "limits": {"rpm": want_rpm, "burst": 20}}
    until(lambda: f"rpm: {want_rpm}" in f.read_text() and "MyApp 2" in f.read_text())
    got = hub.docs.get("contexts/brief.yaml").value
    assert {k: got[k] for k in want} == want
    copies = list((tmp_path / "contexts").glob("brief.conflict-*.yaml"))
    if policy == "keep-both":
        assert len(copies) == 1 and "rpm: 100" in copies[0].read_text()
        assert conflict["copy"] == f"contexts/{copies[0].name}"
    else:
        assert copies == [] and conflict["copy"] is None
    assert hub.sync.status()["conflicts"] == 1
    time.sleep(0.2)
    assert [p for p in hub.docs.list() if "conflict" in p] == []
    hub.sync.stop()


def test_conflict_without_a_parseable_file_keeps_both(hub: zerolag.Hub, tmp_path: Path) -> None:
    f = synced_once(hub, tmp_path, "contexts/c.yaml", "v: 1\n")
    f.write_text("v: [broken\n")
    hub.docs.merge("contexts/c.yaml", {"v": 2})
    hub.sync.start()
    until(lambda: f.read_text() == "v: 2\n", what="store version written")
    copies = list((tmp_path / "contexts").glob("c.conflict-*.yaml"))
    assert len(copies) == 1 and copies[0].read_text() == "v: [broken\n"
    conflict = next(e for c, e in events(hub) if c == "file:conflict")
    assert conflict["merged"] is False and conflict["fields"] is None
    hub.sync.stop()


def test_bad_policy_is_refused(hub: zerolag.Hub) -> None:
    with pytest.raises(zerolag.ValidationError, match="keep-both"):
        hub.sync.start(conflicts="newest")  # type: ignore[arg-type]
    assert not hub.sync.running


def test_json_documents_merge_three_way_too(hub: zerolag.Hub, tmp_path: Path) -> None:
    f = synced_once(
        hub,
        tmp_path,
        "workflows/deploy.json",
        '{"steps": ["build", "test"], "owner": "ana", "env": "staging"}\n',
    )
    f.write_text('{"steps": ["build", "test", "ship"], "owner": "ana", "env": "staging"}\n')
    hub.docs.merge("workflows/deploy.json", {"env": "prod"})
    hub.sync.start()
    want = {"steps": ["build", "test", "ship"], "owner": "ana", "env": "prod"}
    until(lambda: value(hub, "workflows/deploy.json") == want, what="merged")
    until(lambda: '"prod"' in f.read_text() and '"ship"' in f.read_text(), what="file merged")
    merged = [e for c, e in events(hub) if c == "file:merged"]
    assert len(merged) == 1 and merged[0]["whole"] is True  # JSON is rendered whole
    assert synced_event(hub, merged[0]["version"])["whole"] is True
    hub.sync.stop()

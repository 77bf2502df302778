"""`zerolag demo` (the dual loop on a scripted conversation) on every backend, and its CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import zerolag
from zerolag import demo


def test_demo_runs_the_conversation(hub: zerolag.Hub) -> None:
    lines: list[str] = []
    report = demo.run(hub, out=lines.append, step=0.05, pause=0.05, samples=60)
    text = "\n".join(lines)
    lat = report["latency"]
    assert lat["commands"] == 8 and lat["completed"] == 8, text
    assert lat["overhead_p50_ms"] > 0 and lat["first_event_p50_ms"] > 0
    assert [t["user"] for t in report["turns"]] == demo.CONVERSATION
    kinds = [c[:2] for t in report["turns"] for c in t["commands"]]
    assert kinds == ["tc", "ms", "ms", "wf", "tc", "ts", "ms", "cl"]
    assert all("stand-in" in t["reply"] for t in report["turns"])
    events = [e["event"][:2] for e in report["events"]]
    assert {"su", "tr", "tc", "cl"} <= set(events)
    found = {s["query"]: s["found"] for s in report["searches"]}
    assert len(found["intent project_planning"]) == 3 and found["text 'auth'"]
    assert "Latency" in text and "<- [" in text
    # The fact that changed: now, as of before the change, and both versions kept.
    assert report["memory"] == {
        "now": "I live in Berlin",
        "as_of": "I live in Lisbon",
        "versions": ["I live in Lisbon", "I live in Berlin"],
    }
    about_me = report["turns"][demo.CONVERSATION.index("What do you know about me?")]["reply"]
    assert "I live in Berlin" in about_me and "dark mode" in about_me and "Lisbon" not in about_me


def test_demo_cli_json(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "zerolag", "demo", "--json", "--root", str(tmp_path)]
        + ["--step", "0.05", "--samples", "50"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(out.stdout)
    assert report["backend"] == "embedded" and report["latency"]["completed"] == 8

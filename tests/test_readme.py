"""The README's five-line example runs as written and prints what the README says it prints."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_five_line_example_prints_what_the_readme_says(tmp_path: Path) -> None:
    text = README.read_text()
    section = text.split("## Five lines", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code, "no python block under '## Five lines'"
    lines = [line for line in code.group(1).splitlines() if line.strip()]
    assert len(lines) <= 5, f"the five-line example has {len(lines)} lines"
    said = re.search(r"prints `(.*?)`", section, re.S)
    assert said, "the README does not say what the example prints"
    out = subprocess.run(
        [sys.executable, "-c", code.group(1)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == " ".join(said.group(1).split())
    assert (tmp_path / ".zerolag").is_dir(), "the example uses the embedded store in its cwd"


def test_every_python_block_runs_in_order_in_one_interpreter(tmp_path: Path) -> None:
    """As a reader pasting the README's blocks one after the other into one Python session
    would: each runs, and each value or output the README shows (``# -> ...``, ``# prints
    ...``) is what it gives (tests/readme_run.py)."""
    runner = Path(__file__).resolve().parent / "readme_run.py"
    out = subprocess.run(
        [sys.executable, str(runner), str(README)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr[-4000:] + out.stdout[-2000:]
    assert out.stderr.count("ok") == README.read_text().count("```python")


def test_the_runner_checks_what_it_is_told(tmp_path: Path) -> None:
    """The README runner fails on a wrong value, a wrong output and an error, and passes the
    same blocks when they are right (so the test above can fail)."""
    runner = Path(__file__).resolve().parent / "readme_run.py"

    def run(md: str) -> subprocess.CompletedProcess[str]:
        f = tmp_path / "R.md"
        f.write_text(md)
        return subprocess.run(
            [sys.executable, str(runner), str(f)], cwd=tmp_path, capture_output=True, text=True
        )

    good = "```python\nx = 2\nx * 21   # -> 42\nprint('a  b', x)  # prints a b ...\n```\n"
    assert run(good).returncode == 0
    assert run(good.replace("-> 42", "-> 43")).returncode == 1
    assert run(good.replace("prints a b", "prints b a")).returncode == 1
    assert run(good + "```python\nundefined_name\n```\n").returncode == 1
    blocking = (
        "```python\nimport time\nwhile True: time.sleep(0.01)   # blocks\ny = 1\ny  # -> 1\n```\n"
    )
    assert run(blocking).returncode == 0
    assert run(blocking.replace("# -> 1", "# -> 2")).returncode == 1

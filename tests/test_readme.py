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

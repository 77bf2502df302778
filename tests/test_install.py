"""The package installs from its wheel into a fresh virtualenv without the network (only the
wheel and its dependencies' wheels, `pip install --no-index`), and the installed command runs
the demo. `make test` builds the wheel from the development build's artifacts
(target/dev-wheel) and downloads the dependencies' wheels beforehand ($VENV/wheelhouse)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEV_WHEEL = ROOT / "target" / "dev-wheel"
WHEELHOUSE = Path(sys.prefix) / "wheelhouse"


def _wheel() -> Path:
    wheels = sorted(DEV_WHEEL.glob("zerolag-*.whl"))
    if not wheels or not WHEELHOUSE.is_dir():
        pytest.fail(
            "no wheel in target/dev-wheel or no wheelhouse: run `make test`, which builds them",
            pytrace=False,
        )
    return wheels[-1]


def test_the_wheel_carries_the_package_and_its_metadata() -> None:
    names = zipfile.ZipFile(_wheel()).namelist()
    assert any(n.startswith("zerolag/_core") and n.endswith(".so") for n in names)
    assert "zerolag/_core.pyi" in names and "zerolag/py.typed" in names
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(_wheel()).read(meta).decode()
    assert "License-Expression: MIT" in text and "Requires-Dist: numpy" in text
    assert any(n.endswith("licenses/LICENSE") for n in names)
    entry = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    points = zipfile.ZipFile(_wheel()).read(entry).decode()
    points = points.replace(" ", "")
    assert "zerolag=zerolag.cli:main" in points and "zerolag=zerolag.testing" in points


def test_offline_install_into_a_fresh_virtualenv_runs_the_demo(tmp_path: Path) -> None:
    wheel = _wheel()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    env["PIP_NO_INDEX"] = "1"
    out = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-index",
            "--disable-pip-version-check",
            "--find-links",
            str(WHEELHOUSE),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    work = tmp_path / "work"
    work.mkdir()
    demo = subprocess.run(
        [str(venv / "bin" / "zerolag"), "demo", "--json"],
        cwd=work,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    summary = json.loads(demo.stdout)
    assert summary["backend"] == "embedded", summary
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import zerolag; print(zerolag.__file__)"],
        cwd=work,
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert str(venv) in where, "the installed package, not the source tree, was imported"

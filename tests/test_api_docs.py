"""The API reference builds without a warning (mkdocs --strict: an unresolved reference or a
docstring griffe cannot read fails it), and every public name carries a docstring: what the
package exports, and every public method of an exported class (read statically from the
sources and the native module's stubs, python/zerolag/_core.pyi, as the reference is)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import griffe
import pytest

ROOT = Path(__file__).resolve().parent.parent
#: The public modules: the package and the submodules users import from.
MODULES = ["zerolag", "zerolag.llm", "zerolag.embed", "zerolag.testing", "zerolag.protocol"]


def _documented(o: griffe.Object) -> bool:
    return bool(o.docstring and o.docstring.value.strip())


def undocumented(search_path: Path, modules: list[str]) -> list[str]:
    """Public names of ``modules`` (their ``__all__``) without a docstring, and public methods
    of public classes without one (properties and overload-only stubs aside)."""
    loader = griffe.GriffeLoader(search_paths=[str(search_path)], allow_inspection=False)
    top = loader.load(modules[0].split(".")[0])
    loader.resolve_aliases(implicit=True, external=False)
    missing: list[str] = []
    for name in modules:
        mod = top if name == top.path else top[name.split(".", 1)[1]]
        exports = (
            mod.exports
            if mod.exports is not None
            else [m for m in mod.members if not m.startswith("_")]
        )
        for export in exports:
            ename = export if isinstance(export, str) else export.name
            try:
                obj = mod[ename]
                obj = obj.final_target if obj.is_alias else obj
            except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
                continue  # an overload-only stub function: griffe keeps no object for it
            if obj.is_attribute or obj.is_module:
                continue
            if not _documented(obj):
                missing.append(f"{name}.{ename}")
            if obj.is_class:
                for mname, member in obj.members.items():
                    if mname.startswith("_") or member.is_alias:
                        continue
                    if member.is_function and "property" not in member.labels:
                        if not _documented(member):
                            missing.append(f"{name}.{ename}.{mname}")
    return missing


def test_every_public_name_has_a_docstring() -> None:
    missing = undocumented(ROOT / "python", MODULES)
    assert not missing, "public names without a docstring: " + ", ".join(missing)


def test_the_docstring_check_finds_what_is_missing(tmp_path: Path) -> None:
    pkg = tmp_path / "sample"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        '"""A sample."""\n__all__ = ["Good", "bad", "Half"]\n\n'
        'class Good:\n    """Documented."""\n    def run(self) -> None:\n        """Runs."""\n\n'
        "def bad() -> None: ...\n\n"
        'class Half:\n    """Documented."""\n    def quiet(self) -> None: ...\n'
        "    @property\n    def size(self) -> int: ...\n"
    )
    assert undocumented(tmp_path, ["sample"]) == ["sample.bad", "sample.Half.quiet"]


def test_the_reference_builds_strictly(tmp_path: Path) -> None:
    if (ROOT / ".venv" / "bin" / "mkdocs").exists():
        exe = [str(ROOT / ".venv" / "bin" / "mkdocs")]
    else:
        exe = [sys.executable, "-m", "mkdocs"]
    out = subprocess.run(
        [*exe, "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "WARNING" not in out.stderr, out.stderr[-3000:]
    page = (tmp_path / "site" / "api" / "index.html").read_text()
    for name in ["zerolag.Tasks", "zerolag.Kv", "zerolag.DualLoop", "HashingEmbedder"]:
        assert name in page, f"{name} is missing from the API reference"


@pytest.mark.parametrize("name", MODULES)
def test_public_modules_import(name: str) -> None:
    __import__(name)

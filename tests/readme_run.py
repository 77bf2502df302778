"""Runs every Python block of a Markdown file in order in this one interpreter, as a reader
pasting them would, and checks what the blocks say they give.

Usage: ``python readme_run.py README.md`` (from the directory the blocks should run in).
Exits 0 when all ran and matched; otherwise prints which block and line failed and exits 1.

What a block may claim, in a comment at the end of a top-level statement's last line:

- ``expr  # -> VALUE``: ``repr(expr)`` is VALUE;
- ``stmt  # prints TEXT``: the statement prints TEXT (its whole output);
- ``stmt  # blocks``: the statement runs until stopped by design (a subscription loop): it runs
  in a daemon thread for a moment and must not raise in that time (on the statement's first
  or last line).

In VALUE and TEXT, ``...`` matches any text and runs of whitespace match any whitespace, so a
README can show ids and times loosely. Other comments are prose and are not checked.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import sys
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path

#: Seconds a ``# blocks`` statement runs before the next statement starts.
BLOCKS_FOR = 1.0

_CLAIM = re.compile(r"#\s*(->|prints|blocks)\s*(.*?)\s*$")


class _Stdout(io.TextIOBase):
    """sys.stdout while the blocks run: what the main thread prints during a checked statement
    goes to that statement's buffer; everything else (a ``# blocks`` loop printing in its
    thread) goes to the real stdout, so it never lands in another statement's output."""

    def __init__(self, real: io.TextIOBase) -> None:
        self.real = real
        self.buffers: dict[int, io.StringIO] = {}

    def write(self, s: str) -> int:
        buf = self.buffers.get(threading.get_ident())
        return (buf if buf is not None else self.real).write(s)

    def flush(self) -> None:
        self.real.flush()

    @contextlib.contextmanager
    def capture(self) -> Iterator[io.StringIO]:
        buf = self.buffers[threading.get_ident()] = io.StringIO()
        try:
            yield buf
        finally:
            del self.buffers[threading.get_ident()]


STDOUT = _Stdout(sys.stdout)  # type: ignore[arg-type]


def blocks(markdown: str) -> list[tuple[int, str]]:
    """The ```python blocks of ``markdown`` with the line each starts on."""
    return [
        (markdown[: m.start()].count("\n") + 2, m.group(1))
        for m in re.finditer(r"^```python\n(.*?)^```", markdown, re.S | re.M)
    ]


def matches(expected: str, got: str) -> bool:
    parts = [re.escape(" ".join(p.split())) for p in expected.split("...")]
    return re.fullmatch(r"\s*" + ".*".join(parts) + r"\s*", " ".join(got.split()), re.S) is not None


def claim(source_line: str) -> tuple[str, str] | None:
    """The claim at the end of a line, if any (a ``#`` inside a string is not one)."""
    try:
        import tokenize

        toks = list(tokenize.generate_tokens(io.StringIO(source_line + "\n").readline))
    except (SyntaxError, tokenize.TokenError):
        return None
    comments = [t.string for t in toks if t.type == tokenize.COMMENT]
    if not comments:
        return None
    m = _CLAIM.match(comments[-1])
    return (m.group(1), m.group(2)) if m else None


def run_block(start: int, code: str, env: dict[str, object]) -> None:
    tree = ast.parse(code)
    lines = code.splitlines()
    for stmt in tree.body:
        end = stmt.end_lineno or stmt.lineno
        where = f"README line {start + end - 1}"
        c = claim(lines[end - 1])
        first = claim(lines[stmt.lineno - 1])
        if c is None and first is not None and first[0] == "blocks":
            c = first  # a loop over a subscription says so on its first line
        kind, expected = c if c else ("", "")
        if kind == "blocks":
            failure: list[BaseException] = []

            def target(
                s: ast.stmt = stmt, at: str = where, failed: list[BaseException] = failure
            ) -> None:
                try:
                    exec(compile(ast.Module([s], []), at, "exec"), env)
                except BaseException as e:  # noqa: BLE001 - reported below
                    failed.append(e)

            t = threading.Thread(target=target, daemon=True)
            t.start()
            t.join(BLOCKS_FOR)
            if failure:
                raise AssertionError(f"{where}: raised {failure[0]!r}") from failure[0]
            continue
        with STDOUT.capture() as out:
            if kind == "->" and isinstance(stmt, ast.Expr):
                value = eval(compile(ast.Expression(stmt.value), where, "eval"), env)
            else:
                if kind == "->":
                    raise AssertionError(f"{where}: '# ->' needs an expression statement")
                exec(compile(ast.Module([stmt], []), where, "exec"), env)
        sys.stdout.write(out.getvalue())
        if kind == "->" and not matches(expected, repr(value)):
            raise AssertionError(f"{where}: README shows {expected!r}, got {value!r}")
        if kind == "prints" and not matches(expected, out.getvalue()):
            raise AssertionError(
                f"{where}: README shows it prints {expected!r}, it printed {out.getvalue()!r}"
            )


def main(path: str) -> int:
    sys.stdout = STDOUT
    env: dict[str, object] = {"__name__": "__main__"}
    for n, (start, code) in enumerate(blocks(Path(path).read_text()), 1):
        try:
            run_block(start, code, env)
        except BaseException:  # noqa: BLE001 - the report is the point
            print(f"\nblock {n} (README line {start}) failed:", file=sys.stderr)
            traceback.print_exc()
            return 1
        print(f"-- block {n} ok", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

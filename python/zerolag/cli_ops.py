"""What the operations commands of ``zerolag`` share (``info``, ``jobs``, ``bus``,
``events``; docs/cli.md): the store options (``--url`` or ``$ZEROLAG_URL``), ``-v``/``-q``,
``--json``, a counting progress line on a terminal, and errors as one line with an exit
code instead of a traceback.

Exit codes: 0 done, 1 the operation failed (no such job, the store unreachable, a job that
had already finished), 2 bad input (argparse's own usage errors too), 130 interrupted.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .exceptions import ValidationError, ZerolagError

Command = Callable[[argparse.Namespace], int]

# ------------------------------------------------------------------------------ options


def store_options(p: argparse.ArgumentParser) -> None:
    """``--url``, ``--root``, ``--namespace``, ``--json``, ``-v``, ``-q`` on a leaf command
    (``-v``/``-q`` may also come before the command: ``zerolag -v info``)."""
    p.add_argument(
        "--url",
        default=None,
        help="store URL (default: $ZEROLAG_URL, else the embedded store under --root)",
    )
    p.add_argument("--root", default=".", help="root directory of the embedded store (default: .)")
    p.add_argument(
        "--namespace",
        default=None,
        help="namespace (default: $ZEROLAG_NAMESPACE, else default)",
    )
    p.add_argument("--json", action="store_true", help="print JSON (one object per line for lists)")
    verbosity(p, argparse.SUPPRESS)


def verbosity(p: argparse.ArgumentParser, default: Any = 0) -> None:
    """``-v`` (INFO, ``-vv`` DEBUG) and ``-q`` (errors only) for the logger ``zerolag``."""
    p.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=default,
        help="log more (logger zerolag: -v INFO, -vv DEBUG)",
    )
    p.add_argument("-q", "--quiet", action="count", default=default, help="log errors only")


def setup(a: argparse.Namespace) -> None:
    """After parsing, for every command: ``$ZEROLAG_URL`` / ``$ZEROLAG_NAMESPACE`` where
    ``--url`` / ``--namespace`` were not given, and the level of the logger ``zerolag``."""
    if getattr(a, "url", "absent") is None:
        a.url = os.environ.get("ZEROLAG_URL") or None
    if getattr(a, "namespace", "absent") is None:
        a.namespace = os.environ.get("ZEROLAG_NAMESPACE") or None
    level = logging.WARNING
    v, q = getattr(a, "verbose", 0), getattr(a, "quiet", 0)
    if q:
        level = logging.ERROR
    elif v == 1:
        level = logging.INFO
    elif v >= 2:
        level = logging.DEBUG
    log = logging.getLogger("zerolag")
    log.setLevel(level)
    if not log.handlers and not logging.getLogger().handlers:
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(h)


@contextmanager
def hub_of(a: argparse.Namespace) -> Iterator[Any]:
    """The hub the options name, closed after."""
    from . import open as open_hub

    url = None if a.url in (None, "", "-") else a.url
    with open_hub(url, root=a.root, namespace=a.namespace or "default") as hub:
        yield hub


# ------------------------------------------------------------------------------ output


class Failed(Exception):
    """A command that could not do what it was asked: its message, exit code 1."""


class BadInput(Exception):
    """Arguments that do not go together: its message, exit code 2."""


def emit(a: argparse.Namespace, obj: dict[str, Any], text: str | None = None) -> None:
    """One record: a JSON line with ``--json``, else ``text`` (if any)."""
    if a.json:
        print(json.dumps(obj, default=str), flush=True)
    elif text is not None:
        print(text, flush=True)


def ago(t: float | None, now: float | None = None) -> str:
    """``12s ago``, ``3m ago``, ``in 5m``, or ``-``."""
    if t is None:
        return "-"
    d = (now if now is not None else time.time()) - t
    future = d < 0
    d = abs(d)
    if d < 60:
        s = f"{d:.0f}s" if d >= 1 else f"{d:.1f}s"
    elif d < 3600:
        s = f"{d / 60:.0f}m"
    elif d < 86400:
        s = f"{d / 3600:.1f}h"
    else:
        s = f"{d / 86400:.1f}d"
    return f"in {s}" if future else f"{s} ago"


def short(v: Any, width: int = 60) -> str:
    """A one-line, cut rendering of a value (text as is, the rest as JSON)."""
    s = v if isinstance(v, str) else json.dumps(v, default=str)
    s = " ".join(s.split())
    return s if len(s) <= width else s[: width - 1] + "…"


def duration(text: str) -> float:
    """Seconds from ``90``, ``45s``, ``30m``, ``12h`` or ``7d`` (argparse type)."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    t = text.strip().lower()
    try:
        if t and t[-1] in units:
            v = float(t[:-1]) * units[t[-1]]
        else:
            v = float(t)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a duration: {text!r} (seconds, or a number with s, m, h or d)"
        ) from None
    if not v >= 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"a duration must be >= 0, got {text!r}")
    return v


def positive(text: str) -> int:
    """An integer >= 0 (argparse type)."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {v}")
    return v


class Progress:
    """A counting line on stderr while long work runs, when stderr is a terminal (nothing
    when it is piped or redirected): ``requeued 3,000``. At most ten updates a second."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.count = 0
        self.on = sys.stderr.isatty()
        self._shown = 0.0

    def add(self, n: int) -> None:
        self.count += n
        if self.on and time.monotonic() - self._shown >= 0.1:
            self._shown = time.monotonic()
            sys.stderr.write(f"\r{self.label} {self.count:,}\x1b[K")
            sys.stderr.flush()

    def done(self) -> None:
        if self.on and self._shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


# ------------------------------------------------------------------------------ errors


def guarded(fn: Command) -> Command:
    """Runs a command, turning the errors a user can meet into one line on stderr and an
    exit code (see the module) instead of a traceback."""

    @functools.wraps(fn)
    def run(a: argparse.Namespace) -> int:
        try:
            return fn(a)
        except Failed as e:
            print(f"zerolag: {e}", file=sys.stderr)
            return 1
        except (ValidationError, BadInput) as e:
            print(f"zerolag: {e}", file=sys.stderr)
            return 2
        except ZerolagError as e:
            print(f"zerolag: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        except BrokenPipeError:
            # The reader went away (`zerolag jobs list | head`): not an error.
            try:
                sys.stdout = open(os.devnull, "w")  # noqa: SIM115 -- no flush error at exit
            except OSError:
                pass
            return 0
        except (OSError, ValueError, TypeError) as e:
            print(f"zerolag: {e}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 130

    return run

"""The exceptions zerolag raises.

Every error derives from :class:`ZerolagError`. The Rust core maps each of its failures to one
of these classes in one place (``src/py/errors.rs``); several also derive from the builtin
exception a Python user would already catch (``ValueError``, ``LookupError``,
``ConnectionError``, ``TimeoutError``).
"""

from __future__ import annotations

import builtins
import re

__all__ = [
    "ZerolagError",
    "ValidationError",
    "ProtocolError",
    "NotFoundError",
    "ConflictError",
    "ConnectionError",
    "AuthenticationError",
    "TimeoutError",
    "ClosedError",
    "BackendError",
    "RescanRequired",
    "ArchiveUnavailable",
]

# the note PyO3 adds to an error raised while converting an argument of a native method
_ARGUMENT_NOTE = re.compile(r"while processing '(?:r#)?(\w+)'")


class ZerolagError(Exception):
    """Root of every zerolag error."""


class ValidationError(ZerolagError, ValueError):
    """Bad input: an id with glob characters, a value out of range, an unknown option, text
    that is not valid Unicode (a lone surrogate), a value JSON cannot hold (see docs/errors.md).

    ``argument`` names the argument that was refused when it is known (``"title"``,
    ``"metadata"``), else None.
    """

    argument: str | None

    def __init__(self, message: str = "", argument: str | None = None) -> None:
        super().__init__(message)
        self.argument = argument

    def add_note(self, note: str) -> None:
        """Adds a note; the core's argument conversion adds ``while processing '<name>'``,
        which sets :attr:`argument` and prefixes the message with the name."""
        base = getattr(super(), "add_note", None)
        if base is not None:  # Python 3.11+
            base(note)
        m = _ARGUMENT_NOTE.fullmatch(note)
        if m is not None and self.argument is None:
            self.argument = m.group(1)
            if self.args and isinstance(self.args[0], str):
                self.args = (f"{self.argument}: {self.args[0]}", *self.args[1:])


class ProtocolError(ValidationError):
    """A coded command or event that does not follow the grammar.

    ``position`` is the offset (in characters) where the problem was found and ``expected``
    says what the parser wanted there.
    """

    def __init__(self, message: str, position: int = 0, expected: str = "") -> None:
        super().__init__(message)
        self.position = position
        self.expected = expected


class NotFoundError(ZerolagError, LookupError):
    """The thing asked for does not exist."""


class ConflictError(ZerolagError):
    """The write clashes with what is stored (an id that exists, a stale version)."""


class ConnectionError(ZerolagError, builtins.ConnectionError):
    """The server could not be reached, refused the connection, or the connection broke."""


class ArchiveUnavailable(ConnectionError):
    """The PostgreSQL archive cannot be reached (or none is attached): history that only the
    archive holds is unavailable, while everything else (sharing, acknowledging, events)
    goes on. See docs/archive.md."""


class AuthenticationError(ZerolagError, builtins.PermissionError):
    """The server refused the credentials (wrong password, unknown user, missing ACL rights)."""


class TimeoutError(ZerolagError, builtins.TimeoutError):
    """The server did not answer in time, or a lock was held too long."""


class ClosedError(ZerolagError):
    """The hub was closed."""


class BackendError(ZerolagError):
    """Anything else the store reported (a script error, unreadable stored data)."""


class RescanRequired(ZerolagError):
    """A change-feed reader fell behind what the feed keeps (entries were trimmed, or the
    namespace was cleared since its cursor): re-read the state you keep from the store, then
    go on reading the feed from :attr:`cursor` (its end when the gap was found, so nothing
    written during the re-read is missed)."""

    def __init__(self, message: str, cursor: str = "") -> None:
        super().__init__(message)
        self.cursor = cursor

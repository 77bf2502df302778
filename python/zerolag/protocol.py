"""The coded protocol: the one-line language a fast frontend model and slower backend workers
speak (``docs/protocol.md`` is the specification).

Commands travel frontend → backend (``tc ts wf cl ms``), events backend → frontend
(``tr tc su cl er``). ``tc`` and ``cl`` mean different things in the two directions, so every
decoder is told the direction::

    >>> from zerolag import protocol
    >>> cmd = protocol.decode_command("tc:User Authentication System|business_growth|high")
    >>> cmd.title, cmd.complexity
    ('User Authentication System', 'high')
    >>> cmd.encode()
    'tc:User Authentication System|business_growth|high'

Parsing, encoding and extraction run in Rust. Bad lines raise
:class:`zerolag.exceptions.ProtocolError` with ``position`` (a character offset) and
``expected``.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from zerolag._core import (
    ERROR_CODES,
    MAX_DEPTH,
    MAX_LINE_BYTES,
    PROTOCOL_VERSION,
    ContextLoad,
    ContextLoaded,
    ErrorEvent,
    ExtractError,
    Extraction,
    MemoryStore,
    StatusUpdate,
    TaskComplete,
    TaskCreate,
    TaskReady,
    TaskSplit,
    WorkflowStart,
    decode,
    decode_command,
    decode_event,
    decode_many,
    encode,
    extract,
)
from zerolag.exceptions import ProtocolError

__all__ = [
    "Command",
    "ContextLoad",
    "ContextLoaded",
    "Direction",
    "ERROR_CODES",
    "ErrorEvent",
    "Event",
    "ExtractError",
    "Extraction",
    "MAX_DEPTH",
    "MAX_LINE_BYTES",
    "MemoryStore",
    "Message",
    "PROTOCOL_VERSION",
    "ProtocolError",
    "StatusUpdate",
    "TaskComplete",
    "TaskCreate",
    "TaskReady",
    "TaskSplit",
    "WorkflowStart",
    "decode",
    "decode_command",
    "decode_event",
    "decode_many",
    "encode",
    "extract",
]

#: A frontend → backend command.
Command: TypeAlias = TaskCreate | TaskSplit | WorkflowStart | ContextLoad | MemoryStore
#: A backend → frontend event.
Event: TypeAlias = TaskReady | TaskComplete | StatusUpdate | ContextLoaded | ErrorEvent
#: Either.
Message: TypeAlias = Command | Event
#: Which way a line travels.
Direction: TypeAlias = Literal["command", "event"]

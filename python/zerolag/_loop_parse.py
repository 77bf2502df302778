"""Validation of a frontend model's reply for :class:`zerolag.DualLoop`: coded commands
(:func:`zerolag.protocol.extract`), JSON handoffs (`{"userResponse": ..., "handoff": ...}`,
or a fenced ```json block), the allow-list of command kinds and the size limits. Nothing
from a reply that fails any check may execute."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from . import protocol
from ._core import ErrorEvent, LoopState

__all__ = [
    "COMMAND_KINDS",
    "DEFAULT_SYSTEM",
    "HANDOFF_ACTIONS",
    "SYNTAX",
    "Rejected",
    "parse_reply",
    "plan_tasks",
    "visible_text",
]

COMMAND_KINDS = ("tc", "ts", "wf", "cl", "ms")
HANDOFF_ACTIONS = ("create_task", "update_task", "upsert_task")

# Bracketed command attempts with missing fields (the same pattern as the core's check, which
# reports them); here only to hide them from the text of a rejected reply.
_HALF_COMMAND = re.compile(r"\[(?:[A-Za-z0-9 _\-]{1,40}:[ \t]*)?(tc|ts|wf|cl|ms):[^\]\n]*\]?")
_JSON_FENCE = re.compile(r"```(?:json|JSON)[ \t]*\r?\n(.*?)\r?\n[ \t]*```[ \t]*(?:\r?\n)?", re.S)

DEFAULT_SYSTEM = (
    "You are the fast frontend of a two-model assistant. Answer the user at once, briefly. "
    "Work that takes time goes to the backend as coded commands, one per line in square "
    "brackets, e.g. [tc:User authentication|auth_implementation|high]. You may send: "
    "{commands}. Never wait for the backend: its progress arrives as events and is listed "
    "under 'Backend status'; use it to answer questions about running work. To index a task "
    'with metadata, add a ```json block {"handoff": {"action": "create_task", "title": ..., '
    '"intent": ..., "keywords": [...], "confidence": 0.8}}.'
)
SYNTAX = {
    "tc": "tc:title|intent|complexity (create a task)",
    "ts": "ts:task_id|confidence|reason (split a task)",
    "wf": "wf:workflow_id|{params} (start a workflow)",
    "cl": "cl:context_id|depth (load a context)",
    "ms": "ms:key|value|type (store a memory)",
}


_SURROGATE = re.compile("[\ud800-\udfff]")


class Rejected(Exception):
    """A model reply that must not execute; ``errors`` are the ``er`` events to send."""

    def __init__(self, errors: list[ErrorEvent]) -> None:
        super().__init__(errors[0].message if errors else "rejected")
        self.errors = errors


def parse_reply(
    raw: str,
    state: LoopState,
    *,
    max_reply_chars: int,
    max_commands: int,
    max_command_bytes: int,
) -> tuple[str, list[Any], list[dict[str, Any]]]:
    """The user-visible text, the commands and the handoffs of a model reply, all validated
    against the limits and the kinds registered in ``state`` (the allow-list; the command
    checks run in the core, ``LoopState.check``); raises :class:`Rejected` with the ``er``
    events if anything is wrong (then nothing may execute)."""
    if len(raw) > max_reply_chars:
        raise Rejected(
            [
                ErrorEvent(
                    "E_INVALID",
                    f"model reply of {len(raw)} characters is over the limit of "
                    f"{max_reply_chars}; nothing was executed",
                    "answer shorter and send the commands again",
                )
            ]
        )
    _refuse_lone_surrogate(raw)
    handoffs: list[dict[str, Any]] = []
    errors: list[ErrorEvent] = []
    text = raw
    stripped = raw.lstrip()
    if stripped.startswith("{"):  # {"userResponse": ..., "handoff": ...}
        obj = _json(stripped.rstrip(), errors)
        if isinstance(obj, dict) and ("handoff" in obj or "userResponse" in obj):
            text = str(obj.get("userResponse") or obj.get("response") or obj.get("text") or "")
            _collect(obj.get("handoff"), handoffs, errors)
    if "```" in text:
        for m in _JSON_FENCE.finditer(text):
            obj = _json(m.group(1), errors)
            if obj is not None:
                _collect(
                    obj.get("handoff", obj) if isinstance(obj, dict) else obj, handoffs, errors
                )
        text = _JSON_FENCE.sub("", text)
    _refuse_lone_surrogate(text)
    text, commands, found = state.check(text, max_commands, max_command_bytes)
    errors.extend(found)
    for h in handoffs:
        action = h.get("action", "upsert_task")
        if action not in HANDOFF_ACTIONS:
            errors.append(
                ErrorEvent(
                    "E_UNKNOWN_COMMAND",
                    f"handoff action {str(action)[:60]!r} is not allowed",
                    "use one of: " + ", ".join(HANDOFF_ACTIONS),
                )
            )
    if errors:
        raise Rejected(errors)
    return text, commands, handoffs


def lone_surrogate(text: str) -> int:
    """The index of the first lone surrogate in ``text`` (a code point U+D800..U+DFFF, which
    ``json.loads`` makes from an escaped ``\\ud800`` and UTF-8 cannot encode), else -1."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        return int(e.start)
    return -1


def _refuse_lone_surrogate(text: str) -> None:
    at = lone_surrogate(text)
    if at >= 0:
        raise Rejected(
            [
                ErrorEvent(
                    "E_INVALID",
                    f"model reply is not valid Unicode text (a lone surrogate at index {at}); "
                    "nothing was executed",
                    "answer again without escaped surrogates such as \\ud800",
                )
            ]
        )


def visible_text(raw: str) -> str:
    """The text of a rejected reply shown to the user: coded lines and handoffs removed, lone
    surrogates shown as U+FFFD (the reply is shown, never raised on)."""
    if lone_surrogate(raw) >= 0:
        raw = _SURROGATE.sub("\ufffd", raw)
    text = _JSON_FENCE.sub("", raw) if "```" in raw else raw
    try:
        text = protocol.extract(text).text
    except Exception:  # noqa: BLE001, S110 - an unparseable reply is still shown
        pass
    if "[" in text:
        text = _HALF_COMMAND.sub("", text)
    return "\n".join(line for line in text.splitlines() if line.strip()).strip()


def _json(text: str, errors: list[ErrorEvent]) -> Any:
    if len(text) > 64 * 1024:
        errors.append(ErrorEvent("E_INVALID", "handoff JSON over 64 KiB", "send a smaller handoff"))
        return None
    try:
        return json.loads(text)
    except ValueError as e:
        errors.append(
            ErrorEvent(
                "E_PARSE", f"handoff is not valid JSON: {e}", protocol.ERROR_CODES["E_PARSE"]
            )
        )
        return None


def _collect(obj: Any, out: list[dict[str, Any]], errors: list[ErrorEvent]) -> None:
    if obj is None:
        return
    items = obj if isinstance(obj, list) else [obj]
    if len(items) > 16:
        errors.append(ErrorEvent("E_INVALID", f"{len(items)} handoffs in one reply", "send fewer"))
        return
    for h in items:
        if isinstance(h, dict):
            out.append(dict(h))
        else:
            errors.append(
                ErrorEvent(
                    "E_INVALID",
                    "a handoff must be a JSON object",
                    protocol.ERROR_CODES["E_INVALID"],
                )
            )


def handoff_task_id(h: dict[str, Any]) -> Any:
    return h.get("taskId") or h.get("task_id") or h.get("id")


def plan_tasks(
    session: str,
    commands: list[Any],
    handoffs: list[dict[str, Any]],
    index_on_send: bool,
) -> tuple[list[tuple[str, bool]] | None, list[dict[str, Any]]]:
    """Task ids for the ``tc`` commands when ``send`` indexes some itself: a create handoff
    without an id is attached to the next ``tc`` (indexed under its id, with the command's
    title and intent as defaults), and with ``index_on_send`` every other ``tc`` gets a task
    to create now. Returns ``(tasks, new_tasks)``: ``(task id, indexed)`` per ``tc`` for
    ``LoopState.dispatch`` (None when the workers index them all) and the tasks to create."""
    creates = [h for h in handoffs if h.get("action") == "create_task" and not handoff_task_id(h)]
    if not creates and not index_on_send:
        return None, []
    tasks: list[tuple[str, bool]] = []
    new_tasks: list[dict[str, Any]] = []
    for c in commands:
        if c.kind != "tc":
            continue
        entity = "t_" + uuid.uuid4().hex[:12]
        if creates:
            h = creates.pop(0)
            h.setdefault("title", c.title)
            h.setdefault("intent", c.intent)
            h["taskId"] = entity
        elif index_on_send:
            new_tasks.append(
                {
                    "id": entity,
                    "title": c.title,
                    "intent": c.intent,
                    "complexity": c.complexity,
                    "metadata": {"session": session},
                }
            )
        else:  # no handoff left for it: the worker indexes it
            tasks.append((entity, False))
            continue
        tasks.append((entity, True))
    return tasks, new_tasks

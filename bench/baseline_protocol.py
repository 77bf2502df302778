"""What a competent Python developer would write to decode the coded protocol without zerolag.

A regex for the prefix, a split on unescaped ``|``, a small relaxed-literal parser for
``{...}`` / ``[...]`` (unquoted keys, single or double quotes, true/false/null, numbers), and
dicts as the result. Used by ``bench_protocol.py`` as the side-by-side baseline.
"""

from __future__ import annotations

import re
from typing import Any

_LINE = re.compile(r"^\s*([a-z]{2}):(.*?)\s*$", re.S)
_SPLIT = re.compile(r"(?<!\\)\|")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "|": "|", "\\": "\\", " ": " ", "[": "[", "]": "]"}
_UNESCAPE = re.compile(r"\\(.)")

COMMANDS: dict[str, tuple[str, ...]] = {
    "tc": ("title", "intent", "complexity"),
    "ts": ("task_id", "confidence", "reason"),
    "wf": ("workflow_id", "params"),
    "cl": ("context_id", "depth"),
    "ms": ("key", "value", "type"),
}
_UNIT = {"confidence", "progress"}
_ANY = {"params", "value", "result", "next_steps"}
_LEVELS = {"low", "medium", "high", "critical"}


class ParseError(ValueError):
    pass


def _unescape(s: str) -> str:
    if "\\" not in s:
        return s
    return _UNESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), s)


def _scalar(word: str) -> Any:
    if word == "null" or word == "":
        return None
    if word == "true":
        return True
    if word == "false":
        return False
    if _NUMBER.match(word):
        return float(word) if any(c in word for c in ".eE") else int(word)
    return word


class _Literal:
    """Recursive-descent parser for relaxed object/array literals."""

    def __init__(self, s: str) -> None:
        self.s = s
        self.i = 0

    def ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in " \t":
            self.i += 1

    def value(self, depth: int = 0) -> Any:
        if depth > 32:
            raise ParseError("too deep")
        self.ws()
        c = self.s[self.i : self.i + 1]
        if c == "{":
            self.i += 1
            out: dict[str, Any] = {}
            while True:
                self.ws()
                if self.s[self.i : self.i + 1] == "}":
                    self.i += 1
                    return out
                key = self.string() if self.s[self.i : self.i + 1] in "'\"" else self.word()
                self.ws()
                if self.s[self.i : self.i + 1] != ":":
                    raise ParseError(f"expected ':' at {self.i}")
                self.i += 1
                out[key] = self.value(depth + 1)
                self.ws()
                c = self.s[self.i : self.i + 1]
                self.i += 1
                if c == "}":
                    return out
                if c != ",":
                    raise ParseError(f"expected ',' or '}}' at {self.i}")
        if c == "[":
            self.i += 1
            items: list[Any] = []
            while True:
                self.ws()
                if self.s[self.i : self.i + 1] == "]":
                    self.i += 1
                    return items
                items.append(self.value(depth + 1))
                self.ws()
                c = self.s[self.i : self.i + 1]
                self.i += 1
                if c == "]":
                    return items
                if c != ",":
                    raise ParseError(f"expected ',' or ']' at {self.i}")
        if c in ("'", '"'):
            return self.string()
        return _scalar(self.word())

    def word(self) -> str:
        m = re.compile(r"[^\s,:{}\[\]'\"|\\]+").match(self.s, self.i)
        if not m:
            raise ParseError(f"expected a value at {self.i}")
        self.i = m.end()
        return m.group()

    def string(self) -> str:
        q = self.s[self.i]
        self.i += 1
        out: list[str] = []
        while self.i < len(self.s):
            c = self.s[self.i]
            if c == q:
                self.i += 1
                return "".join(out)
            if c == "\\" and self.i + 1 < len(self.s):
                self.i += 1
                out.append(_ESCAPES.get(self.s[self.i], self.s[self.i]))
            else:
                out.append(c)
            self.i += 1
        raise ParseError("unclosed string")


def _any(raw: str) -> Any:
    raw = raw.strip()
    if raw[:1] in ("{", "[", "'", '"'):
        parser = _Literal(raw)
        v = parser.value()
        parser.ws()
        if parser.i != len(raw):
            raise ParseError("trailing characters")
        return v
    if "\\" in raw:
        return _unescape(raw)
    return _scalar(raw)


def decode_command(line: str) -> dict[str, Any]:
    """Decodes one command line into a dict with "kind" and the fields."""
    m = _LINE.match(line)
    if not m:
        raise ParseError("not a command")
    kind, rest = m.groups()
    names = COMMANDS.get(kind)
    if names is None:
        raise ParseError(f"unknown prefix {kind}")
    parts = _SPLIT.split(rest)
    if len(parts) != len(names):
        raise ParseError(f"{kind} takes {len(names)} fields")
    out: dict[str, Any] = {"kind": kind}
    for name, raw in zip(names, parts, strict=True):
        if name in _ANY:
            out[name] = _any(raw)
        elif name in _UNIT:
            x = float(raw)
            if not 0.0 <= x <= 1.0:
                raise ParseError(f"{name} out of range")
            out[name] = x
        elif name == "complexity":
            raw = raw.strip()
            if raw.lower() in _LEVELS:
                out[name] = raw.lower()
            else:
                x = float(raw)
                if not 0.0 <= x <= 1.0:
                    raise ParseError("complexity out of range")
                out[name] = x
        elif name == "depth":
            raw = raw.strip()
            out[name] = int(raw) if raw.lstrip("-").isdigit() else _unescape(raw)
        else:
            out[name] = _unescape(raw.strip())
    return out


def decode_many(lines: list[str]) -> list[dict[str, Any]]:
    return [decode_command(line) for line in lines]

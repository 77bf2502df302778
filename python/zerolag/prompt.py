"""The frontend prompt of :class:`zerolag.DualLoop`, built within a token budget.

Four sections, each capped at its share of the budget (defaults: total 2,000 tokens; system
200, recent commands 500, backend status 300, user message 1,000):

* the **system** prompt (instructions and the coded commands the loop accepts),
* the session's **recent commands** with their outcome, newest last,
* the **backend status**: what runs, waits or just finished for this session,
* the **user message**.

When a section is over its share, or the whole prompt over the total, it is trimmed in this
order: recent commands first (oldest dropped), then the backend status (finished items before
running ones, then the rest from the end), then the user message (its middle is elided, head
and tail kept), and the system prompt last (cut at the end). Tokens are estimated at one per
four characters (rounded up) unless a ``count_tokens`` callable is given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = ["Budget", "Prompt", "build_prompt", "estimate_tokens"]

ELISION = " […] "


def estimate_tokens(text: str) -> int:
    """About one token per four characters (what a byte-pair tokenizer gives on English)."""
    return (len(text) + 3) // 4


@dataclass(frozen=True)
class Budget:
    """Token budget of the frontend prompt and each section's share."""

    total: int = 2000
    system: int = 200
    commands: int = 500
    status: int = 300
    user: int = 1000

    def __post_init__(self) -> None:
        for name in ("total", "system", "commands", "status", "user"):
            if getattr(self, name) < 0:
                raise ValueError(f"Budget.{name} must be >= 0")


@dataclass
class Prompt:
    """A built prompt: the chat ``messages`` and the tokens each section took."""

    messages: list[dict[str, str]]
    tokens: dict[str, int] = field(default_factory=dict)
    trimmed: list[str] = field(default_factory=list)

    @property
    def total_tokens(self) -> int:
        """Estimated tokens of the whole prompt."""
        return sum(self.tokens.values())


def _cut_end(text: str, tokens: int, count: Callable[[str], int]) -> str:
    if count(text) <= tokens:
        return text
    if tokens <= 0:
        return ""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count(text[:mid] + "…") <= tokens:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo] + "…" if lo else ""


def _cut_middle(text: str, tokens: int, count: Callable[[str], int]) -> str:
    if count(text) <= tokens:
        return text
    if tokens <= count(ELISION):
        return _cut_end(text, tokens, count)
    lo, hi = 0, len(text) // 2
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count(text[:mid] + ELISION + text[len(text) - mid :]) <= tokens:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo] + ELISION + text[len(text) - lo :]


def _keep_last(lines: Sequence[str], tokens: int, count: Callable[[str], int]) -> list[str]:
    """The newest lines (the end of ``lines``) that fit, in order."""
    out: list[str] = []
    used = 0
    for line in reversed(lines):
        c = count(line) + 1
        if used + c > tokens:
            break
        out.append(line)
        used += c
    out.reverse()
    return out


def _lines_tokens(lines: Sequence[str], count: Callable[[str], int]) -> int:
    """Tokens of ``lines`` one per line, a newline counted as a token."""
    if count is estimate_tokens:  # the same figure without a call per line
        return sum([(len(x) + 3) >> 2 for x in lines]) + len(lines)
    return sum(count(x) + 1 for x in lines)


def build_prompt(
    system: str,
    commands: Sequence[str],
    status: Sequence[tuple[bool, str]],
    user: str,
    budget: Budget | None = None,
    count_tokens: Callable[[str], int] | None = None,
) -> Prompt:
    """Builds the messages: one system message (system prompt, ``# Recent commands``,
    ``# Backend status``) and the user message. ``commands``: lines, oldest first. ``status``:
    ``(finished, line)`` pairs in display order."""
    b = budget or Budget()
    count = count_tokens or estimate_tokens
    trimmed: list[str] = []

    # Each section's tokens are counted once, and again only after it is trimmed.
    sys_text = system
    n_sys = count(sys_text)
    if n_sys > b.system:
        sys_text = _cut_end(sys_text, b.system, count)
        n_sys = count(sys_text)
        trimmed.append("system")
    cmd_lines = list(commands)
    n_cmd = _lines_tokens(cmd_lines, count)
    if n_cmd > b.commands:
        cmd_lines = _keep_last(cmd_lines, b.commands, count)
        n_cmd = _lines_tokens(cmd_lines, count)
        trimmed.append("commands")
    st = list(status)
    st_lines = [x for _, x in st]
    n_st = _lines_tokens(st_lines, count)
    if n_st > b.status:
        st = _fit_status(st, b.status, count)
        st_lines = [x for _, x in st]
        n_st = _lines_tokens(st_lines, count)
        trimmed.append("status")
    user_text = user
    n_user = count(user_text)
    if n_user > b.user:
        user_text = _cut_middle(user_text, b.user, count)
        n_user = count(user_text)
        trimmed.append("user")

    # Over the total (a total below the sum of the shares): trim in priority order.
    over = n_sys + n_cmd + n_st + n_user - b.total
    if over > 0 and cmd_lines:
        cmd_lines = _keep_last(cmd_lines, max(0, n_cmd - over), count)
        n_cmd = _lines_tokens(cmd_lines, count)
        trimmed.append("commands")
        over = n_sys + n_cmd + n_st + n_user - b.total
    if over > 0 and st_lines:
        st = _fit_status(st, max(0, n_st - over), count)
        st_lines = [x for _, x in st]
        n_st = _lines_tokens(st_lines, count)
        trimmed.append("status")
        over = n_sys + n_cmd + n_st + n_user - b.total
    if over > 0 and user_text:
        user_text = _cut_middle(user_text, max(0, n_user - over), count)
        n_user = count(user_text)
        trimmed.append("user")
        over = n_sys + n_cmd + n_st + n_user - b.total
    if over > 0 and sys_text:
        sys_text = _cut_end(sys_text, max(0, n_sys - over), count)
        n_sys = count(sys_text)
        trimmed.append("system")

    parts = [sys_text]
    if cmd_lines:
        parts.append("# Recent commands\n" + "\n".join(cmd_lines))
    parts.append("# Backend status\n" + ("\n".join(st_lines) if st_lines else "idle"))
    content = "\n\n".join(p for p in parts if p)
    tokens = {"system": n_sys, "commands": n_cmd, "status": n_st, "user": n_user}
    return Prompt(
        messages=[
            {"role": "system", "content": content},
            {"role": "user", "content": user_text},
        ],
        tokens=tokens,
        trimmed=list(dict.fromkeys(trimmed)),
    )


def _fit_status(
    items: Sequence[tuple[bool, str]], tokens: int, count: Callable[[str], int]
) -> list[tuple[bool, str]]:
    """Drops finished items first (oldest first), then cuts from the end; order kept."""
    if count is estimate_tokens:
        costs = [((len(line) + 3) >> 2) + 1 for _, line in items]
    else:
        costs = [count(line) + 1 for _, line in items]
    used = sum(costs)
    keep = [True] * len(items)
    for i, (finished, _) in enumerate(items):
        if used <= tokens:
            break
        if finished:
            keep[i] = False
            used -= costs[i]
    for i in range(len(items) - 1, -1, -1):
        if used <= tokens:
            break
        if keep[i]:
            keep[i] = False
            used -= costs[i]
    return [item for k, item in zip(keep, items, strict=True) if k]

"""The frontend prompt of :class:`zerolag.DualLoop`, built within a token budget.

Five sections, each capped at its share of the budget (defaults: total 2,000 tokens; system
200, memories 300, recent commands 500, backend status 300, user message 1,000):

* the **system** prompt (instructions and the coded commands the loop accepts),
* the **relevant memories** for the user message, best first (only when the loop is given
  memory with ``prompt_k`` above 0: :class:`zerolag.LoopMemory`),
* the session's **recent commands** with their outcome, newest last,
* the **backend status**: what runs, waits or just finished for this session,
* the **user message**.

When a section is over its share, or the whole prompt over the total, it is trimmed in this
order: memories first (the lowest ranked dropped), then recent commands (oldest dropped),
then the backend status (finished items before
running ones, then the rest from the end), then the user message (its middle is elided, head
and tail kept), and the system prompt last (cut at the end). Tokens are estimated at one per
four characters (rounded up) unless a ``count_tokens`` callable is given. The builder is in
the Rust core (``zerolag._core.build_prompt``); :class:`zerolag.DualLoop` builds each
session's prompt there from its state without a round trip through Python.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from . import _core

__all__ = ["Budget", "Prompt", "build_prompt", "estimate_tokens"]


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
    memories: int = 300

    def __post_init__(self) -> None:
        for name in ("total", "system", "commands", "status", "user", "memories"):
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


def build_prompt(
    system: str,
    commands: Sequence[str],
    status: Sequence[tuple[bool, str]],
    user: str,
    budget: Budget | None = None,
    count_tokens: Callable[[str], int] | None = None,
    memories: Sequence[str] = (),
) -> Prompt:
    """Builds the messages: one system message (system prompt, ``# Relevant memories``,
    ``# Recent commands``, ``# Backend status``) and the user message. ``commands``: lines,
    oldest first. ``status``: ``(finished, line)`` pairs in display order. ``memories``:
    lines, best first."""
    b = budget or Budget()
    messages, tokens, trimmed = _core.build_prompt(
        system,
        list(commands),
        [(bool(f), line) for f, line in status],
        user,
        budget_tuple(b),
        None if count_tokens is estimate_tokens else count_tokens,
        list(memories),
    )
    return Prompt(messages=messages, tokens=tokens, trimmed=trimmed)


def budget_tuple(b: Budget) -> tuple[int, int, int, int, int, int]:
    """``(total, system, commands, status, user, memories)``, as the core takes a budget."""
    return (b.total, b.system, b.commands, b.status, b.user, b.memories)

"""Model adapters for :class:`zerolag.DualLoop`: messages in, text out.

A *model* is anything callable as ``model(messages) -> str`` where ``messages`` is a list of
chat messages (``{"role": "system" | "user" | "assistant", "content": str}``). It may be a
plain function, an ``async def`` (or return an awaitable), or an object with an async
``acomplete(messages)`` method. Three are included:

* :class:`OpenAIChat`: any OpenAI-compatible ``/chat/completions`` endpoint (OpenAI, vLLM,
  llama.cpp server, Ollama, LM Studio, ...), standard library only (``urllib``): no extra
  package. Base URL, model and key come from the arguments or the environment
  (``OPENAI_BASE_URL``, ``ZEROLAG_MODEL`` or ``OPENAI_MODEL``, ``OPENAI_API_KEY``).
* :class:`RuleBasedFrontend`: an offline stand-in for a small frontend model that maps common
  requests to coded commands with a few regular expressions. It says so in every reply; the
  demo and the tests use it so that nothing needs a model or the network.
* :func:`echo`: replies with the last user message (a zero-latency model for benchmarks).
"""

from __future__ import annotations

import asyncio
import builtins
import inspect
import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from ._core import ContextLoad, MemoryStore, TaskCreate, TaskSplit, WorkflowStart
from .exceptions import BackendError, ConnectionError, TimeoutError, ValidationError

__all__ = [
    "ChatMessage",
    "Model",
    "ModelError",
    "ModelReplyError",
    "OpenAIChat",
    "RuleBasedFrontend",
    "acomplete",
    "complete",
    "echo",
]

#: One chat message: ``{"role": ..., "content": ...}``.
ChatMessage = Mapping[str, str]
#: A model: ``model(messages) -> str`` (or an awaitable of it).
Model = Callable[[list[dict[str, str]]], str | Awaitable[str]]


class ModelError(BackendError):
    """The model endpoint answered with an error (``status`` is the HTTP status, 0 if the
    answer was not HTTP-level) or with something that is not a chat completion."""

    def __init__(self, message: str, status: int = 0, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class ModelReplyError(ModelError, ValidationError):
    """The model returned something that is not text (bytes, None, a dict): a
    :class:`ValidationError` as well as a :class:`ModelError`; nothing was executed."""


def _check_text(out: object) -> str:
    if not isinstance(out, str):
        raise ModelReplyError(f"the model returned {type(out).__name__}, expected str")
    return out


def complete(model: Model, messages: list[dict[str, str]]) -> str:
    """Calls ``model`` synchronously. An async model is run to completion with
    ``asyncio.run`` when no event loop runs in this thread (else use :func:`acomplete`)."""
    out = model(messages)
    if inspect.isawaitable(out):
        try:
            asyncio.get_running_loop()
        except RuntimeError:

            async def _wait() -> Any:
                return await out

            return _check_text(asyncio.run(_wait()))
        if inspect.iscoroutine(out):
            out.close()
        raise TypeError("an async model inside a running event loop: use `await loop.asend()`")
    return _check_text(out)


async def acomplete(model: Model, messages: list[dict[str, str]]) -> str:
    """Calls ``model`` without blocking the event loop: ``model.acomplete(messages)`` if it
    has one, an async callable directly, a sync callable on a thread, unless it declares
    ``blocking = False`` (cheap pure-Python models such as :class:`RuleBasedFrontend`), which
    are called inline."""
    acomp = getattr(model, "acomplete", None)
    if acomp is not None and inspect.iscoroutinefunction(acomp):
        return _check_text(await acomp(messages))
    if inspect.iscoroutinefunction(model) or inspect.iscoroutinefunction(
        getattr(model, "__call__", None)  # noqa: B004 - instances with async __call__
    ):
        return _check_text(await model(messages))  # type: ignore[misc]
    if getattr(model, "blocking", True):
        out: Any = await asyncio.to_thread(model, messages)
    else:
        out = model(messages)
    if inspect.isawaitable(out):
        out = await out
    return _check_text(out)


def echo(messages: list[dict[str, str]]) -> str:
    """A zero-latency model: answers with the last user message unchanged."""
    for m in reversed(messages):
        if m.get("role") == "user":
            return m.get("content", "")
    return ""


echo.blocking = False  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------
# OpenAI-compatible chat completions (stdlib only)
# ------------------------------------------------------------------------------------------


class Endpoint:
    """What the OpenAI-compatible clients share: a model name, a base URL, a key and a timeout.

    ``model``: required, or from the first of ``env`` (environment variables) that is set.
    ``base_url``: default ``$OPENAI_BASE_URL``, then ``https://api.openai.com/v1``.
    ``api_key``: default ``$OPENAI_API_KEY`` (sent as a Bearer token; none if unset, as local
    servers need none). ``timeout``: seconds for the whole request. ``headers``: extra HTTP
    headers. ``options``: extra body fields.
    """

    env: tuple[str, ...] = ()

    def __init__(
        self,
        model: str | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        headers: Mapping[str, str] | None = None,
        **options: Any,
    ) -> None:
        name = type(self).__name__
        self.model = model or next((os.environ[v] for v in self.env if os.environ.get(v)), None)
        if not self.model:
            raise ValidationError(
                f"{name} needs a model name: pass model= or set {' / '.join(self.env)}"
            )
        base = base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        if not base.startswith(("http://", "https://")):
            raise ValidationError(f"base_url must start with http:// or https://, got {base!r}")
        self.base_url = base.rstrip("/")
        self._key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        if timeout <= 0:
            raise ValidationError(f"timeout must be > 0, got {timeout}")
        self.timeout = float(timeout)
        self.headers = dict(headers or {})
        self.options = options

    def __repr__(self) -> str:
        key = ", api_key=***" if self._key else ""
        return f"{type(self).__name__}(model={self.model!r}, base_url={self.base_url!r}{key})"

    def _post(self, path: str, body: Mapping[str, Any], what: str) -> Any:
        return post_json(self.base_url + path, body, self._key, self.headers, self.timeout, what)


class OpenAIChat(Endpoint):
    """A client of an OpenAI-compatible ``POST {base_url}/chat/completions`` endpoint.

    ``model``: the model name (default ``$ZEROLAG_MODEL``, then ``$OPENAI_MODEL``).
    ``base_url``: default ``$OPENAI_BASE_URL``, then ``https://api.openai.com/v1``.
    ``api_key``: default ``$OPENAI_API_KEY`` (sent as a Bearer token; none if unset, as local
    servers need none). ``timeout``: seconds for the whole request. ``options``: extra body
    fields (``temperature``, ``max_tokens``, ...).

    Errors: :class:`ModelError` for an HTTP error status (``.status``, ``.body``) or a body
    that is not a chat completion, :class:`zerolag.TimeoutError` when the endpoint does not
    answer in time, :class:`zerolag.ConnectionError` when it cannot be reached. The key never
    appears in ``repr`` or in error messages.
    """

    blocking = True
    env = ("ZEROLAG_MODEL", "OPENAI_MODEL")

    def __call__(self, messages: list[dict[str, str]]) -> str:
        """Sends ``messages``; returns the first choice's text."""
        body = {"model": self.model, "messages": [dict(m) for m in messages], **self.options}
        data = self._post("/chat/completions", body, "a chat completion")
        try:
            content = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise ModelError(
                f"{self.base_url}/chat/completions did not answer with a chat completion",
                body=json.dumps(data)[:2000],
            ) from None
        return content if isinstance(content, str) else ""

    async def acomplete(self, messages: list[dict[str, str]]) -> str:
        """:meth:`__call__` on a thread, so the event loop keeps running."""
        return await asyncio.to_thread(self, messages)


def post_json(
    url: str,
    body: Mapping[str, Any],
    api_key: str | None,
    headers: Mapping[str, str],
    timeout: float,
    what: str = "JSON",
) -> Any:
    """POSTs ``body`` as JSON to an OpenAI-compatible endpoint and returns the decoded JSON
    answer, with the errors of :class:`OpenAIChat` (``ModelError`` for an HTTP error status
    or a body that is not JSON, ``TimeoutError``, ``ConnectionError``). The key is sent as a
    Bearer token and never appears in an error."""
    head = {"Content-Type": "application/json", "Accept": "application/json"}
    head.update(headers)
    if api_key:
        head["Authorization"] = f"Bearer {api_key}"
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=head, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            raw = resp.read()
    except urllib.error.HTTPError as e:
        text = e.read().decode("utf-8", "replace")[:2000]
        raise ModelError(
            f"{url} answered HTTP {e.code}: {_error_message(text) or e.reason}",
            status=e.code,
            body=text,
        ) from None
    except urllib.error.URLError as e:
        if isinstance(e.reason, builtins.TimeoutError):
            raise TimeoutError(f"{url} did not answer within {timeout:g} s") from None
        raise ConnectionError(f"cannot reach {url}: {e.reason}") from None
    except builtins.TimeoutError:
        raise TimeoutError(f"{url} did not answer within {timeout:g} s") from None
    except OSError as e:
        raise ConnectionError(f"cannot reach {url}: {e}") from None
    try:
        return json.loads(raw)
    except ValueError:
        raise ModelError(
            f"{url} did not answer with {what}", body=raw[:2000].decode("utf-8", "replace")
        ) from None


def _error_message(body: str) -> str:
    try:
        err = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return body.strip()[:200]
    if isinstance(err, dict):
        return str(err.get("message", ""))[:200]
    return str(err or "")[:200]


# ------------------------------------------------------------------------------------------
# Offline stand-in for a frontend model
# ------------------------------------------------------------------------------------------

_STAND_IN = "(offline rule-based stand-in for a model)"

_INTENTS = [
    (r"auth|login|sign.?in|password|jwt|oauth|session", "auth_implementation"),
    (r"secur|rate.?limit|audit|permission", "security"),
    (r"bill|invoice|payment|pricing|subscription", "billing"),
    (r"report|dashboard|chart|analytics|metric", "reporting"),
    (r"search|index|find", "search"),
    (r"test|bug|fix|crash|error", "bugfix"),
    (r"doc|readme|guide|tutorial", "docs"),
    (r"perf|fast|slow|latency|cache", "performance"),
    (r"user|profile|account|admin", "user_management"),
]
_CREATE = re.compile(
    r"^(?:please\s+|can you\s+|could you\s+)?(?:create|add|build|implement|make|write|fix|"
    r"set up|setup|design|refactor|migrate|draft)\s+(?:me\s+)?(?:an?\s+|the\s+)?(.+)$",
    re.I,
)
_PLAN = re.compile(
    r"^(?:please\s+)?(?:plan|start (?:the )?workflow(?: for)?|kick off)\s+(.+)$", re.I
)
_SPLIT = re.compile(r"\b(?:split|break (?:it |this |that )?(?:up|down))\b", re.I)
_REMEMBER = re.compile(
    r"(?:remember (?:that )?|note (?:that )?|i (?:like|prefer|want) )(.+)$", re.I
)
_LIVES = re.compile(
    r"\bi (?:live|moved|have moved|am moving|'m moving) (?:in|to) ([^,.;!?]+)", re.I
)
_ABOUT_ME = re.compile(
    r"what do you (?:know|remember) about me|where do i live|what do i (?:like|prefer)", re.I
)
_RECALL = re.compile(
    r"what did we (?:discuss|talk about|decide)|remind me|recap|summari[sz]e|load (?:the )?context",
    re.I,
)
_STATUS = re.compile(
    r"status|progress|how(?:'s| is| are) (?:it|things|that)|what(?:'s| is) running|done yet", re.I
)
_TASK_ID = re.compile(r"\b(t_[0-9a-f]{6,}|[a-z]+_[a-z]+_\d{3})\b")


def _slug(text: str, n: int = 24) -> str:
    s = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return s[:n].strip("_") or "item"


def _title(text: str) -> str:
    t = re.split(r"[,.;!?]| and remember| and note", text, maxsplit=1)[0].strip()
    t = re.sub(r"\s+", " ", t)[:80]
    return t[:1].upper() + t[1:] if t else "Untitled task"


def _section(messages: Sequence[ChatMessage], header: str) -> list[str]:
    """Lines under ``# <header>`` in the system message (what the loop put in the prompt)."""
    for m in messages:
        if m.get("role") != "system":
            continue
        lines = m.get("content", "").splitlines()
        out: list[str] = []
        inside = False
        for line in lines:
            if line.startswith("# "):
                inside = line[2:].strip().lower().startswith(header.lower())
                continue
            if inside and line.strip():
                out.append(line.strip())
        return out
    return []


class RuleBasedFrontend:
    """An offline frontend that maps common requests to coded commands with regular
    expressions. It is a stand-in for a small fast model (every reply says so), for demos,
    tests and benchmarks: no network, microseconds per reply.

    * "create / add / build / fix / implement X" -> ``tc:X|<intent>|<complexity>`` plus a JSON
      handoff with the intent and keywords it guessed (the JSON handoff shape)
    * "plan X" / "start workflow X" -> ``wf:project_planning|{name:'X'}``
    * "split / break down" (mentioning a task id, else the last task) -> ``ts:<id>|0.7|…``
    * "remember / I like / I prefer X" -> ``ms:user_preference|'X'|semantic``
    * "I live in / I moved to X" -> ``ms:user_location|I live in X|semantic``
    * "what do you know about me / where do I live" -> answered from the relevant memories
      the loop put in the prompt (:class:`zerolag.LoopMemory` with ``prompt_k``; no command)
    * "what did we discuss / recap / summarize" -> ``cl:conversation|full``
    * "status / progress / what is running" -> answered from the backend status the loop put
      in the prompt (no command)
    * anything else: a short answer without commands.

    ``handoffs=False`` leaves out the JSON handoffs.
    """

    blocking = False

    def __init__(self, *, handoffs: bool = True) -> None:
        self.handoffs = handoffs

    def __repr__(self) -> str:
        return f"RuleBasedFrontend(handoffs={self.handoffs})"

    def __call__(self, messages: list[dict[str, str]]) -> str:
        user = ""
        for msg in reversed(messages):
            if msg.get("role") == "user":
                user = msg.get("content", "")
                break
        text = user.strip()
        parts: list[str] = []
        lines: list[str] = []
        handoff: dict[str, Any] | None = None

        lives = _LIVES.search(text)
        remember = None if lives else _REMEMBER.search(text)
        if _ABOUT_ME.search(text):
            known = _section(messages, "relevant memories")
            if known:
                parts.append("From what I remember: " + "; ".join(known[:5]) + ".")
            else:
                parts.append("I don't have anything about you in memory yet.")
        elif lives:
            place = lives.group(1).strip()[:80]
            parts.append(f"Noted: you live in {place}.")
            lines.append(MemoryStore("user_location", f"I live in {place}", "semantic").encode())
        elif _STATUS.search(text) and not _CREATE.match(text):
            status = _section(messages, "backend status")
            if status:
                parts.append("Here is where things stand: " + "; ".join(status[:6]) + ".")
            else:
                parts.append("Nothing is running in the backend right now.")
        elif _RECALL.search(text):
            parts.append("Let me pull up our conversation; the summary follows shortly.")
            lines.append(ContextLoad("conversation", "full").encode())
        elif m := _PLAN.match(text):
            name = _title(m.group(1))
            parts.append(
                f"That needs several steps, so I'm starting the planning workflow for {name}."
            )
            lines.append(WorkflowStart("project_planning", {"name": name}).encode())
        elif _SPLIT.search(text):
            ids = _TASK_ID.findall(text)
            if not ids:  # the newest task the conversation created
                ids = _TASK_ID.findall("\n".join(_section(messages, "recent commands")))[-1:]
            target = ids[0] if ids else "auto"
            parts.append("I'll split that into smaller pieces.")
            lines.append(TaskSplit(target, 0.7, _title(text)).encode())
        elif m := _CREATE.match(text):
            title = _title(m.group(1))
            low = text.lower()
            intent = next((i for pat, i in _INTENTS if re.search(pat, low)), "feature_dev")
            complexity = (
                "high"
                if re.search(r"complete|entire|whole|full|system|platform", low)
                else "low"
                if re.search(r"small|quick|tiny|typo|minor", low)
                else "medium"
            )
            parts.append(f"On it: I've queued “{title}”. You'll see progress here as it runs.")
            lines.append(TaskCreate(title, intent, complexity).encode())
            if self.handoffs:
                words = [w for w in re.findall(r"[a-z]{4,}", low) if w not in _STOP][:5]
                handoff = {
                    "action": "create_task",
                    "title": title,
                    "intent": intent,
                    "keywords": sorted(set(words)),
                    "confidence": 0.6,
                }
        elif not remember:
            parts.append("Got it. Ask me to create, plan, split or check on work at any time.")
        if remember:
            value = remember.group(1).strip().rstrip(".!")[:120]
            parts.append(f"Noted, I'll remember that {value}.")
            lines.append(MemoryStore("user_preference", value, "semantic").encode())
        out = " ".join(parts) + f" {_STAND_IN}"
        for line in lines:
            out += f"\n[{line}]"
        if handoff is not None:
            out += "\n```json\n" + json.dumps({"handoff": handoff}) + "\n```"
        return out


_STOP = frozenset(
    "please could would with that this from into have need want make build create implement "
    "also them they their about just some more the and for".split()
)

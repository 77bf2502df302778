"""The baseline for the loop suite: the dual loop as it is usually sketched (asyncio, a
frontend call, redis-py for the queue), written the way a competent Python developer would
with asyncio and redis-py (hiredis parser).

Frontend path (``send``): one pipelined round trip reads the session's status hash and its
recent commands; the prompt is built from them (budgeted by characters); the model is
called; commands are pulled out of the reply with a regular expression, checked against the
allowed kinds, and one MULTI/EXEC pipeline indexes a task per ``tc`` (hash + intent set),
stores each job (hash), pushes it on the queue list, appends it to the recent commands and
marks it queued in the status hash. Backend: workers BLMOVE jobs from the queue to a
processing list on their own connection, run the handler, PUBLISH coded events on
``loop:<session>`` and update the status hash; the frontend hears them over pub/sub.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis

COMMAND = re.compile(r"\[(?:[A-Za-z0-9 _\-]{1,40}:\s*)?(tc|ts|wf|cl|ms):((?:[^\]\\]|\\.)*)\]")
FIELDS = {"tc": 3, "ts": 3, "wf": 2, "cl": 2, "ms": 3}
SYSTEM = (
    "You are the fast frontend of a two-model assistant. Answer at once; send slow work to "
    "the backend as coded commands in square brackets, e.g. [tc:title|intent|complexity]."
)
BUDGET_CHARS = {"system": 800, "commands": 2000, "status": 1200, "user": 4000}


class BaselineLoop:
    def __init__(
        self,
        url: str,
        ns: str,
        frontend: Callable[[list[dict[str, str]]], Awaitable[str]],
        allowed: set[str],
    ) -> None:
        self.r = aioredis.Redis.from_url(url, decode_responses=True)
        self.ns = ns
        self.frontend = frontend
        self.allowed = allowed

    async def close(self) -> None:
        await self.r.aclose()

    async def drop_keys(self) -> None:
        """Deletes every key of the namespace (bench clean-up, not timed)."""
        keys = [k async for k in self.r.scan_iter(match=f"{self.ns}:*", count=1000)]
        for i in range(0, len(keys), 1000):
            await self.r.delete(*keys[i : i + 1000])

    def _k(self, *parts: str) -> str:
        return ":".join((self.ns, *parts))

    async def send(self, session: str, message: str) -> dict[str, Any]:
        async with self.r.pipeline(transaction=False) as p:
            p.hgetall(self._k("status", session))
            p.lrange(self._k("recent", session), -10, -1)
            status, recent = await p.execute()
        status_text = "\n".join(f"{k}: {v}" for k, v in status.items())[-BUDGET_CHARS["status"] :]
        recent_text = "\n".join(recent)[-BUDGET_CHARS["commands"] :]
        content = f"{SYSTEM[: BUDGET_CHARS['system']]}\n\n# Recent commands\n{recent_text}"
        content += f"\n\n# Backend status\n{status_text or 'idle'}"
        messages = [
            {"role": "system", "content": content},
            {"role": "user", "content": message[: BUDGET_CHARS["user"]]},
        ]
        reply = await self.frontend(messages)

        commands = []
        errors = []
        for m in COMMAND.finditer(reply):
            kind, body = m.group(1), m.group(2)
            fields = [f.replace("\\|", "|") for f in re.split(r"(?<!\\)\|", body)]
            if kind not in self.allowed:
                errors.append(f"er:E_UNKNOWN_COMMAND|{kind} not allowed|use {sorted(self.allowed)}")
            elif len(fields) != FIELDS[kind]:
                errors.append(f"er:E_PARSE|{kind} needs {FIELDS[kind]} fields|resend")
            else:
                commands.append((kind, fields, m.group(0)[1:-1]))
        text = COMMAND.sub("", reply).strip()
        if errors:
            await self.r.publish(self._k("loop", session), json.dumps({"e": errors[0]}))
            return {"text": text, "commands": [], "jobs": [], "errors": errors}

        jobs = []
        async with self.r.pipeline(transaction=True) as p:
            for kind, fields, line in commands:
                job = uuid.uuid4().hex
                entity = fields[0]
                if kind == "tc":
                    entity = "t_" + job[:12]
                    p.hset(
                        self._k("task", entity),
                        mapping={
                            "title": fields[0],
                            "intent": fields[1],
                            "complexity": fields[2],
                            "status": "pending",
                            "session": session,
                        },
                    )
                    p.sadd(self._k("idx", "intent", fields[1]), entity)
                payload = json.dumps({"s": session, "c": line, "e": entity})
                p.hset(
                    self._k("job", job),
                    mapping={"kind": kind, "payload": payload, "status": "queued", "attempts": 0},
                )
                p.lpush(self._k("queue"), job)
                p.rpush(self._k("recent", session), f"{line} -> {entity}")
                p.ltrim(self._k("recent", session), -50, -1)
                p.hset(self._k("status", session), entity, "queued")
                jobs.append(job)
            await p.execute()
        return {"text": text, "commands": [c[2] for c in commands], "jobs": jobs, "errors": []}

    async def worker(
        self, handlers: dict[str, Callable[[list[str], str], Awaitable[Any]]], stop: asyncio.Event
    ) -> None:
        """One worker: BLMOVE a job, run it, publish its events."""
        conn = self.r  # redis-py's asyncio pool gives each blocking call its own connection
        while not stop.is_set():
            job = await conn.blmove(self._k("queue"), self._k("processing"), 0.2, "RIGHT", "LEFT")
            if job is None:
                continue
            data = await conn.hgetall(self._k("job", job))
            payload = json.loads(data["payload"])
            session, entity, kind = payload["s"], payload["e"], data["kind"]
            ch = self._k("loop", session)
            await conn.publish(ch, json.dumps({"e": f"su:{entity}|started|0.0", "j": job}))
            try:
                result = await handlers[kind](payload["c"].split("|"), entity)
                ev, status = f"tc:{entity}|{json.dumps(result)}|[]", "done"
            except Exception as e:  # noqa: BLE001 - reported as an er event
                ev, status = f"er:E_HANDLER|{e}|retry", "failed"
            async with conn.pipeline(transaction=True) as p:
                p.hset(self._k("job", job), mapping={"status": status})
                p.hset(self._k("status", session), entity, status)
                p.lrem(self._k("processing"), 1, job)
                p.publish(ch, json.dumps({"e": ev, "j": job}))
                await p.execute()

    async def first_event(self, session: str, send: Callable[[], Awaitable[Any]]) -> float:
        """Seconds from the start of ``send()`` to the first event of its command."""
        ps = self.r.pubsub()
        await ps.subscribe(self._k("loop", session))
        try:
            while await ps.get_message(timeout=0.01) is not None:
                pass
            t0 = time.perf_counter()
            out = await send()
            job = out["jobs"][0]
            while True:
                msg = await ps.get_message(ignore_subscribe_messages=True, timeout=5.0)
                if msg is None:
                    raise TimeoutError("no event from the baseline worker")
                if json.loads(msg["data"]).get("j") == job:
                    return time.perf_counter() - t0
        finally:
            await ps.aclose()

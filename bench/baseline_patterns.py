"""Baseline for the `patterns` suite: a Redis pattern memory (hashes and sorted sets), written with
redis-py the way a competent Python developer would (hiredis installed).

The usual design: patterns are hashes with JSON data, discovered through
Redis sets (one per repository and type, one per repository); issues are hashes with a
frequency counter (``HINCRBY``) plus, so that a time window works as in zerolag, a sorted set
per repository and day (``ZINCRBY``); fix outcomes and learning sessions are lists
(``LPUSH`` + ``LTRIM`` to 1000 / 500); every key gets ``EXPIRE`` (90 days); each write is one
``MULTI`` pipeline. ``insights`` reads the indexes and lists in one pipeline, the records in a
second, and aggregates in Python.

Such stores put a "data anonymization layer" in front of the store; :class:`Anonymizer`
is a compact Python version (compiled regexes for the common token shapes, e-mail, IP,
home paths, keyword=value secrets). ``anonymize=False`` measures the store alone.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from typing import Any

import redis

DAY = 86400
TTL = 90 * DAY


class Anonymizer:
    """Regex redaction of secrets in strings and in every string inside JSON."""

    RULES = [
        re.compile(p)
        for p in (
            r"AKIA[0-9A-Z]{16}",
            r"gh[pousr]_[A-Za-z0-9]{36}",
            r"github_pat_[A-Za-z0-9_]{82}",
            r"glpat-[A-Za-z0-9_-]{20}",
            r"xox[abpr]-[A-Za-z0-9-]{10,}",
            r"sk_live_[A-Za-z0-9]{24,}",
            r"sk-(?:proj-|ant-api03-)?[A-Za-z0-9_-]{32,}",
            r"AIza[A-Za-z0-9_-]{35}",
            r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+",
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
            r"[a-z][a-z0-9+.-]*://[^\s:/@]+:[^\s@/]+@",
            r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
            r"\b(?:\d{1,3}\.){3}\d{1,3}\b",
            r"/home/[A-Za-z0-9._-]+",
            r"(?i)(?:password|passwd|secret|token|api_?key)\s*[:=]\s*['\"]?[^\s'\"]{6,}",
        )
    ]

    def text(self, s: str) -> str:
        for rx in self.RULES:
            s = rx.sub(
                lambda m: "[REDACTED:" + hashlib.sha256(m[0].encode()).hexdigest()[:12] + "]", s
            )
        return s

    def json(self, v: Any) -> Any:
        if isinstance(v, str):
            return self.text(v)
        if isinstance(v, dict):
            return {self.text(k): self.json(x) for k, x in v.items()}
        if isinstance(v, list):
            return [self.json(x) for x in v]
        return v


class _Plain:
    def text(self, s: str) -> str:
        return s

    def json(self, v: Any) -> Any:
        return v


class RedisPatternMemory:
    """A Redis pattern memory in redis-py."""

    def __init__(self, r: redis.Redis, prefix: str = "kirolinter", anonymize: bool = True) -> None:
        self.r = r
        self.p = prefix
        self.anon: Anonymizer | _Plain = Anonymizer() if anonymize else _Plain()

    def store_pattern(self, repo: str, ptype: str, data: dict[str, Any], confidence: float) -> str:
        data = self.anon.json(data)
        body = json.dumps(data, sort_keys=True)
        pid = hashlib.sha256(f"{repo}|{ptype}|{body}".encode()).hexdigest()[:16]
        key = f"{self.p}:pattern:{pid}"
        now = time.time()
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(
            key,
            mapping={
                "repo": repo,
                "type": ptype,
                "data": body,
                "confidence": confidence,
                "last_seen": now,
            },
        )
        pipe.hsetnx(key, "first_seen", now)
        pipe.hincrby(key, "observations", 1)
        pipe.expire(key, TTL)
        for idx in (f"{self.p}:patterns:{repo}:{ptype}", f"{self.p}:patterns:{repo}"):
            pipe.sadd(idx, pid)
            pipe.expire(idx, TTL)
        pipe.execute()
        return pid

    def get_patterns(
        self, repo: str, ptype: str | None = None, min_confidence: float = 0.0, limit: int = 50
    ) -> list[dict[str, Any]]:
        idx = f"{self.p}:patterns:{repo}" + (f":{ptype}" if ptype else "")
        ids = self.r.smembers(idx)
        pipe = self.r.pipeline(transaction=False)
        for pid in ids:
            pipe.hgetall(f"{self.p}:pattern:{pid.decode()}")
        out = []
        for pid, h in zip(ids, pipe.execute(), strict=True):
            if not h:
                continue
            conf = float(h[b"confidence"])
            if conf >= min_confidence:
                out.append(
                    {
                        "id": pid.decode(),
                        "type": h[b"type"].decode(),
                        "data": json.loads(h[b"data"]),
                        "confidence": conf,
                        "observations": int(h[b"observations"]),
                    }
                )
        out.sort(key=lambda p: (-p["confidence"], -p["observations"], p["id"]))
        return out[:limit]

    def track_issue(
        self, repo: str, rule: str, file: str, severity: str, message: str, at: float | None = None
    ) -> None:
        now = time.time() if at is None else at
        key = f"{self.p}:issue:{repo}:{rule}"
        day = f"{self.p}:issues:{repo}:{int(now // DAY)}"
        pipe = self.r.pipeline(transaction=True)
        pipe.hincrby(key, "frequency", 1)
        pipe.hset(
            key,
            mapping={
                "rule": rule,
                "file": self.anon.text(file),
                "severity": severity,
                "message": self.anon.text(message),
                "last_seen": now,
            },
        )
        pipe.hsetnx(key, "first_seen", now)
        pipe.expire(key, TTL)
        pipe.sadd(f"{self.p}:issues:{repo}", rule)
        pipe.expire(f"{self.p}:issues:{repo}", TTL)
        pipe.zincrby(day, 1, rule)
        pipe.expire(day, TTL)
        pipe.execute()

    def record_fix_outcome(
        self, repo: str, rule: str, fix: str, accepted: bool, feedback: str | None = None
    ) -> None:
        key = f"{self.p}:fixes:{repo}"
        entry = {
            "rule": rule,
            "fix": self.anon.text(fix),
            "accepted": accepted,
            "feedback": self.anon.text(feedback) if feedback else None,
            "timestamp": time.time(),
        }
        pipe = self.r.pipeline(transaction=True)
        pipe.lpush(key, json.dumps(entry))
        pipe.ltrim(key, 0, 999)
        pipe.expire(key, TTL)
        pipe.execute()

    def record_learning_session(self, repo: str, summary: dict[str, Any]) -> None:
        key = f"{self.p}:sessions:{repo}"
        pipe = self.r.pipeline(transaction=True)
        pipe.lpush(key, json.dumps({"summary": self.anon.json(summary), "timestamp": time.time()}))
        pipe.ltrim(key, 0, 499)
        pipe.expire(key, TTL)
        pipe.execute()

    def get_insights(self, repo: str, limit: int = 10, window_days: int = 7) -> dict[str, Any]:
        today = int(time.time() // DAY)
        days = range(today - 2 * window_days + 1, today + 1)
        pipe = self.r.pipeline(transaction=False)
        pipe.smembers(f"{self.p}:patterns:{repo}")
        pipe.smembers(f"{self.p}:issues:{repo}")
        pipe.lrange(f"{self.p}:fixes:{repo}", 0, -1)
        pipe.llen(f"{self.p}:sessions:{repo}")
        for d in days:
            pipe.zrange(f"{self.p}:issues:{repo}:{d}", 0, -1, withscores=True)
        pids, rules, fixes, nsessions, *buckets = pipe.execute()
        pipe = self.r.pipeline(transaction=False)
        for pid in pids:
            pipe.hmget(f"{self.p}:pattern:{pid.decode()}", "type", "confidence", "observations")
        for rule in rules:
            pipe.hmget(f"{self.p}:issue:{repo}:{rule.decode()}", "frequency", "severity")
        got = pipe.execute()
        pats = [
            (float(c), int(n), pid.decode(), t.decode())
            for pid, (t, c, n) in zip(pids, got[: len(pids)], strict=True)
            if t is not None
        ]
        pats.sort(key=lambda x: (-x[0], -x[1], x[2]))
        iss = [
            (int(f), rule.decode())
            for rule, (f, _s) in zip(rules, got[len(pids) :], strict=True)
            if f is not None
        ]
        iss.sort(key=lambda x: (-x[0], x[1]))
        acc: dict[str, list[int]] = {}
        for raw in fixes:
            e = json.loads(raw)
            a = acc.setdefault(e["rule"], [0, 0])
            a[0] += 1 if e["accepted"] else 0
            a[1] += 1
        cur: dict[str, float] = {}
        prev: dict[str, float] = {}
        for i, bucket in enumerate(buckets):
            into = cur if i >= window_days else prev
            for rule, n in bucket:
                into[rule.decode()] = into.get(rule.decode(), 0) + n
        trends = sorted(
            ((r, cur.get(r, 0), prev.get(r, 0)) for r in set(cur) | set(prev)),
            key=lambda x: (-abs(x[1] - x[2]), x[0]),
        )
        return {
            "patterns": pats[:limit],
            "issues": iss[:limit],
            "acceptance": {r: a[0] / a[1] for r, a in acc.items()},
            "trends": trends[:limit],
            "counts": {
                "patterns": len(pids),
                "issues": len(rules),
                "fixes": len(fixes),
                "sessions": nsessions,
            },
        }

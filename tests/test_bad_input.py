"""Bad input gets one typed error on every entry point (docs/errors.md).

Text that is not valid Unicode (a lone surrogate, which ``json.loads`` makes from ``"\\ud800"``)
and values JSON cannot hold (NaN, ±inf, integers beyond 64 bits, bytes, sets, cycles, nesting
past the limit, non-str keys) raise :class:`zerolag.ValidationError` naming the argument, from
every public method, sync and async, and change nothing. The tables below list every public
method of the hub's capabilities; ``test_every_public_method_has_a_row`` fails when a method is
added without a row, so the rule stays enforced.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zerolag
from zerolag import ValidationError, protocol
from zerolag.llm import ModelReplyError

S = json.loads('"a\\ud800b"')  # a lone surrogate, as a model reply's JSON produces it
assert S == "a\ud800b"

Call = Callable[[Any, Any], Any]  # (hub, setup's value) -> result (or an awaitable)


def _claim(h: Any) -> Any:
    h.jobs.enqueue("k", {"n": 1})
    return h.jobs.claim("k")[0]


# What a method needs to exist before it is called (run before the "before" snapshot).
SETUP: dict[str, Callable[[Any], Any]] = {
    "jobs.complete": _claim,
    "jobs.fail": _claim,
    "jobs.heartbeat": _claim,
}

# capability.method -> [(argument named in the error, call with the lone surrogate)]
TEXT: dict[str, list[tuple[str, Call]]] = {
    "tasks.create": [
        ("title", lambda h, _: h.tasks.create(S)),
        ("intent", lambda h, _: h.tasks.create("t", intent=S)),
        ("description", lambda h, _: h.tasks.create("t", description=S)),
        ("keywords", lambda h, _: h.tasks.create("t", keywords=["ok", S])),
        ("metadata", lambda h, _: h.tasks.create("t", metadata={"k": S})),
        ("metadata", lambda h, _: h.tasks.create("t", metadata={S: 1})),
    ],
    "tasks.create_many": [
        ("title", lambda h, _: h.tasks.create_many([{"title": "ok"}, {"title": S}])),
        ("metadata", lambda h, _: h.tasks.create_many([{"title": "t", "metadata": [S]}])),
    ],
    "tasks.get": [("id", lambda h, _: h.tasks.get(S))],
    "tasks.get_many": [("ids", lambda h, _: h.tasks.get_many(["a", S]))],
    "tasks.update": [
        ("id", lambda h, _: h.tasks.update(S, title="x")),
        ("title", lambda h, _: h.tasks.update("a", title=S)),
    ],
    "tasks.delete": [("id", lambda h, _: h.tasks.delete(S))],
    "tasks.related": [("id", lambda h, _: h.tasks.related(S))],
    "tasks.search": [
        ("intent", lambda h, _: h.tasks.search(intent=S)),
        ("text", lambda h, _: h.tasks.search(text=S)),
        ("keywords", lambda h, _: h.tasks.search(keywords=[S])),
        ("order", lambda h, _: h.tasks.search(order=S)),
    ],
    "tasks.apply_handoff": [
        ("handoff", lambda h, _: h.tasks.apply_handoff({"title": S})),
    ],
    "docs.get": [("path", lambda h, _: h.docs.get(f"contexts/{S}.yaml"))],
    "docs.put": [
        ("path", lambda h, _: h.docs.put(f"contexts/{S}.yaml", {"a": 1})),
        ("value", lambda h, _: h.docs.put("contexts/a.yaml", {"a": S})),
    ],
    "docs.put_text": [
        ("path", lambda h, _: h.docs.put_text(f"contexts/{S}.yaml", "a: 1\n")),
        ("text", lambda h, _: h.docs.put_text("contexts/a.yaml", f"a: {S}\n")),
    ],
    "docs.merge": [
        ("path", lambda h, _: h.docs.merge(f"contexts/{S}.yaml", {"a": 1})),
        ("updates", lambda h, _: h.docs.merge("contexts/a.yaml", {"a": S})),
    ],
    "docs.delete": [("path", lambda h, _: h.docs.delete(f"contexts/{S}.yaml"))],
    "docs.list": [("prefix", lambda h, _: h.docs.list(S))],
    "docs.configure": [("roots", lambda h, _: h.docs.configure(roots=[S]))],
    "events.publish": [
        ("channel", lambda h, _: h.events.publish(S, {"a": 1})),
        ("data", lambda h, _: h.events.publish("c", {"a": S})),
    ],
    "events.read": [
        ("patterns", lambda h, _: h.events.read(S)),
        ("after", lambda h, _: h.events.read("c", after=S)),
    ],
    "bus.register": [("agent", lambda h, _: h.bus.register(S))],
    "bus.share": [
        ("source", lambda h, _: h.bus.share(S, "b", {"a": 1})),
        ("target", lambda h, _: h.bus.share("a", S, {"a": 1})),
        ("payload", lambda h, _: h.bus.share("a", "b", {"a": S})),
        ("kind", lambda h, _: h.bus.share("a", "b", {"a": 1}, kind=S)),
        ("priority", lambda h, _: h.bus.share("a", "b", {"a": 1}, priority=S)),
        ("idempotency_key", lambda h, _: h.bus.share("a", "b", 1, idempotency_key=S)),
    ],
    "bus.share_many": [
        ("source", lambda h, _: h.bus.share_many([{"source": S, "payload": 1}])),
        ("payload", lambda h, _: h.bus.share_many([{"source": "a", "payload": [S]}])),
    ],
    "bus.broadcast": [
        ("source", lambda h, _: h.bus.broadcast(S, {"a": 1})),
        ("payload", lambda h, _: h.bus.broadcast("a", {S: 1})),
    ],
    "bus.pending": [("agent", lambda h, _: h.bus.pending(S))],
    "bus.ack": [
        ("agent", lambda h, _: h.bus.ack(S, "1-0")),
        ("message_id", lambda h, _: h.bus.ack("a", S)),
        ("group", lambda h, _: h.bus.ack("a", "1-0", group=S, consumer="c")),
    ],
    "bus.ack_many": [
        ("agent", lambda h, _: h.bus.ack_many(S, ["1-0"])),
        ("message_id", lambda h, _: h.bus.ack_many("a", [S])),
    ],
    "bus.is_acked": [("message_id", lambda h, _: h.bus.is_acked(S))],
    "bus.history": [
        ("agent_a", lambda h, _: h.bus.history(S, "b")),
        ("agent_b", lambda h, _: h.bus.history("a", S)),
    ],
    "bus.consume": [
        ("agent", lambda h, _: h.bus.consume(S, group="g", consumer="c", block_ms=0)),
        ("group", lambda h, _: h.bus.consume("a", group=S, consumer="c", block_ms=0)),
        ("consumer", lambda h, _: h.bus.consume("a", group="g", consumer=S, block_ms=0)),
    ],
    "bus.dead_letters": [("agent", lambda h, _: h.bus.dead_letters(S))],
    "bus.requeue": [
        ("agent", lambda h, _: h.bus.requeue(agent=S)),
        ("message_id", lambda h, _: h.bus.requeue([S])),
    ],
    "jobs.enqueue": [
        ("kind", lambda h, _: h.jobs.enqueue(S)),
        ("payload", lambda h, _: h.jobs.enqueue("k", {"a": S})),
        ("idempotency_key", lambda h, _: h.jobs.enqueue("k", 1, idempotency_key=S)),
        ("backoff", lambda h, _: h.jobs.enqueue("k", 1, backoff=S)),
        ("key", lambda h, _: h.jobs.enqueue("k", 1, key=S)),
    ],
    "jobs.enqueue_many": [
        ("kind", lambda h, _: h.jobs.enqueue_many([{"kind": S}])),
        ("payload", lambda h, _: h.jobs.enqueue_many([{"kind": "k", "payload": S}])),
    ],
    "jobs.get": [("id", lambda h, _: h.jobs.get(S))],
    "jobs.partition_of": [("id", lambda h, _: h.jobs.partition_of(S))],
    "jobs.list": [
        ("queue", lambda h, _: h.jobs.list(S)),
        ("kind", lambda h, _: h.jobs.list("ready", kind=S)),
        ("status", lambda h, _: h.jobs.list("finished", status=S)),
        ("cursor", lambda h, _: h.jobs.list("finished", cursor=S)),
    ],
    "jobs.get_many": [("ids", lambda h, _: h.jobs.get_many([S]))],
    "jobs.cancel": [("id", lambda h, _: h.jobs.cancel(S))],
    "jobs.claim": [
        ("kinds", lambda h, _: h.jobs.claim(S)),
        ("kinds", lambda h, _: h.jobs.claim(["k", S])),
        ("worker", lambda h, _: h.jobs.claim("k", worker=S)),
    ],
    "jobs.complete": [("result", lambda h, c: h.jobs.complete(c, {"a": S}))],
    "jobs.fail": [("error", lambda h, c: h.jobs.fail(c, S))],
    "jobs.heartbeat": [("progress", lambda h, c: h.jobs.heartbeat(c, progress=S))],
    "jobs.requeue": [
        ("ids", lambda h, _: h.jobs.requeue(["j1", S])),
        ("kind", lambda h, _: h.jobs.requeue(kind=S)),
    ],
    "jobs.register_worker": [
        ("id", lambda h, _: h.jobs.register_worker(S, kinds=["k"], interval=1)),
        ("kinds", lambda h, _: h.jobs.register_worker("w", kinds=["k", S], interval=1)),
        ("host", lambda h, _: h.jobs.register_worker("w", kinds=["k"], interval=1, host=S)),
    ],
    "jobs.beat_worker": [("id", lambda h, _: h.jobs.beat_worker(S, 0, 0))],
    "jobs.unregister_worker": [("id", lambda h, _: h.jobs.unregister_worker(S))],
    "patterns.store": [
        ("repo", lambda h, _: h.patterns.store(S, "t", {"a": 1})),
        ("type", lambda h, _: h.patterns.store("r", S, {"a": 1})),
        ("data", lambda h, _: h.patterns.store("r", "t", {"a": S})),
    ],
    "patterns.get": [
        ("repo", lambda h, _: h.patterns.get(S)),
        ("type", lambda h, _: h.patterns.get("r", S)),
    ],
    "patterns.pattern": [("id", lambda h, _: h.patterns.pattern(S))],
    "patterns.update": [
        ("id", lambda h, _: h.patterns.update(S, confidence=0.5)),
        ("data", lambda h, _: h.patterns.update("p", data={"a": S})),
    ],
    "patterns.delete": [("id", lambda h, _: h.patterns.delete(S))],
    "patterns.track_issue": [
        ("repo", lambda h, _: h.patterns.track_issue(S, "rule")),
        ("rule_id", lambda h, _: h.patterns.track_issue("r", S)),
        ("file", lambda h, _: h.patterns.track_issue("r", "rule", file=S)),
        ("message", lambda h, _: h.patterns.track_issue("r", "rule", message=S)),
        ("severity", lambda h, _: h.patterns.track_issue("r", "rule", severity=S)),
    ],
    "patterns.top_issues": [("repo", lambda h, _: h.patterns.top_issues(S))],
    "patterns.record_fix": [
        ("repo", lambda h, _: h.patterns.record_fix(S, "rule", fix="f", accepted=True)),
        ("fix", lambda h, _: h.patterns.record_fix("r", "rule", fix=S, accepted=True)),
        (
            "feedback",
            lambda h, _: h.patterns.record_fix("r", "x", fix="f", accepted=True, feedback=S),
        ),
    ],
    "patterns.fixes": [
        ("repo", lambda h, _: h.patterns.fixes(S)),
        ("rule_id", lambda h, _: h.patterns.fixes("r", rule_id=S)),
    ],
    "patterns.acceptance": [("repo", lambda h, _: h.patterns.acceptance(S))],
    "patterns.record_session": [
        ("repo", lambda h, _: h.patterns.record_session(S, {"a": 1})),
        ("summary", lambda h, _: h.patterns.record_session("r", {"a": S})),
    ],
    "patterns.sessions": [("repo", lambda h, _: h.patterns.sessions(S))],
    "patterns.insights": [("repo", lambda h, _: h.patterns.insights(S))],
    "patterns.export": [("repo", lambda h, _: h.patterns.export(S))],
    "patterns.import_": [
        ("repo", lambda h, _: h.patterns.import_({"patterns": []}, repo=S)),
        ("data", lambda h, _: h.patterns.import_({"patterns": [S]})),
    ],
    "patterns.configure": [
        ("disable", lambda h, _: h.patterns.configure(disable=[S])),
        ("rules", lambda h, _: h.patterns.configure(rules={"x": S})),
    ],
    "kv.get": [("key", lambda h, _: h.kv.get(S))],
    "kv.item": [("key", lambda h, _: h.kv.item(S))],
    "kv.set": [
        ("key", lambda h, _: h.kv.set(S, 1)),
        ("value", lambda h, _: h.kv.set("k", S)),
        ("value", lambda h, _: h.kv.set("k", {"a": S})),
    ],
    "kv.set_many": [
        ("items", lambda h, _: h.kv.set_many({S: 1})),
        ("items", lambda h, _: h.kv.set_many([(S, 1)])),
        ("value", lambda h, _: h.kv.set_many({"k": S})),
    ],
    "kv.get_many": [("keys", lambda h, _: h.kv.get_many(["k", S]))],
    "kv.delete": [("key", lambda h, _: h.kv.delete(S))],
    "kv.delete_many": [("keys", lambda h, _: h.kv.delete_many([S]))],
    "kv.delete_prefix": [("prefix", lambda h, _: h.kv.delete_prefix(S))],
    "kv.incr": [("key", lambda h, _: h.kv.incr(S))],
    "kv.expire": [("key", lambda h, _: h.kv.expire(S, 10))],
    "kv.touch": [("key", lambda h, _: h.kv.touch(S))],
    "kv.ttl": [("key", lambda h, _: h.kv.ttl(S))],
    "kv.keys": [("prefix", lambda h, _: h.kv.keys(S))],
    "kv.keys_page": [
        ("prefix", lambda h, _: h.kv.keys_page(S)),
        ("after", lambda h, _: h.kv.keys_page("", after=S)),
    ],
    "cache.get": [("key", lambda h, _: h.cache.get(S))],
    "cache.get_many": [("keys", lambda h, _: h.cache.get_many(["k", S]))],
    "cache.set": [
        ("key", lambda h, _: h.cache.set(S, 1)),
        ("value", lambda h, _: h.cache.set("k", S)),
        ("value", lambda h, _: h.cache.set("k", {"a": S})),
        ("tags", lambda h, _: h.cache.set("k", 1, tags=["ok", S])),
    ],
    "cache.set_many": [
        ("items", lambda h, _: h.cache.set_many({S: 1})),
        ("value", lambda h, _: h.cache.set_many({"k": S})),
        ("tags", lambda h, _: h.cache.set_many({"k": 1}, tags=[S])),
    ],
    "cache.set_semantic": [
        ("key", lambda h, _: h.cache.set_semantic(S, 1, scope="s", embedding=[1.0])),
        ("value", lambda h, _: h.cache.set_semantic("k", S, scope="s", embedding=[1.0])),
        ("scope", lambda h, _: h.cache.set_semantic("k", 1, scope=S, embedding=[1.0])),
        ("tags", lambda h, _: h.cache.set_semantic("k", 1, scope="s", embedding=[1.0], tags=[S])),
    ],
    "cache.match": [("scope", lambda h, _: h.cache.match(S, [1.0]))],
    "cache.delete": [("key", lambda h, _: h.cache.delete(S))],
    "cache.invalidate_tag": [("tag", lambda h, _: h.cache.invalidate_tag(S))],
    "cache.invalidate_prefix": [("prefix", lambda h, _: h.cache.invalidate_prefix(S))],
    "cache.cached": [("tags", lambda h, _: h.cache.cached(tags=[S]))],
    "changes.read": [("after", lambda h, _: h.changes.read(S))],
    "changes.subscribe": [("after", lambda h, _: h.changes.subscribe(S))],
    "events.subscribe": [
        ("patterns", lambda h, _: h.events.subscribe(S)),
        ("after", lambda h, _: h.events.subscribe("x:*", after=S)),
    ],
    "memory.remember": [
        ("key", lambda h, _: h.memory.remember(S, "v")),
        ("value", lambda h, _: h.memory.remember("k", S)),
        ("value", lambda h, _: h.memory.remember("k", {"a": [S]})),
        ("category", lambda h, _: h.memory.remember("k", "v", category=S)),
        ("entities", lambda h, _: h.memory.remember("k", "v", entities=["e", S])),
        ("scope", lambda h, _: h.memory.remember("k", "v", scope={"user": S})),
        ("scope", lambda h, _: h.memory.remember("k", "v", scope={S: "u"})),
        ("metadata", lambda h, _: h.memory.remember("k", "v", metadata={"m": S})),
        ("source", lambda h, _: h.memory.remember("k", "v", source=S)),
    ],
    "memory.remember_many": [
        ("key", lambda h, _: h.memory.remember_many([("ok", 1), {"key": S, "value": 1}])),
        ("value", lambda h, _: h.memory.remember_many([("k", S)])),
    ],
    "memory.recall": [
        ("key", lambda h, _: h.memory.recall(S)),
        ("scope", lambda h, _: h.memory.recall("k", scope={"u": S})),
    ],
    "memory.history": [("key", lambda h, _: h.memory.history(S))],
    "memory.forget": [("key", lambda h, _: h.memory.forget(S))],
    "memory.purge": [("key", lambda h, _: h.memory.purge(S))],
    "memory.forget_scope": [("scope", lambda h, _: h.memory.forget_scope({"user": S}))],
    "memory.search": [
        ("text", lambda h, _: h.memory.search(S)),
        ("around", lambda h, _: h.memory.search(around=S)),
        ("scope", lambda h, _: h.memory.search("x", scope={"user": S})),
        ("categories", lambda h, _: h.memory.search("x", categories=["c", S])),
    ],
    "memory.space": [("name", lambda h, _: h.memory.space(S, 3))],
    "memory.relate": [
        ("src", lambda h, _: h.memory.relate(S, "r", "b")),
        ("relation", lambda h, _: h.memory.relate("a", S, "b")),
        ("dst", lambda h, _: h.memory.relate("a", "r", S)),
        ("metadata", lambda h, _: h.memory.relate("a", "r", "b", metadata=[S])),
    ],
    "memory.edges": [
        ("entity", lambda h, _: h.memory.edges(S)),
        ("relation", lambda h, _: h.memory.edges("a", relation=S)),
    ],
    "memory.neighbors": [("entity", lambda h, _: h.memory.neighbors(S))],
    "analytics.track": [
        ("event", lambda h, _: h.analytics.track(S)),
        ("user", lambda h, _: h.analytics.track("e", S)),
        ("props", lambda h, _: h.analytics.track("e", props={"p": S})),
        ("props", lambda h, _: h.analytics.track("e", props={S: "v"})),
    ],
    "analytics.track_many": [
        ("events", lambda h, _: h.analytics.track_many(["ok", S])),
        ("event", lambda h, _: h.analytics.track_many([{"event": S}])),
        ("user", lambda h, _: h.analytics.track_many([{"event": "e", "user": S}])),
    ],
    "analytics.counts": [
        ("event", lambda h, _: h.analytics.counts(S)),
        ("by", lambda h, _: h.analytics.counts("e", by=S)),
        ("by_prop", lambda h, _: h.analytics.counts("e", by_prop=S)),
    ],
    "analytics.uniques": [("event", lambda h, _: h.analytics.uniques(S))],
    "trending.define": [("board", lambda h, _: h.trending.define(S))],
    "trending.bump": [
        ("board", lambda h, _: h.trending.bump(S, "x")),
        ("item", lambda h, _: h.trending.bump("b", S)),
    ],
    "trending.top": [("board", lambda h, _: h.trending.top(S))],
    "trending.rank": [
        ("board", lambda h, _: h.trending.rank(S, "x")),
        ("item", lambda h, _: h.trending.rank("b", S)),
    ],
    "trending.score": [("item", lambda h, _: h.trending.score("b", S))],
    "trending.delete": [("board", lambda h, _: h.trending.delete(S))],
    "limits.check": [("key", lambda h, _: h.limits.check(S, 1, 1.0))],
    "limits.peek": [("key", lambda h, _: h.limits.peek(S, 1, 1.0))],
    "limits.reset": [("key", lambda h, _: h.limits.reset(S))],
    "sessions.create": [
        ("user", lambda h, _: h.sessions.create(S, ttl=60)),
        ("data", lambda h, _: h.sessions.create("u", {"a": S}, ttl=60)),
        ("data", lambda h, _: h.sessions.create("u", {S: 1}, ttl=60)),
    ],
    "sessions.get": [("id", lambda h, _: h.sessions.get(S))],
    "sessions.touch": [("id", lambda h, _: h.sessions.touch(S))],
    "sessions.update": [
        ("id", lambda h, _: h.sessions.update(S, {})),
        ("data", lambda h, _: h.sessions.update("0" * 32, {"a": [S]})),
    ],
    "sessions.destroy": [("id", lambda h, _: h.sessions.destroy(S))],
    "sessions.for_user": [("user", lambda h, _: h.sessions.for_user(S))],
    "sessions.destroy_user": [("user", lambda h, _: h.sessions.destroy_user(S))],
    "flags.enable": [
        ("flag", lambda h, _: h.flags.enable(S, "u")),
        ("user", lambda h, _: h.flags.enable("f", S)),
    ],
    "flags.disable": [
        ("flag", lambda h, _: h.flags.disable(S, "u")),
        ("user", lambda h, _: h.flags.disable("f", S)),
    ],
    "flags.unset": [("user", lambda h, _: h.flags.unset("f", S))],
    "flags.enabled": [
        ("flag", lambda h, _: h.flags.enabled(S, "u")),
        ("user", lambda h, _: h.flags.enabled("f", S)),
    ],
    "flags.enabled_many": [("users", lambda h, _: h.flags.enabled_many("f", ["u", S]))],
    "flags.count": [("flag", lambda h, _: h.flags.count(S))],
    "flags.set_global": [("flag", lambda h, _: h.flags.set_global(S, True))],
    "flags.rollout": [("flag", lambda h, _: h.flags.rollout(S, 10.0))],
    "flags.state": [("flag", lambda h, _: h.flags.state(S))],
    "flags.delete": [("flag", lambda h, _: h.flags.delete(S))],
    "chat.append": [
        ("conversation", lambda h, _: h.chat.append(S, "user", "x")),
        ("role", lambda h, _: h.chat.append("c", S, "x")),
        ("content", lambda h, _: h.chat.append("c", "user", S)),
        ("meta", lambda h, _: h.chat.append("c", "user", "x", {"k": S})),
    ],
    "chat.append_many": [
        ("conversation", lambda h, _: h.chat.append_many(S, [("user", "x")])),
        ("content", lambda h, _: h.chat.append_many("c", [("user", "ok"), ("user", S)])),
        ("role", lambda h, _: h.chat.append_many("c", [{"role": S, "content": "x"}])),
        ("meta", lambda h, _: h.chat.append_many("c", [("user", "x", [S])])),
        ("messages", lambda h, _: h.chat.append_many("c", [{S: 1}])),
    ],
    "chat.append_recent": [
        ("conversation", lambda h, _: h.chat.append_recent(S, "user", "x")),
        ("role", lambda h, _: h.chat.append_recent("c", S, "x")),
        ("content", lambda h, _: h.chat.append_recent("c", "user", S)),
        ("meta", lambda h, _: h.chat.append_recent("c", "user", "x", {"k": S})),
    ],
    "chat.recent": [("conversation", lambda h, _: h.chat.recent(S))],
    "chat.range": [
        ("conversation", lambda h, _: h.chat.range(S)),
        ("after", lambda h, _: h.chat.range("c", after=S)),
        ("before", lambda h, _: h.chat.range("c", before=S)),
    ],
    "chat.follow": [
        ("conversation", lambda h, _: h.chat.follow(S)),
        ("after", lambda h, _: h.chat.follow("c", after=S)),
    ],
    "chat.count": [("conversation", lambda h, _: h.chat.count(S))],
    "chat.clear": [("conversation", lambda h, _: h.chat.clear(S))],
    "activity.add": [
        ("user", lambda h, _: h.activity.add(S, "k")),
        ("kind", lambda h, _: h.activity.add("u", S)),
        ("data", lambda h, _: h.activity.add("u", "k", {"a": S})),
    ],
    "activity.add_many": [
        ("user", lambda h, _: h.activity.add_many(S, [("k", 1)])),
        ("kind", lambda h, _: h.activity.add_many("u", [("k", 1), (S, 1)])),
        ("data", lambda h, _: h.activity.add_many("u", [{"kind": "k", "data": [S]}])),
        ("items", lambda h, _: h.activity.add_many("u", [{S: 1}])),
    ],
    "activity.recent": [("user", lambda h, _: h.activity.recent(S))],
    "activity.range": [
        ("user", lambda h, _: h.activity.range(S)),
        ("after", lambda h, _: h.activity.range("u", after=S)),
        ("before", lambda h, _: h.activity.range("u", before=S)),
    ],
    "activity.follow": [
        ("user", lambda h, _: h.activity.follow(S)),
        ("after", lambda h, _: h.activity.follow("u", after=S)),
    ],
    "activity.count": [("user", lambda h, _: h.activity.count(S))],
    "activity.clear": [("user", lambda h, _: h.activity.clear(S))],
    "hub.erase": [("subject", lambda h, _: h.erase(S))],
    "archive.attach": [("dsn", lambda h, _: h.archive.attach(S))],
    "archive.history": [
        ("agent", lambda h, _: h.archive.history(agent=S)),
        ("kinds", lambda h, _: h.archive.history(kinds=["ok", S])),
        ("text", lambda h, _: h.archive.history(text=S)),
        ("cursor", lambda h, _: h.archive.history(cursor=S)),
    ],
    "archive.clear": [("confirm", lambda h, _: h.archive.clear(confirm=S))],
    "archive.erase": [("subject", lambda h, _: h.archive.erase(S))],
    "hub.export": [("path", lambda h, _: h.export(S))],
    "hub.import_": [("path", lambda h, _: h.import_(S))],
    "hub.serve": [
        ("host", lambda h, _: h.serve(S, 0)),
        ("token", lambda h, _: h.serve("127.0.0.1", 0, token=S)),
        ("cors", lambda h, _: h.serve("127.0.0.1", 0, cors=[S])),
    ],
}

# Public methods with no text or JSON argument (nothing to refuse) or none a user passes text
# to; each with the reason.
NO_TEXT: dict[str, str] = {
    "tasks.count": "no argument",
    "docs.pending_writeback": "an int",
    "events.count": "no argument",
    "events.last_id": "no argument",
    "events.retention": "no argument",
    "events.set_retention": "numbers",
    "bus.agents": "no argument",
    "bus.cleanup": "a number",
    "bus.clear": "no argument",
    "bus.configure": "numbers",
    "bus.stats": "no argument",
    "jobs.purge": "a number",
    "jobs.counts": "no argument",
    "jobs.workers": "no argument",
    "jobs.worker": "a Python Worker: its kinds are refused by claim when it runs",
    "patterns.cleanup": "no argument",
    "patterns.clear": "no argument",
    "patterns.close": "no argument",
    "patterns.health": "no argument",
    "kv.configure": "a number",
    "kv.sweep": "no argument",
    "memory.spaces": "no argument",
    "cache.configure": "numbers",
    "cache.stats": "no argument",
    "cache.sweep": "no argument",
    "cache.semantic_index": "no argument",
    "changes.cursor": "no argument",
    "analytics.events": "times",
    "analytics.top_events": "a number and times",
    "analytics.set_retention": "a number",
    "analytics.retention": "no argument",
    "analytics.sweep": "a time",
    "chat.configure": "numbers",
    "activity.configure": "numbers",
    "archive.detach": "no argument",
    "archive.flush": "a number (tests/test_archive_api.py refuses bad ones)",
    "archive.health": "no argument",
    "archive.stats": "no argument",
    "archive.cross_agent_insights": "times (tests/test_archive_api.py refuses bad ones)",
    "hub.clear": "no argument",
    "hub.close": "no argument",
    "hub.health": "no argument",
    "hub.metrics": "no argument",
    "hub.metrics_text": "no argument",
}

CAPABILITIES = [
    "tasks",
    "docs",
    "events",
    "bus",
    "jobs",
    "patterns",
    "kv",
    "cache",
    "changes",
    "memory",
    "analytics",
    "trending",
    "limits",
    "sessions",
    "flags",
    "chat",
    "activity",
    "archive",
]


def _public(obj: Any) -> set[str]:
    return {
        n
        for n in dir(obj)
        if not n.startswith("_")
        and callable(getattr(obj, n))
        and not inspect.isclass(getattr(obj, n))
    }


def test_every_public_method_has_a_row(hub: Any) -> None:
    """A public method added without a row here fails this test: add its bad-input rows to
    TEXT (or, with a reason, to NO_TEXT)."""
    listed = set(TEXT) | set(NO_TEXT)
    assert not set(TEXT) & set(NO_TEXT)
    missing = []
    for cap in CAPABILITIES:
        for name in _public(getattr(hub, cap)):
            if f"{cap}.{name}" not in listed:
                missing.append(f"{cap}.{name}")
    for name in _public(hub):
        if f"hub.{name}" not in listed:
            missing.append(f"hub.{name}")
    assert not missing, f"no bad-input row for {missing}"
    stale = [k for k in listed if not callable(_resolve(hub, k))]
    assert not stale, f"rows for methods that do not exist: {stale}"


def _resolve(hub: Any, key: str) -> Any:
    cap, name = key.split(".")
    return getattr(hub if cap == "hub" else getattr(hub, cap), name, None)


def _snapshot(h: Any) -> dict[str, int]:
    return dict(h.health().by_capability)


def _refused(h: Any, call: Call, ctx: Any, argument: str, run: Callable[[Any], Any]) -> None:
    with pytest.raises(ValidationError) as e:
        out = call(h, ctx)
        if inspect.isawaitable(out):
            run(out)
    assert not isinstance(e.value, UnicodeError)
    assert e.value.argument == argument, (str(e.value), e.value.argument)
    assert argument in str(e.value)


TEXT_ROWS = [(k, i) for k, rows in TEXT.items() for i in range(len(rows))]


@pytest.mark.parametrize(
    ("method", "row"), TEXT_ROWS, ids=[f"{k}-{TEXT[k][i][0]}-{i}" for k, i in TEXT_ROWS]
)
def test_lone_surrogate_is_refused(hub: Any, method: str, row: int) -> None:
    argument, call = TEXT[method][row]
    ctx = SETUP[method](hub) if method in SETUP else None
    before = _snapshot(hub)
    _refused(hub, call, ctx, argument, lambda x: x)
    assert _snapshot(hub) == before, "a refused call wrote something"


def test_async_twins_refuse_alike(async_hub: Any, arun: Callable[..., Any]) -> None:
    """The same rows through AsyncHub: refused at call or at await, same class, same name."""
    for method, rows in TEXT.items():
        if method in SETUP:
            continue
        for argument, call in rows:

            def run(aw: Any) -> Any:
                async def go() -> Any:
                    return await aw

                return arun(go())

            try:
                _refused(async_hub, call, None, argument, run)
            except BaseException as e:  # name the row that failed
                raise AssertionError(f"{method} ({argument}): {e!r}") from e


def test_open_refuses_bad_text(store_url: str | None, tmp_path: Path, arun: Any) -> None:
    for kwargs, argument in [
        ({"namespace": S}, "namespace"),
        ({"url": "redis://" + S}, "url"),
        ({"root": tmp_path / S}, "root"),
    ]:
        url = kwargs.pop("url", store_url)
        with pytest.raises(ValidationError) as e:
            zerolag.open(url, root=kwargs.pop("root", tmp_path), **kwargs)
        assert e.value.argument == argument
        with pytest.raises(ValidationError) as e:
            root = tmp_path / S if argument == "root" else tmp_path
            ns = S if argument == "namespace" else "n"
            u = "redis://" + S if argument == "url" else store_url

            async def go(u: Any = u, root: Any = root, ns: str = ns) -> Any:
                return await zerolag.open_async(u, root=root, namespace=ns)

            arun(go())
        assert e.value.argument == argument


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: protocol.decode_command(f"tc:{S}|i|low"), "line"),
        (lambda: protocol.decode_event(S), "line"),
        (lambda: protocol.decode(S, "command"), "line"),
        (lambda: protocol.decode("tc:a|b|low", S), "direction"),
        (lambda: protocol.decode_many(["tc:a|b|low", S]), "lines"),
        (lambda: protocol.extract(f"hi\ntc:{S}|i|low"), "text"),
        (lambda: protocol.extract("hi", S), "direction"),
        (lambda: protocol.TaskCreate(S, "i", "low"), "title"),
        (lambda: protocol.WorkflowStart("w", {"a": S}), "params"),
        (lambda: zerolag.anonymize(S), "text"),
        (lambda: zerolag.Anonymizer().anonymize(S), "text"),
        (lambda: zerolag.Anonymizer().scan(S), "text"),
        (lambda: zerolag.Anonymizer().anonymize_json({"a": S}), "value"),
        (lambda: zerolag.Anonymizer(disable=[S]), "disable"),
        (lambda: zerolag.Anonymizer(rules={S: "x"}), "rules"),
    ],
)
def test_module_functions_refuse_lone_surrogates(call: Callable[[], Any], argument: str) -> None:
    with pytest.raises(ValidationError) as e:
        call()
    assert e.value.argument == argument, str(e.value)


def _cycle_list() -> Any:
    x: list[Any] = [1]
    x.append(x)
    return x


def _cycle_dict() -> Any:
    d: dict[str, Any] = {}
    d["self"] = d
    return d


def _deep(n: int) -> Any:
    v: Any = 1
    for _ in range(n):
        v = [v]
    return v


# Values JSON cannot hold, each refused with ValidationError (never TypeError).
NOT_JSON = {
    "nan": math.nan,
    "inf": math.inf,
    "-inf": -math.inf,
    "int>u64": 2**64,
    "int<i64": -(2**63) - 1,
    "bytes": b"x",
    "set": {1, 2},
    "int-key": {1: "a"},
    "tuple-key": {(1, 2): "a"},
    "cycle-list": _cycle_list(),
    "cycle-dict": _cycle_dict(),
    "too-deep": _deep(200),
    "object": object(),
    "surrogate": S,
}

# capability.method taking a JSON value -> (argument, call with the bad value v)
JSON_ARGS: list[tuple[str, str, Callable[[Any, Any, Any], Any]]] = [
    ("tasks.create", "metadata", lambda h, _, v: h.tasks.create("t", metadata={"a": v})),
    ("tasks.create", "complexity", lambda h, _, v: h.tasks.create("t", complexity=[v])),
    (
        "tasks.create_many",
        "metadata",
        lambda h, _, v: h.tasks.create_many([{"title": "t", "metadata": v}]),
    ),
    ("tasks.update", "metadata", lambda h, _, v: h.tasks.update("x", metadata={"a": v})),
    (
        "tasks.apply_handoff",
        "handoff",
        lambda h, _, v: h.tasks.apply_handoff({"title": "t", "m": v}),
    ),
    ("events.publish", "data", lambda h, _, v: h.events.publish("c", {"a": v})),
    ("jobs.enqueue", "payload", lambda h, _, v: h.jobs.enqueue("k", {"a": v})),
    (
        "jobs.enqueue_many",
        "payload",
        lambda h, _, v: h.jobs.enqueue_many([{"kind": "k", "payload": [v]}]),
    ),
    ("jobs.complete", "result", lambda h, c, v: h.jobs.complete(c, [v])),
    ("jobs.heartbeat", "progress", lambda h, c, v: h.jobs.heartbeat(c, progress={"p": v})),
    ("bus.share", "payload", lambda h, _, v: h.bus.share("a", "b", {"a": v})),
    ("bus.broadcast", "payload", lambda h, _, v: h.bus.broadcast("a", [v])),
    ("docs.put", "value", lambda h, _, v: h.docs.put("contexts/a.yaml", {"a": v})),
    ("docs.merge", "updates", lambda h, _, v: h.docs.merge("contexts/a.yaml", {"a": v})),
    ("patterns.store", "data", lambda h, _, v: h.patterns.store("r", "t", {"a": v})),
    (
        "patterns.record_session",
        "summary",
        lambda h, _, v: h.patterns.record_session("r", {"a": v}),
    ),
    ("kv.set", "value", lambda h, _, v: h.kv.set("k", {"a": v})),
    ("cache.set", "value", lambda h, _, v: h.cache.set("k", {"a": v})),
    ("chat.append", "meta", lambda h, _, v: h.chat.append("c", "user", "x", {"a": v})),
    (
        "chat.append_recent",
        "meta",
        lambda h, _, v: h.chat.append_recent("c", "user", "x", {"a": v}),
    ),
    ("activity.add", "data", lambda h, _, v: h.activity.add("u", "k", {"a": v})),
]


@pytest.mark.parametrize(
    ("method", "argument", "call"), JSON_ARGS, ids=[f"{m}-{a}" for m, a, _ in JSON_ARGS]
)
def test_non_json_values_are_refused(
    hub: Any, method: str, argument: str, call: Callable[..., Any]
) -> None:
    # Every kind of value JSON cannot hold, against one argument (one test per argument and
    # backend: the values share the hub and its setup; a failure names each value that got
    # through).
    ctx = SETUP[method](hub) if method in SETUP else None
    before = _snapshot(hub)
    wrong: dict[str, str] = {}
    for bad, value in NOT_JSON.items():
        try:
            call(hub, ctx, value)
        except ValidationError as e:
            if e.argument != argument or isinstance(e, TypeError):
                wrong[bad] = f"argument {e.argument!r}: {e}"
        except Exception as e:  # noqa: BLE001 - any other outcome is the failure reported
            wrong[bad] = f"{type(e).__name__}: {e}"
        else:
            wrong[bad] = "accepted"
    assert not wrong, wrong
    assert _snapshot(hub) == before, "a refused call wrote something"


def test_64_bit_range_is_the_rule(hub: Any) -> None:
    """Integers inside the signed/unsigned 64-bit range round-trip; one past either end is
    refused."""
    for n in (2**63 - 1, -(2**63), 2**64 - 1):
        assert hub.tasks.create("t", metadata={"n": n}).metadata == {"n": n}
        assert hub.docs.put("contexts/n.yaml", {"n": n}).value == {"n": n}
    for n in (2**64, -(2**63) - 1):
        with pytest.raises(ValidationError, match="64-bit"):
            hub.tasks.create("t", metadata={"n": n})


def test_kv_keeps_bytes_as_values(hub: Any) -> None:
    """kv stores bytes as blobs (its own rule), but not inside a JSON value."""
    hub.kv.set("b", b"\x00\xff")
    assert hub.kv.get("b") == b"\x00\xff"
    with pytest.raises(ValidationError):
        hub.kv.set("j", {"b": b"x"})


# ------------------------------------------------------------------------------ documents


BIG = "1" + "0" * 199  # a 200-digit integer


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("contexts/big.yaml", f"n: {BIG}\n"),
        ("contexts/big.yaml", f"- {BIG}\n"),
        ("contexts/big.yaml", "n: 18446744073709551616\n"),  # 2**64
        ("contexts/big.yaml", "n: -9223372036854775809\n"),  # -2**63 - 1
        ("contexts/big.yaml", "n: 0x1FFFFFFFFFFFFFFFF\n"),
        ("contexts/big.yaml", f"n: !!int {BIG}\n"),
        ("contexts/big.json", f'{{"n": {BIG}}}'),
        ("contexts/big.json", '{"n": [18446744073709551616]}'),
    ],
)
def test_documents_refuse_integers_beyond_64_bits(hub: Any, path: str, text: str) -> None:
    before = _snapshot(hub)
    with pytest.raises(ValidationError, match="64-bit"):
        hub.docs.put_text(path, text)
    assert _snapshot(hub) == before


def test_documents_keep_64_bit_integers_and_quoted_big_ones(hub: Any) -> None:
    d = hub.docs.put_text(
        "contexts/ok.yaml",
        f"a: 9223372036854775807\nb: -9223372036854775808\nc: 18446744073709551615\nd: '{BIG}'\n",
    )
    assert d.value == {
        "a": 2**63 - 1,
        "b": -(2**63),
        "c": 2**64 - 1,
        "d": BIG,
    }
    j = hub.docs.put_text(
        "contexts/ok.json", f'{{"a": 18446744073709551615, "b": "{BIG}", "c": 1e300}}'
    )
    assert j.value == {"a": 2**64 - 1, "b": BIG, "c": 1e300}


@pytest.mark.parametrize(
    "text",
    ['{"a": 1, "a": 2}', '{"x": {"b": 1, "b": 1}}', '[{"k": 1, "k": 1}]'],
)
def test_json_documents_refuse_duplicate_keys(hub: Any, text: str) -> None:
    with pytest.raises(ValidationError, match="duplicate key"):
        hub.docs.put_text("contexts/dup.json", text)
    with pytest.raises(ValidationError, match="duplicate key"):
        hub.docs.put_text("contexts/dup.yaml", "a: 1\na: 2\n")
    assert hub.docs.list() == []


def test_file_sync_refuses_a_big_integer(hub: Any, tmp_path: Path) -> None:
    """A file imported by the sync goes through the same parser: the 200-digit integer is
    reported (file:error) and not imported, the good file next to it is."""
    (tmp_path / "contexts").mkdir()
    (tmp_path / "contexts" / "big.yaml").write_text(f"n: {BIG}\n")
    (tmp_path / "contexts" / "dup.json").write_text('{"a": 1, "a": 2}')
    (tmp_path / "contexts" / "ok.yaml").write_text("n: 1\n")
    hub.sync.start(rescan=3600)
    try:
        assert hub.docs.get("contexts/ok.yaml").value == {"n": 1}
        for p in ("contexts/big.yaml", "contexts/dup.json"):
            with pytest.raises(zerolag.NotFoundError):
                hub.docs.get(p)
        errors = [e.data for e in hub.events.read("file:*", limit=100)]
        text = json.dumps(errors)
        assert "64-bit" in text and "big.yaml" in text, errors
        assert "duplicate key" in text and "dup.json" in text, errors
    finally:
        hub.sync.stop()


# ------------------------------------------------------------------------------- DualLoop


def test_protocol_refuses_integers_beyond_64_bits() -> None:
    """A coded command's literal follows the same rule as documents and arguments."""
    for line in (f"wf:w|{{n:{BIG}}}", "wf:w|[18446744073709551616]", "ms:k|-9223372036854775809|t"):
        with pytest.raises(ValidationError, match="too large"):
            protocol.decode_command(line)
    ok = protocol.decode_command("wf:w|{a:18446744073709551615,b:-9223372036854775808}")
    assert ok.params == {"a": 2**64 - 1, "b": -(2**63)}


class Scripted:
    """A frontend model that answers with the next scripted reply."""

    blocking = False

    def __init__(self, *replies: Any) -> None:
        self.replies = list(replies)

    def __call__(self, messages: list[dict[str, str]]) -> Any:
        return self.replies.pop(0)


@pytest.mark.parametrize(
    "reply",
    [
        "hello \ud800 there",
        "ok\ntc:fix \ud800|bugfix|low",
        json.dumps({"userResponse": "a \ud800 b"}),
        '{"userResponse": "hi \\ud800", "handoff": {"title": "t"}}',
        'sure\n```json\n{"handoff": {"action": "create_task", "title": "x \\udfff"}}\n```',
    ],
)
def test_loop_answers_a_reply_with_a_lone_surrogate(hub: Any, reply: str) -> None:
    loop = zerolag.DualLoop(hub, frontend=Scripted(reply, "fine\ntc:next|bugfix|low"))
    loop.register("tc", lambda cmd, ctx: None)
    try:
        r = loop.send("s1", "go")
        r.text.encode("utf-8")  # shown to the user: valid text
        assert r.jobs == [] and r.task_ids == []
        assert r.errors and r.errors[0].code == "E_INVALID"
        assert hub.jobs.get_many([]) == []
        ok = loop.send("s1", "again")  # the loop goes on
        assert ok.text == "fine" and len(ok.jobs) == 1
    finally:
        loop.close()


def test_loop_async_answers_a_reply_with_a_lone_surrogate(hub: Any, arun: Any) -> None:
    loop = zerolag.DualLoop(hub, frontend=Scripted("x \ud800", "fine"))
    try:
        r = arun(loop.asend("s1", "go"))
        r.text.encode("utf-8")
        assert r.errors and r.errors[0].code == "E_INVALID"
        assert arun(loop.asend("s1", "again")).text == "fine"
    finally:
        loop.close()


@pytest.mark.parametrize("reply", [b"bytes reply", None, {"text": "x"}])
def test_loop_refuses_a_reply_that_is_not_text(hub: Any, reply: Any) -> None:
    loop = zerolag.DualLoop(hub, frontend=Scripted(reply, "fine"))
    try:
        with pytest.raises(ValidationError) as e:
            loop.send("s1", "go")
        assert isinstance(e.value, ModelReplyError)
        assert loop.send("s1", "again").text == "fine"
    finally:
        loop.close()


def test_loop_refuses_a_user_message_with_a_lone_surrogate(hub: Any) -> None:
    loop = zerolag.DualLoop(hub, frontend=Scripted("never"))
    try:
        with pytest.raises(ValidationError) as e:
            loop.send("s1", S)
        assert e.value.argument == "message"
        with pytest.raises(ValidationError) as e:
            loop.send(S, "hi")
        assert e.value.argument == "session"
    finally:
        loop.close()

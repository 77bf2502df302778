"""Model adapters (zerolag.llm) and the prompt budget (zerolag.prompt). No store, no network:
the OpenAI-compatible client talks to a small HTTP server started here."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import zerolag
from zerolag import llm, protocol
from zerolag.prompt import Budget, build_prompt, estimate_tokens


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.seen.append((self.path, dict(self.headers), body))
        mode = self.server.mode
        if mode == "slow":
            time.sleep(1.0)
        if mode == "error":
            data = json.dumps({"error": {"message": "model overloaded"}}).encode()
            self.send_response(503)
        elif mode == "garbage":
            data = b"<html>not json</html>"
            self.send_response(200)
        else:
            last = body["messages"][-1]["content"]
            data = json.dumps(
                {"choices": [{"message": {"role": "assistant", "content": f"echo: {last}"}}]}
            ).encode()
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except OSError:
            pass


@pytest.fixture
def server() -> Iterator[Any]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    srv.seen = []  # type: ignore[attr-defined]
    srv.mode = "ok"  # type: ignore[attr-defined]
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def _url(srv: Any) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}/v1"


def test_openai_client_round_trip(server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret")
    monkeypatch.setenv("ZEROLAG_MODEL", "tiny-1")
    client = llm.OpenAIChat(base_url=_url(server) + "/", temperature=0)
    assert "sk-test" not in repr(client) and "tiny-1" in repr(client)
    out = client([{"role": "user", "content": "hi"}])
    assert out == "echo: hi"
    path, headers, body = server.seen[-1]
    assert path == "/v1/chat/completions"
    assert headers["Authorization"] == "Bearer sk-test-secret"
    assert body == {
        "model": "tiny-1",
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0,
    }
    assert asyncio.run(client.acomplete([{"role": "user", "content": "yo"}])) == "echo: yo"


def test_openai_client_typed_errors(server: Any) -> None:
    client = llm.OpenAIChat("m", base_url=_url(server), api_key="", timeout=0.2)
    server.mode = "error"
    with pytest.raises(llm.ModelError) as e:
        client([{"role": "user", "content": "hi"}])
    assert e.value.status == 503 and "model overloaded" in str(e.value)
    assert isinstance(e.value, zerolag.BackendError)
    server.mode = "garbage"
    with pytest.raises(llm.ModelError, match="chat completion"):
        client([{"role": "user", "content": "hi"}])
    server.mode = "slow"
    with pytest.raises(zerolag.TimeoutError):
        client([{"role": "user", "content": "hi"}])
    port = server.server_address[1]
    server.shutdown()
    server.server_close()
    down = llm.OpenAIChat("m", base_url=f"http://127.0.0.1:{port}/v1", timeout=2)
    with pytest.raises(zerolag.ConnectionError):
        down([{"role": "user", "content": "hi"}])
    with pytest.raises(zerolag.ValidationError):
        llm.OpenAIChat("m", base_url="ftp://x")


def test_openai_client_needs_a_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZEROLAG_MODEL", raising=False)
    monkeypatch.delenv("OPENAI_MODEL", raising=False)
    with pytest.raises(zerolag.ValidationError, match="model"):
        llm.OpenAIChat()


def test_plain_and_async_callables() -> None:
    msgs = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]

    async def amodel(m: list[dict[str, str]]) -> str:
        await asyncio.sleep(0)
        return "async " + m[-1]["content"]

    assert llm.complete(llm.echo, msgs) == "u"
    assert llm.complete(amodel, msgs) == "async u"  # run to completion without a loop
    assert asyncio.run(llm.acomplete(amodel, msgs)) == "async u"
    assert asyncio.run(llm.acomplete(lambda m: "sync", msgs)) == "sync"
    with pytest.raises(llm.ModelError):
        llm.complete(lambda m: 42, msgs)  # type: ignore[arg-type,return-value]

    async def inside() -> None:
        with pytest.raises(TypeError, match="asend"):
            llm.complete(amodel, msgs)

    asyncio.run(inside())


@pytest.mark.parametrize(
    "message, kind",
    [
        ("Create an auth system for the app", "tc"),
        ("Please fix the login crash", "tc"),
        ("Plan the MyApp project", "wf"),
        ("Split t_0123456789ab into parts", "ts"),
        ("Remember that I like dark mode", "ms"),
        ("What did we discuss yesterday?", "cl"),
        ("Good morning!", None),
    ],
)
def test_rule_based_frontend(message: str, kind: str | None) -> None:
    fe = llm.RuleBasedFrontend()
    out = fe([{"role": "system", "content": "x"}, {"role": "user", "content": message}])
    assert "stand-in for a model" in out
    ex = protocol.extract(out.split("```")[0])
    assert not ex.errors
    assert [c.kind for c in ex.commands] == ([kind] if kind else [])


def test_rule_based_frontend_answers_status_from_prompt() -> None:
    fe = llm.RuleBasedFrontend()
    system = "sys\n\n# Backend status\nAuth [t_1]: in_progress 40%"
    out = fe([{"role": "system", "content": system}, {"role": "user", "content": "status?"}])
    assert "Auth [t_1]: in_progress 40%" in out
    assert "[" + "tc:" not in out


# ---------------------------------------------------------------------------- prompt budget


def _count_words(text: str) -> int:
    return len(text.split())


def test_prompt_fits_default_budget() -> None:
    cmds = [f"tc:Task {i}|x|low  -> t_{i}, done, 1 s ago" for i in range(200)]
    status = [(i % 2 == 0, f"Task {i} [t_{i}]: running 50%") for i in range(200)]
    p = build_prompt("system " * 400, cmds, status, "user " * 3000)
    assert p.total_tokens <= 2000
    assert p.tokens["system"] <= 200 and p.tokens["commands"] <= 500
    assert p.tokens["status"] <= 300 and p.tokens["user"] <= 1000
    content = p.messages[0]["content"]
    assert "tc:Task 199|" in content and "tc:Task 0|" not in content  # newest kept
    user = p.messages[1]["content"]
    assert user.startswith("user user") and user.endswith("user ") and "[…]" in user
    assert set(p.trimmed) == {"system", "commands", "status", "user"}
    assert estimate_tokens("abcd" * 10) == 10


def test_prompt_trim_order_under_a_small_total() -> None:
    """Over the total: recent commands go first, then status (finished first), then the
    user message, and the system prompt last."""
    sys_ = "s " * 50  # 50 words
    cmds = [f"c{i}" for i in range(50)]  # 50 words
    status = [(True, "done1"), (False, "run1"), (True, "done2"), (False, "run2")]
    user = "u " * 50
    b = Budget(total=208, system=100, commands=100, status=100, user=100)
    full = build_prompt(sys_, cmds, status, user, b, _count_words)
    assert full.trimmed == [] and full.total_tokens == 50 + 100 + 8 + 50

    p = build_prompt(
        sys_,
        cmds,
        status,
        user,
        Budget(total=150, system=100, commands=100, status=100, user=100),
        _count_words,
    )
    assert p.trimmed == ["commands"] and p.tokens["status"] == 8 and p.tokens["user"] == 50
    assert p.tokens["commands"] <= 42 and "c49" in p.messages[0]["content"]

    p = build_prompt(
        sys_,
        cmds,
        status,
        user,
        Budget(total=104, system=100, commands=100, status=100, user=100),
        _count_words,
    )
    assert p.trimmed == ["commands", "status"] and p.tokens["commands"] == 0
    content = p.messages[0]["content"]
    assert "run1" in content and "run2" in content and "done1" not in content
    assert p.tokens["user"] == 50 and p.tokens["system"] == 50

    p = build_prompt(
        sys_,
        cmds,
        status,
        user,
        Budget(total=70, system=100, commands=100, status=100, user=100),
        _count_words,
    )
    assert p.trimmed == ["commands", "status", "user"]
    assert p.tokens["system"] == 50 and p.tokens["user"] <= 20

    p = build_prompt(
        sys_,
        cmds,
        status,
        user,
        Budget(total=30, system=100, commands=100, status=100, user=100),
        _count_words,
    )
    assert p.trimmed == ["commands", "status", "user", "system"]
    assert p.total_tokens <= 30


def test_loop_prompt_carries_status_within_budget(tmp_path: Any) -> None:
    with zerolag.open(root=tmp_path, namespace="budget") as hub:
        seen: list[list[dict[str, str]]] = []

        def model(messages: list[dict[str, str]]) -> str:
            seen.append(messages)
            return "ok [tc:Thing|x|low]"

        loop = zerolag.DualLoop(hub, model, budget=1500)
        loop.register("tc", lambda c, x: None)
        for _ in range(40):
            r = loop.send("s", "go " * 2000)
        tokens = r.prompt_tokens
        assert tokens["user"] == 1000 and sum(tokens.values()) <= 1500
        assert tokens["commands"] < 100 and tokens["status"] > 200  # commands trimmed first
        assert "# Backend status" in seen[-1][0]["content"]
        assert "Thing [t_" in seen[-1][0]["content"]
        loop.close()


def test_loop_prompt_uses_the_loops_token_counter(tmp_path: Any) -> None:
    """A loop's ``count_tokens`` counts every section (here words); its errors come through."""
    with zerolag.open(root=tmp_path, namespace="counter") as hub:
        loop = zerolag.DualLoop(
            hub, lambda m: "ok", budget=zerolag.Budget(user=5), count_tokens=_count_words
        )
        r = loop.send("s", "one two three four five six seven eight nine ten")
        assert (
            r.prompt_tokens["user"] <= 5
            and "[…]" in loop.prompt("s", "a b c d e f g")[1]["content"]
        )
        assert r.prompt_tokens["system"] == len(loop.system.split())

        def broken(text: str) -> int:
            raise RuntimeError("tokenizer down")

        bad = zerolag.DualLoop(hub, lambda m: "ok", count_tokens=broken)
        with pytest.raises(RuntimeError, match="tokenizer down"):
            bad.send("s", "hello")
        loop.close()
        bad.close()


def test_loop_state_adopts_events_and_ignores_what_is_not_one() -> None:
    """The tracker feeds every ``loop:*`` event to the state: a command dispatched elsewhere
    is adopted from its first event; a bad line or session name changes nothing."""
    st = zerolag._core.LoopState(max_sessions=2)
    assert not st.apply("bad session", "su:t_1|started|0.0", "j1", "tc:Thing|x|low", 1.0)
    assert not st.apply("s1", "not an event", "j1", "tc:Thing|x|low", 1.0)
    assert len(st) == 0
    assert st.apply("s1", "su:t_1|started|0.0", "j1", "tc:Thing|x|low", 1.0)
    assert st.status("s1", 5.0) == ["Thing [t_1]: started 0%"]
    assert st.apply("s1", "tc:t_1|shipped|[]", "j1", None, 2.0)
    assert st.status("s1", 5.0) == ["Thing [t_1]: done: shipped"]
    st.status("s2", 5.0)
    st.status("s3", 5.0)  # over max_sessions: s1, the least recently used, is forgotten
    assert len(st) == 2 and st.status("s1", 5.0) == []

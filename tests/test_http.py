"""The HTTP service on every backend: ``hub.serve()`` (the Rust server), ``zerolag.http.app``
(the ASGI app, on a real uvicorn for streams) and ``zerolag serve`` as a subprocess.

Clients are httpx; SSE is read as the bytes the server sends. Waits have generous deadlines
(guards, never latency assertions)."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import httpx
import pytest
import zerolag
import zerolag.http

WAIT = 60.0  # seconds: a guard for things that normally take milliseconds
TOKEN = "s3cret-token-for-tests"


# --------------------------------------------------------------------------------------------
# helpers


def sse_frames(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """Frames of an SSE stream: ``{"id", "event", "data", "comment", "retry"}`` (those given)."""
    frame: dict[str, Any] = {}
    for line in lines:
        if line == "":
            if frame:
                yield frame
            frame = {}
        elif line.startswith(":"):
            frame["comment"] = line[1:].strip()
        else:
            field, _, value = line.partition(":")
            frame[field] = value[1:] if value.startswith(" ") else value


def events_of(lines: Iterator[str], n: int) -> list[dict[str, Any]]:
    """The next ``n`` event frames (comments and the preamble skipped), with data parsed."""
    out = []
    for f in sse_frames(lines):
        if "data" in f:
            f["data"] = json.loads(f["data"])
            out.append(f)
            if len(out) == n:
                break
    return out


def get(url: str, **kw: Any) -> httpx.Response:
    return httpx.get(url, timeout=WAIT, **kw)


@pytest.fixture
def server(hub: zerolag.Hub) -> Iterator[zerolag.Server]:
    with hub.serve(port=0) as s:
        yield s


def slow_socket(port: int) -> socket.socket:
    """A connection with a small receive buffer (set before connecting, so it holds)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    return sock


def publish_5(hub: zerolag.Hub, data: str) -> None:
    for _ in range(5):
        hub.events.publish("big", data)


def until(cond: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


# --------------------------------------------------------------------------------------------
# the JSON endpoints


def test_status(hub: zerolag.Hub, server: zerolag.Server, backend: str) -> None:
    hub.events.publish("a:b", {"x": 1})
    r = get(server.url + "/status")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    s = r.json()
    assert s["ok"] is True
    assert s["backend"] == {"embedded": "sqlite", "redis": "redis", "cluster": "cluster"}[backend]
    assert s["namespace"] == hub.namespace and s["version"] == zerolag.__version__
    assert s["server_version"] and s["rtt_ms"] >= 0
    assert s["events"] == {"count": 1, "last_id": hub.events.last_id()}
    assert set(s) >= {"jobs", "workers", "bus", "sync", "analytics"}
    assert s["sync"]["running"] is False


def test_status_counts_bus_agents(hub: zerolag.Hub, server: zerolag.Server) -> None:
    hub.bus.register("worker-1", kinds=["email"])
    hub.bus.share("front", "worker-1", {"do": "it"})
    agents = {a["agent"]: a for a in get(server.url + "/status").json()["bus"]["agents"]}
    assert agents["worker-1"]["pending"] == 1 and agents["worker-1"]["dead"] == 0


def test_events_pages_and_filters(hub: zerolag.Hub, server: zerolag.Server) -> None:
    sent = [hub.events.publish(f"task:{i}", {"i": i}) for i in range(5)]
    hub.events.publish("other", {})
    r = get(server.url + "/events", params={"after": "0", "channel": "task:*", "limit": 3})
    body = r.json()
    assert [e["id"] for e in body["events"]] == [e.id for e in sent[:3]]
    first = body["events"][0]
    assert first == {"id": sent[0].id, "channel": "task:0", "data": {"i": 0}, "ts": sent[0].time}
    rest = get(server.url + "/events", params={"after": body["next"], "channel": "task:*"}).json()
    assert [e["id"] for e in rest["events"]] == [e.id for e in sent[3:]]
    both = get(server.url + "/events?channel=task:1&channel=other").json()["events"]
    assert [e["channel"] for e in both] == ["task:1", "other"]


@pytest.mark.parametrize(
    "query",
    ["channel=a%20b", "channel=x[1]", "after=nope", "limit=0", "limit=abc", "limit=100000"],
)
def test_events_bad_query_is_400(server: zerolag.Server, query: str) -> None:
    r = get(server.url + "/events?" + query)
    assert r.status_code == 400
    assert r.json()["error"] == "validation" and r.json()["message"]


def test_stream_is_the_chat_history(hub: zerolag.Hub, server: zerolag.Server) -> None:
    ids = [
        hub.chat.append("conv-1", "user", "hello", {"lang": "en"}),
        hub.chat.append("conv-1", "assistant", "hi!"),
        hub.chat.append("conv-1", "user", "bye"),
    ]
    body = get(server.url + "/stream", params={"conversation": "conv-1"}).json()
    assert body["conversation"] == "conv-1" and body["next"] == ids[-1]
    m = body["messages"]
    assert [x["content"] for x in m] == ["hello", "hi!", "bye"]
    assert m[0]["role"] == "user" and m[0]["meta"] == {"lang": "en"} and m[0]["id"] == ids[0]
    after = get(server.url + "/stream", params={"conversation": "conv-1", "after": ids[0]}).json()
    assert [x["id"] for x in after["messages"]] == ids[1:]
    last = get(server.url + "/stream", params={"conversation": "conv-1", "limit": 1}).json()
    assert [x["content"] for x in last["messages"]] == ["bye"]
    assert get(server.url + "/stream").status_code == 400
    assert get(server.url + "/stream?conversation=a*b").status_code == 400


def test_analytics(hub: zerolag.Hub, server: zerolag.Server) -> None:
    for u in ("ann", "bob", "ann"):
        hub.analytics.track("signup", user=u)
    hub.analytics.track("login", user="ann")
    top = get(server.url + "/analytics").json()
    assert top["events"] == [{"event": "signup", "count": 3}, {"event": "login", "count": 1}]
    one = get(server.url + "/analytics", params={"event": "signup", "days": 2}).json()
    assert one["by"] == "day" and len(one["counts"]) == 2
    assert one["total"] == 3 and one["uniques"] == 2
    hourly = get(server.url + "/analytics", params={"event": "signup", "hours": 3}).json()
    assert hourly["by"] == "hour" and len(hourly["counts"]) == 3 and hourly["total"] == 3
    hub.trending.bump("pages", "home", 3)
    hub.trending.bump("pages", "about")
    board = get(server.url + "/analytics", params={"board": "pages", "n": 1}).json()
    assert board == {"board": "pages", "top": [{"item": "home", "score": 3.0}]}
    assert get(server.url + "/analytics?days=0").status_code == 400


def test_page_and_unknown_paths(server: zerolag.Server) -> None:
    r = get(server.url + "/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "<html" in r.text.lower() or "<!doctype html" in r.text.lower()
    assert get(server.url + "/nope").status_code == 404
    assert httpx.post(server.url + "/status", timeout=WAIT).status_code == 405


def test_request_body_over_the_limit_is_413(server: zerolag.Server) -> None:
    r = httpx.request("GET", server.url + "/status", content=b"x" * 10_000, timeout=WAIT)
    assert r.status_code == 413
    chunked = httpx.request(
        "GET", server.url + "/status", content=iter([b"x" * 3000] * 3), timeout=WAIT
    )
    assert chunked.status_code == 413
    assert httpx.request("GET", server.url + "/status", content=b"{}", timeout=WAIT).is_success


def test_request_head_over_the_limit_is_refused(server: zerolag.Server) -> None:
    r = get(server.url + "/status", headers={"x-big": "y" * 40_000})
    assert r.status_code == 431


def test_an_async_hub_serves_too(async_hub: zerolag.AsyncHub, arun: Any) -> None:
    with async_hub.serve(port=0) as s:
        arun(async_hub.events.publish, "a", 1)
        assert get(s.url + "/status").json()["events"]["count"] == 1


# --------------------------------------------------------------------------------------------
# security defaults


def test_token_is_required_on_every_request(hub: zerolag.Hub) -> None:
    with hub.serve(port=0, token=TOKEN) as s:
        for path in ("/status", "/events", "/", "/realtime"):
            assert get(s.url + path).status_code == 401
            bad = {"authorization": "Bearer " + TOKEN[:-1] + "X"}
            assert get(s.url + path, headers=bad).status_code == 401
        assert get(s.url + "/status", headers={"authorization": TOKEN}).status_code == 401
        ok = get(s.url + "/status", headers={"authorization": "Bearer " + TOKEN})
        assert ok.status_code == 200 and ok.json()["ok"] is True
        # A browser's EventSource cannot set headers: the same token as a query parameter.
        assert get(s.url + "/status", params={"access_token": TOKEN}).status_code == 200


def test_non_loopback_bind_needs_a_token(hub: zerolag.Hub) -> None:
    with pytest.raises(zerolag.ValidationError, match="without a token"):
        hub.serve("0.0.0.0", 0)
    with pytest.raises(zerolag.ValidationError, match="at least 16"):
        hub.serve("127.0.0.1", 0, token="short")
    with hub.serve("0.0.0.0", 0, token=TOKEN) as s:
        url = f"http://127.0.0.1:{s.port}/status"
        assert get(url).status_code == 401
        assert get(url, headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_port_in_use_is_an_os_error(hub: zerolag.Hub, server: zerolag.Server) -> None:
    with pytest.raises(OSError):
        hub.serve(port=server.port)


def test_close_releases_the_port(hub: zerolag.Hub) -> None:
    s = hub.serve(port=0)
    assert s.running and repr(s).startswith("Server(url=")
    port = s.port
    s.close()
    assert not s.running
    with pytest.raises(httpx.ConnectError):
        get(f"http://127.0.0.1:{port}/status")
    hub.serve(port=port).close()  # the port is free again


def test_cors_is_off_unless_configured(hub: zerolag.Hub, server: zerolag.Server) -> None:
    origin = {"origin": "http://app.example"}
    assert "access-control-allow-origin" not in get(server.url + "/status", headers=origin).headers
    with hub.serve(port=0, cors=["http://app.example"]) as s:
        r = get(s.url + "/status", headers=origin)
        assert r.headers["access-control-allow-origin"] == "http://app.example"
        other = get(s.url + "/status", headers={"origin": "http://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        pre = httpx.options(
            s.url + "/realtime",
            headers={**origin, "access-control-request-method": "GET"},
            timeout=WAIT,
        )
        assert pre.status_code == 204
        assert "last-event-id" in pre.headers["access-control-allow-headers"]


# --------------------------------------------------------------------------------------------
# realtime (SSE)


def test_realtime_delivers_published_events_in_order(
    hub: zerolag.Hub, server: zerolag.Server
) -> None:
    with httpx.stream(
        "GET", server.url + "/realtime", params={"channel": "task:*"}, timeout=WAIT
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/event-stream"
        lines = r.iter_lines()
        sent = []
        for i in range(30):
            hub.events.publish("noise", {"i": i})
            sent.append(hub.events.publish(f"task:{i}", {"i": i}))
        got = events_of(lines, 30)
    assert [f["id"] for f in got] == [e.id for e in sent]
    assert [f["event"] for f in got] == [f"task:{i}" for i in range(30)]
    assert got[3]["data"] == {
        "id": sent[3].id,
        "channel": "task:3",
        "data": {"i": 3},
        "ts": sent[3].time,
    }


def test_realtime_pings_and_shares_one_subscription(hub: zerolag.Hub) -> None:
    with hub.serve(port=0, ping=0.05) as s:
        url = s.url + "/realtime"
        with (
            httpx.stream("GET", url, params={"channel": ["b:*", "a:*"]}, timeout=WAIT) as r1,
            httpx.stream("GET", url, params={"channel": ["a:*", "b:*", "a:*"]}, timeout=WAIT) as r2,
        ):
            until(lambda: s.stats()["clients"] == 2, "two clients")
            # The same set of patterns (in any order, repeated or not) shares one follower.
            assert s.stats()["subscriptions"] == 1
            with httpx.stream("GET", url, params={"channel": "c"}, timeout=WAIT):
                until(lambda: s.stats()["subscriptions"] == 2, "a second follower")
            lines1 = r1.iter_lines()
            comments = [f.get("comment") for f in islice(sse_frames(lines1), 3)]
            assert "ping" in comments
            e = hub.events.publish("a:1", 1)
            assert events_of(lines1, 1)[0]["id"] == e.id
            assert events_of(r2.iter_lines(), 1)[0]["id"] == e.id
        until(lambda: s.stats() == {"clients": 0, "subscriptions": 0, "dropped": 0}, "cleanup")


def test_realtime_bad_pattern_is_400(server: zerolag.Server) -> None:
    for q in ("channel=a%20b", "channel=a[b", "channel=..%2Fx", "after=zzz"):
        r = get(server.url + "/realtime?" + q)
        assert r.status_code == 400, q
        assert r.json()["error"] == "validation" and r.json()["message"]


def test_realtime_client_cap_is_503(hub: zerolag.Hub) -> None:
    with hub.serve(port=0, max_clients=1, ping=0.2) as s:
        with httpx.stream("GET", s.url + "/realtime", timeout=WAIT) as r:
            assert r.status_code == 200
            busy = get(s.url + "/realtime")
            assert busy.status_code == 503 and busy.json()["error"] == "busy"
        until(lambda: get(s.url + "/status").is_success and s.stats()["clients"] == 0, "slot")
        with httpx.stream("GET", s.url + "/realtime", timeout=WAIT) as r:
            assert r.status_code == 200


def test_reconnect_with_last_event_id_misses_and_repeats_nothing(
    hub: zerolag.Hub, server: zerolag.Server
) -> None:
    url = server.url + "/realtime?channel=job:*"
    with httpx.stream("GET", url, timeout=WAIT) as r:
        first = [hub.events.publish(f"job:{i}", i) for i in range(10)]
        got = events_of(r.iter_lines(), 4)
    last = got[-1]["id"]
    # Published while no client is connected, and while it reconnects.
    more = [hub.events.publish(f"job:{i}", i) for i in range(10, 15)]
    stop = threading.Event()

    def publish_on() -> None:
        i = 15
        while not stop.is_set() and i < 60:
            hub.events.publish(f"job:{i}", i)
            i += 1

    t = threading.Thread(target=publish_on)
    t.start()
    try:
        with httpx.stream("GET", url, headers={"last-event-id": last}, timeout=WAIT) as r:
            t.join()
            resumed = events_of(r.iter_lines(), 6 + 5 + 45)
    finally:
        stop.set()
        t.join()
    ids = [f["id"] for f in resumed]
    assert ids[: 6 + 5] == [e.id for e in first[4:] + more]
    assert [f["data"]["data"] for f in resumed] == list(range(4, 60))
    assert len(set(ids)) == len(ids)
    # ?after= does the same for a client that cannot send the header.
    with httpx.stream("GET", url + f"&after={more[-1].id}", timeout=WAIT) as r:
        assert events_of(r.iter_lines(), 1)[0]["data"]["data"] == 15


def test_trimmed_resume_point_is_announced(hub: zerolag.Hub, server: zerolag.Server) -> None:
    hub.events.set_retention(max_len=3)
    gone = hub.events.publish("t", 0)
    sent = [hub.events.publish("t", i) for i in range(1, 8)]
    with httpx.stream(
        "GET", server.url + "/realtime", headers={"last-event-id": gone.id}, timeout=WAIT
    ) as r:
        frames = list(islice(sse_frames(r.iter_lines()), 5))
    assert frames[0] == {"retry": "1000"}
    assert frames[1]["event"] == "zerolag.trimmed"
    assert json.loads(frames[1]["data"]) == {"after": gone.id, "oldest": sent[-3].id}
    assert [f["id"] for f in frames[2:5]] == [e.id for e in sent[-3:]]
    # A resume point the log still holds gets no notice.
    with httpx.stream(
        "GET", server.url + "/realtime", headers={"last-event-id": sent[-2].id}, timeout=WAIT
    ) as r:
        frames = list(islice(sse_frames(r.iter_lines()), 2))
    assert frames[1]["id"] == sent[-1].id


def test_slow_client_is_dropped_and_memory_stays_bounded(hub: zerolag.Hub) -> None:
    with hub.serve(port=0, buffer=8, ping=0.2) as s:
        # A client that sends its request and never reads.
        sock = slow_socket(s.port)
        sock.sendall(b"GET /realtime?channel=big HTTP/1.1\r\nHost: x\r\n\r\n")
        until(lambda: s.stats()["clients"] == 1, "the client to connect")
        blob = "x" * 100_000
        total = 0
        with httpx.stream("GET", s.url + "/realtime?channel=big", timeout=WAIT) as good:
            lines = good.iter_lines()
            for _ in range(40):  # 40 x 5 events of 100 kB: ~20 MB
                publish_5(hub, blob)
                total += 5 * 100_000
                got = events_of(lines, 5)  # a client that reads keeps up
                assert len(got) == 5
                if s.stats()["dropped"]:
                    break
            until(lambda: s.stats()["dropped"] == 1, "the slow client to be dropped")
            # Its slot is freed; the reading client is still there.
            until(lambda: s.stats()["clients"] == 1, "the slow client's slot to be freed")
            e = hub.events.publish("big", "after")
            assert events_of(lines, 1)[0]["id"] == e.id
        # Its connection was closed: reading drains what the kernel held, then ends; it never
        # gets everything that was published (the server dropped it, it did not buffer it).
        sock.settimeout(WAIT)
        received = 0
        while chunk := sock.recv(1 << 16):
            received += len(chunk)
        sock.close()
        assert received < total
        until(lambda: s.stats()["clients"] == 0, "the slots to be freed")


# --------------------------------------------------------------------------------------------
# the ASGI app


def test_asgi_json_endpoints(hub: zerolag.Hub) -> None:
    e = hub.events.publish("a", {"n": 1})
    app = zerolag.http.app(hub)

    async def go() -> None:
        t = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=t, base_url="http://test") as c:
            s = (await c.get("/status")).json()
            assert s["ok"] is True and s["namespace"] == hub.namespace
            ev = (await c.get("/events?after=0")).json()
            assert ev["events"][0]["id"] == e.id and ev["next"] == e.id
            assert (await c.get("/events?channel=a%20b")).status_code == 400
            assert (await c.get("/nope")).status_code == 404
            assert (await c.get("/")).headers["content-type"].startswith("text/html")
            assert (await c.get("/realtime?channel=x[")).status_code == 400
            big = await c.request("GET", "/status", content=b"x" * 10_000)
            assert big.status_code == 413

        t = httpx.ASGITransport(app=zerolag.http.app(hub, token=TOKEN))
        async with httpx.AsyncClient(transport=t, base_url="http://test") as c:
            assert (await c.get("/status")).status_code == 401
            bad = await c.get("/status", headers={"authorization": "Bearer nope"})
            assert bad.status_code == 401
            ok = await c.get("/status", headers={"authorization": f"Bearer {TOKEN}"})
            assert ok.status_code == 200

    asyncio.run(go())


class Uvicorn:
    """A real uvicorn serving ``app`` on a free loopback port, in a thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        cfg = uvicorn.Config(app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]})

    def __enter__(self) -> Uvicorn:
        self.thread.start()
        until(lambda: self.server.started, "uvicorn to start")
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(WAIT)
        self.sock.close()


def test_asgi_realtime_on_uvicorn_resumes_and_mounts(hub: zerolag.Hub) -> None:
    pytest.importorskip("uvicorn")
    from starlette.applications import Starlette
    from starlette.routing import Mount

    app = zerolag.http.app(hub)
    host = Starlette(routes=[Mount("/zl", app=app)])
    with Uvicorn(host) as u:
        url = u.url + "/zl/realtime?channel=c:*"
        assert get(u.url + "/zl/status").json()["ok"] is True
        with httpx.stream("GET", url, timeout=WAIT) as r:
            assert r.headers["content-type"] == "text/event-stream"
            sent = [hub.events.publish(f"c:{i}", i) for i in range(20)]
            got = events_of(r.iter_lines(), 10)
        assert [f["id"] for f in got] == [e.id for e in sent[:10]]
        with httpx.stream("GET", url, headers={"last-event-id": got[-1]["id"]}, timeout=WAIT) as r:
            later = hub.events.publish("c:x", "live")
            rest = events_of(r.iter_lines(), 11)
        assert [f["id"] for f in rest] == [e.id for e in sent[10:]] + [later.id]
        until(lambda: app.stats()["clients"] == 0, "the streams to end")


def test_asgi_slow_client_is_dropped(hub: zerolag.Hub) -> None:
    pytest.importorskip("uvicorn")
    app = zerolag.http.app(hub, buffer=4)
    with Uvicorn(app) as u:
        port = int(u.url.rsplit(":", 1)[1])
        sock = slow_socket(port)
        sock.sendall(b"GET /realtime?channel=big HTTP/1.1\r\nHost: x\r\n\r\n")
        until(lambda: app.stats()["clients"] == 1, "the client to connect")
        blob = "x" * 100_000
        for _ in range(60):
            publish_5(hub, blob)
            if app.stats()["dropped"]:
                break
        until(lambda: app.stats()["dropped"] == 1, "the slow client to be dropped")
        sock.close()
        until(lambda: app.stats()["clients"] == 0, "the slot to be freed")


# --------------------------------------------------------------------------------------------
# zerolag serve


def test_cli_serve_answers_and_stops_on_sigterm(
    hub: zerolag.Hub, store_url: str | None, namespace: str, tmp_path: Path
) -> None:
    url = ["--url", store_url] if store_url else []
    args = ["-m", "zerolag", "serve", *url, "--root", str(tmp_path), "--namespace", namespace]
    proc = subprocess.Popen(
        [sys.executable, *args, "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("zerolag serve: http://127.0.0.1:"), line
        base = line.split()[2]
        hub.events.publish("cli", 1)
        s = get(base + "/status").json()
        assert s["ok"] is True and s["namespace"] == namespace and s["events"]["count"] == 1
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(WAIT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_serve_refuses_a_public_bind_without_token(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "zerolag", "serve", "--root", str(tmp_path), "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=WAIT,
        env={**__import__("os").environ, "ZEROLAG_HTTP_TOKEN": ""},
    )
    assert proc.returncode == 2 and "without a token" in proc.stderr

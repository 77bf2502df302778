"""Embedders (zerolag.embed): the offline hashing embedder and the OpenAI-compatible client,
the latter against a small HTTP server started here. No store."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest
import zerolag
from zerolag import llm
from zerolag._core import VectorIndex
from zerolag.embed import HashingEmbedder, OpenAIEmbeddings

TEXTS = ["The user lives in Paris", "", "naïve café ☕ 東京", "the user LIVES in paris!"]

# sha256 of HashingEmbedder()(TEXTS).tobytes() (little-endian float32): the mapping from text
# to vector is part of the stored data, so a change to it must be deliberate.
PINNED = "2fb5065ac51229f55c2d075b3950113e66f80b21710c38651d95b3d65f2ab9e1"


def test_hashing_rows_are_unit_float32_and_single_text_gives_a_vector() -> None:
    e = HashingEmbedder()
    m = e(TEXTS)
    assert m.dtype == np.float32 and m.shape == (4, 384)
    assert np.allclose(np.linalg.norm(m, axis=1), 1.0, atol=1e-5)
    v = e(TEXTS[0])
    assert v.shape == (384,) and np.array_equal(v, m[0])
    # Case and punctuation do not matter; word order does not either.
    assert float(m[0] @ m[3]) > 0.999
    assert e([]).shape == (0, 384)
    assert asyncio.run(e.aembed(["a b"])).shape == (1, 384)


def test_the_mapping_is_pinned() -> None:
    m = HashingEmbedder()(TEXTS)
    digest = hashlib.sha256(np.ascontiguousarray(m, dtype="<f4").tobytes()).hexdigest()
    assert digest == PINNED


def test_same_vectors_in_another_process() -> None:
    code = (
        "import json, sys, hashlib; from zerolag.embed import HashingEmbedder; "
        "m = HashingEmbedder(64, ngrams=(2, 4))(json.loads(sys.argv[1])); "
        "print(hashlib.sha256(m.tobytes()).hexdigest())"
    )
    texts = [f"memory {i} of user u{i % 7}" for i in range(600)]  # the parallel path too
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(texts)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    here = HashingEmbedder(64, ngrams=(2, 4))(texts)
    assert out == hashlib.sha256(here.tobytes()).hexdigest()


def test_near_texts_are_found_first_in_a_vector_index() -> None:
    rnd = random.Random(7)
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
    docs = [" ".join(rnd.sample(words, 5)) for _ in range(300)]
    docs[123] = "the customer prefers vegetarian restaurants near the office"
    e = HashingEmbedder()
    index = VectorIndex(384, "cosine")
    index.add(np.arange(len(docs)), e(docs))
    ids, scores = index.search(e("which restaurants does the customer prefer?"), k=3)
    assert ids[0] == 123 and scores[0] > scores[1]
    # Word pieces: an inflected form still lands nearer than unrelated text.
    a, b, c = e(["restaurant", "restaurants", "kappa"])
    assert float(a @ b) > float(a @ c) + 0.3


def test_hashing_settings_and_texts_are_checked() -> None:
    for kwargs in ({"dim": 0}, {"dim": 70_000}, {"ngrams": (4, 3)}, {"ngrams": (0, 3)}):
        with pytest.raises(zerolag.ValidationError):
            HashingEmbedder(**kwargs)  # type: ignore[arg-type]
    words_only = HashingEmbedder(16, ngrams=(0, 0))
    assert words_only(["x"]).shape == (1, 16)
    with pytest.raises(zerolag.ValidationError, match=r"texts\[1\]"):
        HashingEmbedder()(["ok", 3])  # type: ignore[list-item]
    with pytest.raises(zerolag.ValidationError):
        HashingEmbedder()(["\ud800"])


# ---- the OpenAI-compatible client ------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.seen.append((self.path, dict(self.headers), body))
        mode = self.server.mode
        dim = body.get("dimensions", 3)
        items = [
            {"object": "embedding", "index": i, "embedding": [float(len(t))] + [0.5] * (dim - 1)}
            for i, t in enumerate(body["input"])
        ]
        self.server.rnd.shuffle(items)  # answers may come in any order: `index` says which
        if mode == "error":
            self._send(429, {"error": {"message": "rate limited"}})
        elif mode == "garbage":
            self._send(200, b"<html>no</html>")
        elif mode == "short":
            self._send(200, {"data": items[:-1]})
        elif mode == "ragged":
            items[0]["embedding"] = [1.0]
            self._send(200, {"data": items})
        elif mode == "nan":
            items[0]["embedding"][0] = float("nan")
            self._send(200, {"data": items})
        elif mode == "notalist":
            self._send(200, {"data": "nope"})
        else:
            self._send(200, {"object": "list", "data": items, "model": body["model"]})

    def _send(self, status: int, payload: Any) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def server() -> Iterator[Any]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    srv.seen = []  # type: ignore[attr-defined]
    srv.mode = "ok"  # type: ignore[attr-defined]
    srv.rnd = random.Random(1)  # type: ignore[attr-defined]
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def _url(srv: Any) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}/v1"


def test_openai_embeddings_round_trip_in_batches(
    server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZEROLAG_EMBEDDING_MODEL", "emb-small")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-embed-secret")
    e = OpenAIEmbeddings(base_url=_url(server), batch_size=2, dimensions=4, user="u1")
    assert "sk-embed" not in repr(e) and "emb-small" in repr(e)
    texts = ["a", "bb", "ccc", "dddd", "eeeee"]
    m = e(texts)
    assert m.dtype == np.float32 and m.shape == (5, 4)
    assert m[:, 0].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]  # each row is its own text's
    assert len(server.seen) == 3  # batches of 2, 2, 1
    path, headers, body = server.seen[0]
    assert path == "/v1/embeddings"
    assert headers["Authorization"] == "Bearer sk-embed-secret"
    assert body == {"model": "emb-small", "input": ["a", "bb"], "dimensions": 4, "user": "u1"}
    assert e("zz").shape == (4,) and e.dim == 4
    assert asyncio.run(e.aembed(["x"])).shape == (1, 4)


@pytest.mark.parametrize(
    ("mode", "match"),
    [
        ("error", "rate limited"),
        ("garbage", "embeddings"),
        ("short", "2 embeddings for 3 texts"),
        ("ragged", "expected"),
        ("nan", "NaN"),
        ("notalist", "embeddings"),
    ],
)
def test_openai_embeddings_bad_answers_are_typed(server: Any, mode: str, match: str) -> None:
    server.mode = mode
    e = OpenAIEmbeddings("m", base_url=_url(server), api_key="sk-zzz")
    with pytest.raises(llm.ModelError, match=match) as info:
        e(["a", "b", "c"])
    assert "sk-zzz" not in str(info.value)
    assert isinstance(info.value, zerolag.BackendError)


def test_openai_embeddings_dead_server_and_settings(
    server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ZEROLAG_EMBEDDING_MODEL", raising=False)
    port = server.server_address[1]
    server.shutdown()
    server.server_close()
    with pytest.raises(zerolag.ConnectionError):
        OpenAIEmbeddings("m", base_url=f"http://127.0.0.1:{port}/v1", timeout=2)(["a"])
    with pytest.raises(zerolag.ValidationError, match="model"):
        OpenAIEmbeddings(base_url="http://x")
    with pytest.raises(zerolag.ValidationError):
        OpenAIEmbeddings("m", batch_size=0)
    with pytest.raises(zerolag.ValidationError):
        OpenAIEmbeddings("m", dimensions=0)
    with pytest.raises(zerolag.ValidationError):
        OpenAIEmbeddings("m", base_url="ftp://x")

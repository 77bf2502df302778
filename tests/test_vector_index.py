"""zerolag._core.VectorIndex against numpy: exact top-k equals numpy's (ties aside), the int8
mode keeps recall@10 high and its scores exact, removal and replacement, bad input raises
ValidationError."""

from __future__ import annotations

import numpy as np
import pytest
import zerolag
from zerolag._core import VectorIndex


def _numpy_top(m: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = m @ q
    top = np.argpartition(-scores, k)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    return top, scores[top]


@pytest.mark.parametrize("metric", ["cosine", "dot"])
def test_exact_search_equals_numpy(metric: str) -> None:
    rng = np.random.default_rng(7)
    m = rng.standard_normal((3000, 64)).astype(np.float32)
    idx = VectorIndex(64, metric)  # type: ignore[arg-type]
    idx.add(np.arange(3000, dtype=np.uint64), m)
    assert len(idx) == 3000 and 5 in idx and 3000 not in idx
    ref = m / np.linalg.norm(m, axis=1, keepdims=True) if metric == "cosine" else m
    for _ in range(5):
        q = rng.standard_normal(64).astype(np.float32)
        qn = q / np.linalg.norm(q) if metric == "cosine" else q
        ids, scores = idx.search(q, 10)
        want_ids, want_scores = _numpy_top(ref, qn, 10)
        assert ids.dtype == np.uint64 and scores.dtype == np.float32
        np.testing.assert_allclose(scores, want_scores, rtol=1e-4, atol=1e-4)
        assert list(ids) == [int(i) for i in want_ids]


def test_quantized_recall_and_exact_scores() -> None:
    rng = np.random.default_rng(3)
    m = rng.standard_normal((5000, 128)).astype(np.float32)
    idx = VectorIndex(128, "cosine", quantized=True)
    idx.add(np.arange(5000), m)
    found = 0
    for _ in range(20):
        q = rng.standard_normal(128).astype(np.float32)
        exact_ids, _ = idx.search(q, 10, exact=True)
        ids, scores = idx.search(q, 10)
        found += len(set(ids.tolist()) & set(exact_ids.tolist()))
        # Re-ranked exactly: each returned score is the row's true cosine.
        rows = m[ids.astype(np.int64)]
        true = rows @ q / (np.linalg.norm(rows, axis=1) * np.linalg.norm(q))
        np.testing.assert_allclose(scores, true, rtol=1e-4, atol=1e-4)
    assert found / 200 >= 0.95


def test_replace_and_remove() -> None:
    idx = VectorIndex(3, "dot")
    idx.add([1, 2], np.array([[1, 0, 0], [0, 1, 0]], dtype=np.float32))
    idx.add([1], np.array([[0, 0, 5]], dtype=np.float32))  # replaces row 1
    ids, scores = idx.search(np.array([0, 0, 1], dtype=np.float32), 1)
    assert ids.tolist() == [1] and scores.tolist() == [5.0]
    assert idx.remove([1, 9]) == 1
    assert len(idx) == 1 and 1 not in idx


@pytest.mark.parametrize(
    "bad",
    [
        lambda i: i.add([1], np.ones((1, 4), dtype=np.float32)),  # wrong dimension
        lambda i: i.add([1], np.array([[np.nan, 0, 0]], dtype=np.float32)),
        lambda i: i.add([1], np.array([[np.inf, 0, 0]], dtype=np.float32)),
        lambda i: i.add([1], np.zeros((1, 3), dtype=np.float32)),  # no direction for cosine
        lambda i: i.add([1, 2], np.ones((1, 3), dtype=np.float32)),  # ids and rows differ
        lambda i: i.search(np.ones(2, dtype=np.float32), 1),
    ],
)
def test_bad_input_is_a_validation_error(bad: object) -> None:
    idx = VectorIndex(3, "cosine")
    with pytest.raises(zerolag.ValidationError):
        bad(idx)  # type: ignore[operator]
    assert len(idx) == 0  # nothing half-added

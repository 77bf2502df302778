"""The baseline of the memory suite's vector rows: top-k with numpy as a Python developer
would write it (one matrix-vector product, ``argpartition`` for the best k, then a sort of
those k)."""

from __future__ import annotations

from typing import Any

import numpy as np


def numpy_topk(
    matrix: np.ndarray[Any, Any], query: np.ndarray[Any, Any], k: int
) -> np.ndarray[Any, Any]:
    """Row indexes of the ``k`` largest dot products of ``query`` with ``matrix``'s rows, best
    first (rows and query already normalised for cosine)."""
    scores = matrix @ query
    best = np.argpartition(-scores, k)[:k]
    return best[np.argsort(-scores[best])]

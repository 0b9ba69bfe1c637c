"""Where candidate keys sit in the evaluation corpus (shared by the report, the baselines and the per-buyer hits)."""

from __future__ import annotations

import numpy as np


def corpus_positions(corpus_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Corpus index of each key, -1 when the key is not in the corpus."""
    index = {key: i for i, key in enumerate(corpus_keys.tolist())}
    return np.array([index.get(key, -1) for key in keys.tolist()], dtype=np.int64)
